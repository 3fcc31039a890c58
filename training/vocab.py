"""Vocabulary trimming: the 250k XLM-R Unigram vocabulary cut down to what Korean and English need.

The word-embedding matrix is most of the model's size (250,002 x 384). What is kept:
  * the special tokens;
  * every piece made of Hangul syllables/jamo, digits, punctuation, symbols and spaces (all of them:
    this is what Korean text uses, and it is only ~10k pieces);
  * every single-character piece of any script, so a rare character (Hanja, kana, emoji) still maps
    to a piece of its own rather than to <unk>;
  * every piece used when the training corpus (and the benign offline text in it) is tokenized;
  * the most frequent remaining ASCII pieces (Unigram score = log-probability in the original
    training corpus) until `target_pieces` is reached: English words, code, URLs.
A Unigram Viterbi segmentation only uses kept pieces, and because every single character is kept any
text still segments; for text whose best segmentation used only kept pieces (all the corpus, all
Hangul words) the segmentation is unchanged.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_META = "\u2581"   # SentencePiece's word-start marker


def korean_char(ch: str) -> bool:
    """Hangul, digits, punctuation, symbols, separators: characters Korean text is made of."""
    o = ord(ch)
    if ch == _META or 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
        return True
    return unicodedata.category(ch)[0] in "PSZN" and not ch.isalpha()


def select_pieces(vocab: list[tuple[str, float]], specials: set[str], corpus_ids: set[int],
                  target_pieces: int) -> list[int]:
    """Old ids to keep, ascending (so special tokens keep their low ids).

    Args:
        vocab: the Unigram vocabulary, (piece, score) by id.
        specials: special-token strings.
        corpus_ids: ids used when tokenizing the corpus.
        target_pieces: how many pieces to aim for (the frequent-ASCII fill stops there).
    """
    keep: set[int] = set(corpus_ids)
    ascii_ids: list[int] = []
    for i, (piece, _score) in enumerate(vocab):
        core = piece.replace(_META, "")
        if piece in specials or len(core) <= 1 or all(korean_char(c) for c in piece):
            keep.add(i)
        elif all(ord(c) < 0x80 or c == _META for c in piece):
            ascii_ids.append(i)
    ascii_ids.sort(key=lambda i: -vocab[i][1])
    for i in ascii_ids:
        if len(keep) >= target_pieces:
            break
        keep.add(i)
    return sorted(keep)


def corpus_piece_ids(tokenizer_path: Path, files: Iterable[Path]) -> set[int]:
    """Ids of every piece the full tokenizer uses on the "text"/"context" fields of jsonl files."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    texts: list[str] = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                texts.extend(t for t in (row.get("text"), row.get("context")) if t)
    ids: set[int] = set()
    for start in range(0, len(texts), 2048):
        for enc in tok.encode_batch(texts[start:start + 2048], add_special_tokens=False):
            ids.update(enc.ids)
    logger.info("corpus: %d texts use %d distinct pieces", len(texts), len(ids))
    return ids


def _remap(obj: object, old2new: dict[int, int]) -> None:
    """Rewrite token ids inside a post_processor (TemplateProcessing/RobertaProcessing) in place."""
    if isinstance(obj, dict):
        if "ids" in obj and "tokens" in obj:
            obj["ids"] = [old2new[i] for i in obj["ids"]]
        for key in ("sep", "cls"):
            value = obj.get(key)
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
                value[1] = old2new[value[1]]
        for value in obj.values():
            _remap(value, old2new)
    elif isinstance(obj, list):
        for value in obj:
            _remap(value, old2new)


def trim_tokenizer(tj: dict[str, object], keep: list[int]) -> dict[str, object]:
    """A tokenizer.json dict holding only the kept pieces, ids renumbered."""
    old2new = {old: new for new, old in enumerate(keep)}
    new = copy.deepcopy(tj)
    model = new["model"]
    assert isinstance(model, dict)
    model["vocab"] = [model["vocab"][i] for i in keep]
    model["unk_id"] = old2new[model["unk_id"]]
    for token in new["added_tokens"]:  # type: ignore[attr-defined]
        token["id"] = old2new[token["id"]]
    _remap(new.get("post_processor"), old2new)
    return new


def trim_folder(src: Path, dst: Path, corpus: list[Path], *, target_pieces: int = 64000) -> list[int]:
    """Write a trimmed copy of a BertModel folder; returns the kept old ids."""
    tj = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    specials = {t["content"] for t in tj["added_tokens"]}
    corpus_ids = corpus_piece_ids(src / "tokenizer.json", corpus) if corpus else set()
    keep = select_pieces([tuple(p) for p in tj["model"]["vocab"]], specials, corpus_ids, target_pieces)
    write_trimmed(src, dst, keep)
    logger.info("trimmed vocabulary: kept %d of %d pieces", len(keep), len(tj["model"]["vocab"]))
    return keep


def write_trimmed(src: Path, dst: Path, keep: list[int]) -> None:
    """A copy of the BertModel folder `src` holding only the pieces `keep` (old ids, in their new order)."""
    from safetensors.numpy import load_file, save_file

    tj = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "tokenizer.json").write_text(json.dumps(trim_tokenizer(tj, keep), ensure_ascii=False),
                                        encoding="utf-8")
    sd = load_file(str(src / "model.safetensors"))
    key = "embeddings.word_embeddings.weight"
    sd[key] = np.ascontiguousarray(sd[key][keep])
    save_file(sd, str(tmp / "model.safetensors"))
    cfg = json.loads((src / "config.json").read_text())
    old2new = {old: new for new, old in enumerate(keep)}
    cfg["vocab_size"], cfg["pad_token_id"] = len(keep), old2new[cfg["pad_token_id"]]
    (tmp / "config.json").write_text(json.dumps(cfg, indent=2))
    (tmp / "kept_old_ids.json").write_text(json.dumps(keep))
    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)
