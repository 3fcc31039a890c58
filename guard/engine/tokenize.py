"""How a text becomes model input: the one encoding shared by the runtime and training.

Layout of one window, XLM-R style (`<s> A </s></s> B </s>`):
    A = a slice of the judged text's tokens (spans are tagged on these only)
    B = the role marker, and for role assistant the start of the prompt before the answer
Texts longer than the window are cut into windows that overlap by `stride` tokens; each window
knows which of the text's tokens it holds so the engine can merge predictions back.

With `sentence_window` set (labels.json), a text longer than that many tokens is instead cut at
sentence ends (punctuation, or a Korean sentence-final ending before a space) into windows of whole
sentences of at most that many tokens (a sentence longer than a window is cut with the stride). The
category score is the maximum over windows, so a short window keeps one disclosure from being averaged
away by the unrelated sentences around it.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from guard.engine.base import EngineInput
from guard.errors import ModelError

_SPECIALS = (("<s>", "</s>", "<pad>"), ("[CLS]", "[SEP]", "[PAD]"))
_SENTENCE_END = frozenset(".!?。？！…\n")
#: Korean sentences in chat and comments often end without punctuation: a word that ends in one of these
#: (다/요/죠 endings, laughter and crying marks, as NFKC leaves them) before a space also ends a sentence.
_FINAL_CHARS = frozenset(unicodedata.normalize("NFKC", c) for c in "다요죠ㅋㅎㅠㅜ~")
#: A closing bracket ends what came before it and never starts a sentence: no cut before one, so "1988년
#: 8월 18일 ~ )은 …" stays one sentence instead of a name-and-birth-date fragment (ASCII quotes also open).
_CLOSERS = frozenset(")]}」』》〉”’")
_MAX_TOKEN_CHARS = 64  # characters of the prompt read per context token kept (see segment_b)


@dataclass(frozen=True)
class Window:
    """One model input row.

    Attributes:
        input_ids: token ids with special tokens and the role/context segment.
        first: position in input_ids of the first text token.
        token_start: index of that token among the text's tokens.
        offsets: (start, end) character offsets of the window's text tokens, in order.
    """

    input_ids: list[int]
    first: int
    token_start: int
    offsets: list[tuple[int, int]]


class TextEncoder:
    """Cuts texts into model windows with a `tokenizers.Tokenizer`."""

    def __init__(self, tokenizer: Tokenizer, *, max_length: int = 128, stride: int = 32,
                 context_tokens: int = 48, sentence_window: int = 0) -> None:
        if max_length < context_tokens + 16:
            raise ModelError("max_length too small for the context segment")
        if tokenizer.truncation is not None or tokenizer.padding is not None:
            # A saved truncation (often 512) would silently cut long texts before windowing; work on a
            # copy so the caller's tokenizer keeps its settings.
            tokenizer = Tokenizer.from_str(tokenizer.to_str())
            tokenizer.no_truncation()
            tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.stride = stride
        self.context_tokens = context_tokens
        self.sentence_window = sentence_window
        self.cls_id, self.sep_id, self.pad_id = _special_ids(tokenizer)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: int) -> TextEncoder:
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on a bad file
            raise ModelError(f"cannot load tokenizer file {Path(path).name}: {type(exc).__name__}") from None
        return cls(tokenizer, **kwargs)

    def text_tokens(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and character offsets of the judged text, without special tokens."""
        enc = _encode(self.tokenizer, text)
        return list(enc.ids), [tuple(o) for o in enc.offsets]

    def segment_b(self, item: EngineInput) -> list[int]:
        marker = item.role.value if not item.context else f"{item.role.value}: {item.context}"
        # Only the first context_tokens tokens are kept, and tokenizing a whole 200,000-character prompt
        # for them cost 0.2 s: cut it first, with room for _MAX_TOKEN_CHARS characters per kept token
        # (a piece is at most 16 in the shipped vocabulary, plus what normalization may drop).
        ids = _encode(self.tokenizer, marker[: self.context_tokens * _MAX_TOKEN_CHARS]).ids
        return list(ids[: self.context_tokens])

    def windows(self, item: EngineInput) -> list[Window]:
        """Every window of one input; at least one."""
        ids, offsets = self.text_tokens(item.text)
        tail = [self.sep_id, self.sep_id, *self.segment_b(item), self.sep_id]
        room = self.max_length - 1 - len(tail)
        if 0 < self.sentence_window < len(ids):
            room = min(room, self.sentence_window)
            cuts = _sentence_cuts(item.text, offsets)
        else:
            cuts = []
        out: list[Window] = []
        for start, end in _pieces(len(ids), room, self.stride, cuts):
            out.append(Window([self.cls_id, *ids[start:end], *tail], 1, start, offsets[start:end]))
        return out

    def sentence_units(self, text: str, window: Window, min_tokens: int) -> list[Window]:
        """The window's sentences as windows of their own (same segment B), each joined with the next
        until it has at least `min_tokens` tokens; empty when that leaves one unit (the window itself)."""
        n = len(window.offsets)
        bounds = [0]
        for cut in _sentence_cuts(text, window.offsets):
            if cut - bounds[-1] >= min_tokens and n - cut >= min_tokens:
                bounds.append(cut)
        if len(bounds) == 1:
            return []
        bounds.append(n)
        head, tail = window.input_ids[:window.first], window.input_ids[window.first + n:]
        return [Window([*head, *window.input_ids[window.first + s:window.first + e], *tail], window.first,
                       window.token_start + s, window.offsets[s:e]) for s, e in itertools.pairwise(bounds)]


def _sentence_cuts(text: str, offsets: list[tuple[int, int]]) -> list[int]:
    """Token indices where a sentence starts (after the first): the token follows a sentence end."""
    cuts = []
    for i in range(1, len(offsets)):
        end, start = offsets[i - 1][1], offsets[i][0]
        if end <= 0 or text[start:offsets[i][1]].lstrip()[:1] in _CLOSERS:
            continue
        before = text[end - 1: start]  # the last character before the token, and any gap
        # the tokenizer puts a word's leading space inside its token's offsets
        spaced = any(ch.isspace() for ch in text[end: start + 1])
        if any(ch in _SENTENCE_END for ch in before) or (_ends_word(text, end) and spaced):
            cuts.append(i)
    return cuts


def _ends_word(text: str, end: int) -> bool:
    """Whether the word before `end` ends in a sentence-final character after at least one other: the
    character alone is a word of its own, not an ending ("숙제 다 했어", "요 앞에", "2019 ~ 2020년")."""
    return text[end - 1] in _FINAL_CHARS and end >= 2 and not text[end - 2].isspace()


def _pieces(n: int, room: int, stride: int, cuts: list[int]) -> list[tuple[int, int]]:
    """(start, end) token ranges: whole sentences packed up to `room` tokens when `cuts` are given,
    a sentence too long for a window cut with overlap `stride`; without cuts, overlapping windows."""
    if n <= room or not cuts:
        return _sliding(0, n, room, stride)
    bounds = [0, *cuts, n]
    out: list[tuple[int, int]] = []
    start = 0
    for k in range(1, len(bounds)):
        end = bounds[k]
        if end - start <= room:
            if k < len(bounds) - 1 and bounds[k + 1] - start <= room:
                continue  # the next sentence still fits
            out.append((start, end))
        else:  # one sentence longer than a window
            out += _sliding(start, end, room, stride)
        start = end
    return out


def _sliding(start: int, end: int, room: int, stride: int) -> list[tuple[int, int]]:
    step = max(1, room - stride)
    out = []
    while True:
        out.append((start, min(end, start + room)))
        if start + room >= end:
            return out
        start += step


def _encode(tokenizer: Tokenizer, text: str) -> Encoding:
    # encode_batch releases the GIL while it works; encode (tokenizers 0.22) keeps the event loop of the
    # thread that waits for it from running: 0.2 s for 200,000 characters, every other caller stalled.
    return tokenizer.encode_batch([text], add_special_tokens=False)[0]


def pad_batch(windows: Sequence[Window], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """input_ids and attention_mask (int64), padded to the longest window of the batch."""
    width = max(len(w.input_ids) for w in windows)
    ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for row, w in enumerate(windows):
        ids[row, : len(w.input_ids)] = w.input_ids
        mask[row, : len(w.input_ids)] = 1
    return ids, mask


def _special_ids(tokenizer: Tokenizer) -> tuple[int, int, int]:
    for names in _SPECIALS:
        found = [tokenizer.token_to_id(n) for n in names]
        if all(i is not None for i in found):
            return found[0], found[1], found[2]
    raise ModelError("tokenizer has no <s>/</s>/<pad> or [CLS]/[SEP]/[PAD] tokens")
