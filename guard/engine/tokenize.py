"""How a text becomes model input: the one encoding shared by the runtime and training.

Layout of one window, XLM-R style (`<s> A </s></s> B </s>`):
    A = a slice of the judged text's tokens (spans are tagged on these only)
    B = the role marker, and for role assistant the start of the prompt before the answer
Texts longer than the window are cut into windows that overlap by `stride` tokens; each window
knows which of the text's tokens it holds so the engine can merge predictions back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from guard.engine.base import EngineInput
from guard.errors import ModelError

_SPECIALS = (("<s>", "</s>", "<pad>"), ("[CLS]", "[SEP]", "[PAD]"))
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
                 context_tokens: int = 48) -> None:
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
        return list(enc.ids), [tuple(o) for o in enc.offsets]  # type: ignore[misc]

    def segment_b(self, item: EngineInput) -> list[int]:
        marker = item.role.value if not item.context else f"{item.role.value}: {item.context}"
        # Only the first context_tokens tokens are kept, and tokenizing a whole 200,000-character prompt
        # for them cost 0.2 s: cut it first, with room for _MAX_TOKEN_CHARS characters per kept token
        # (a piece is at most 16 in the shipped vocabulary, plus what normalization may drop).
        ids = _encode(self.tokenizer, marker[: self.context_tokens * _MAX_TOKEN_CHARS]).ids
        return list(ids[: self.context_tokens])

    def windows(self, item: EngineInput) -> list[Window]:
        """Every window of one input, overlapping by `stride` tokens; at least one."""
        ids, offsets = self.text_tokens(item.text)
        tail = [self.sep_id, self.sep_id, *self.segment_b(item), self.sep_id]
        room = self.max_length - 1 - len(tail)
        step = max(1, room - self.stride)
        out: list[Window] = []
        start = 0
        while True:
            piece = ids[start:start + room]
            out.append(Window([self.cls_id, *piece, *tail], 1, start, offsets[start:start + room]))
            if start + room >= len(ids):
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
            return found[0], found[1], found[2]  # type: ignore[return-value]
    raise ModelError("tokenizer has no <s>/</s>/<pad> or [CLS]/[SEP]/[PAD] tokens")
