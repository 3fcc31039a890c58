"""Cheap first stages for a cascade (issue 12, item 3): clear clearly benign text before the model.

Two learned gates and one rule gate, all numpy at run time:
  * `ngram`: a linear classifier (unsafe vs safe) over hashed character 1-4-grams of the normalized
    text (lower case, every digit written 0), each text's counts scaled by 1/sqrt(its n-gram count);
  * `ngram+signals`: the same with the guard's own cheap signals as extra features (`signals`);
  * `rules`: no training; a text goes to the model when any signal fires.
The learned gates are trained here on the generated training split (training/work/data/train.jsonl,
real rows included), never on the dev set: full-batch Adam on the weighted log loss with an L2 term,
from zeros, so a run is reproducible bit for bit (no sampling; `seed` only orders nothing).

    python -m training.cascade                       # both gates -> training/work/cascade/*.npz
    python -m training.cascade --bits 18 --epochs 300

Thresholds are not chosen here: bench.cascade picks them on the dev set's tune split.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from guard.detectors.registry import DetectorRegistry
from guard.normalize import normalize
from training.paths import DATA, WORK

log = logging.getLogger(__name__)

OUT = WORK / "cascade"
PASS_TARGET = 0.995  # issue 12: at least this share of unsafe rows must reach the model
NGRAMS = (1, 2, 3, 4)
_DIGITS = str.maketrans("0123456789", "0000000000")
_PRIME = np.uint64(1_000_003)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)

# The guard's cheap signals. Word lists are written from the taxonomy (who is spoken of), not from
# the dev set; short stems over-match (딸기 for 딸), which costs clearing, never recall.
_FIRST = re.compile(r"(^|[^가-힣])(저는|저도|저를|제가|제 |저희|전 |나는|나도|내가|내 |우리|난 )")
_SECOND = re.compile(r"(당신|너는|너도|네가|니가|너의|님은|님이|님의|님 )")
_KIN = re.compile(r"(엄마|아빠|어머니|아버지|부모|남편|아내|와이프|부인|아들|딸|형|오빠|누나|언니|동생|할머니|"
                  r"할아버지|삼촌|이모|고모|사촌|조카|시어머니|시아버지|장모|장인|애인|여친|남친|친구|동료|"
                  r"팀장|부장|과장|선배|후배|씨)")
_DIGIT_RUN = re.compile(r"\d{3,}")
SIGNALS = ("detector_any", "detector_valid", "digit", "digit_run3", "at_sign", "first_person",
           "second_person", "kinship")


def fold(text: str) -> str:
    """What the n-grams are read from: the normalized text in lower case, every digit written 0."""
    return text.lower().translate(_DIGITS)


def hashed_ngrams(texts: Sequence[str], bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, index, value) of every hashed character n-gram of `texts` (already normalized).

    Each text is read as " " + fold(text) + " "; an n-gram never crosses two texts. Values are counts
    scaled by 1/sqrt(the text's n-gram count), summed per (row, index) by the caller's bincount.
    """
    padded = [" " + fold(t) + " " for t in texts]
    lengths = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
    cp = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    tid = np.repeat(np.arange(len(padded), dtype=np.int64), lengths)
    rows, idx = [], []
    shift = np.uint64(64 - bits)
    for n in NGRAMS:
        if len(cp) < n:
            continue
        m = len(cp) - n + 1
        valid = tid[:m] == tid[n - 1:n - 1 + m]
        h = cp[:m].copy()
        for k in range(1, n):
            h = h * _PRIME + cp[k:k + m]
        h = ((h + np.uint64(n)) * _GOLDEN) >> shift
        rows.append(tid[:m][valid])
        idx.append(h[valid].astype(np.int64))
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    index = np.concatenate(idx) if idx else np.zeros(0, np.int64)
    per_text = np.bincount(row, minlength=len(texts)).astype(np.float32)
    value = (1.0 / np.sqrt(np.maximum(per_text, 1.0)))[row]
    return row, index, value.astype(np.float32)


def signals(texts: Sequence[str], registry: DetectorRegistry | None = None,
            matches: Sequence[Sequence[object]] | None = None) -> np.ndarray:
    """[n, len(SIGNALS)] 0/1: the guard's cheap signals of each normalized text. `matches` reuses the
    detectors' matches when the pipeline has them already (it runs the detectors anyway)."""
    from guard.detectors.base import Validity

    registry = registry or DetectorRegistry.default()
    out = np.zeros((len(texts), len(SIGNALS)), dtype=np.float32)
    for i, text in enumerate(texts):
        found = matches[i] if matches is not None else registry.analyze(text)
        out[i] = (bool(found), any(m.validity is Validity.VALID for m in found),  # type: ignore[attr-defined]
                  any(c.isdigit() for c in text), bool(_DIGIT_RUN.search(text)), "@" in text,
                  bool(_FIRST.search(text)), bool(_SECOND.search(text)), bool(_KIN.search(text)))
    return out


@dataclass(frozen=True)
class LinearGate:
    """A trained gate: score = bias + the n-gram weights (+ the signal weights); higher is more unsafe."""

    weights: np.ndarray  # float32 [2**bits (+ len(SIGNALS))]
    bias: float
    bits: int
    with_signals: bool

    def scores(self, texts: Sequence[str], sig: np.ndarray | None = None) -> np.ndarray:
        row, index, value = hashed_ngrams(texts, self.bits)
        out = np.bincount(row, weights=self.weights[index] * value, minlength=len(texts)) + self.bias
        if self.with_signals:
            assert sig is not None, "this gate reads the signals"
            out += sig @ self.weights[1 << self.bits:]
        return out

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, weights=self.weights.astype(np.float32), bias=np.float32(self.bias),
                            bits=np.int64(self.bits), with_signals=np.bool_(self.with_signals))
        return path

    @classmethod
    def load(cls, path: Path) -> LinearGate:
        with np.load(path) as z:
            return cls(z["weights"], float(z["bias"]), int(z["bits"]), bool(z["with_signals"]))


def threshold_for(scores: np.ndarray, unsafe: np.ndarray, target: float = PASS_TARGET) -> float:
    """The highest threshold that passes (score >= threshold) at least `target` of the unsafe rows."""
    ranked = np.sort(scores[unsafe])
    allowed = int(np.floor((1.0 - target) * len(ranked) + 1e-9))
    return float(ranked[allowed]) if len(ranked) else float("inf")


@dataclass(frozen=True)
class GateTrainConfig:
    data: str = str(DATA / "train.jsonl")
    out: str = str(OUT)
    bits: int = 18
    epochs: int = 300
    lr: float = 0.05
    l2: float = 1e-6
    unsafe_weight: float = 2.0  # the gate's errors cost unequally: a missed disclosure is the bad one
    limit: int = 0  # first N rows only (smoke runs)


def load_rows(path: Path, limit: int = 0) -> tuple[list[str], np.ndarray]:
    """(normalized texts, 1 where unsafe) of the training split."""
    texts, y = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            raw = json.loads(line)
            texts.append(normalize(raw["text"]).text)
            y.append(1.0 if raw["labels"] else 0.0)
            if limit and len(texts) >= limit:
                break
    return texts, np.array(y, dtype=np.float64)


def fit(texts: Sequence[str], y: np.ndarray, config: GateTrainConfig, sig: np.ndarray | None) -> LinearGate:
    """Full-batch Adam on the weighted log loss + l2/2 |w|^2, from zeros (deterministic)."""
    n, d_ngram = len(texts), 1 << config.bits
    row, index, value = hashed_ngrams(texts, config.bits)
    d = d_ngram + (sig.shape[1] if sig is not None else 0)
    w, b = np.zeros(d), 0.0
    sample_w = np.where(y == 1, config.unsafe_weight, 1.0)
    sample_w /= sample_w.sum()
    m, v = np.zeros(d + 1), np.zeros(d + 1)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, config.epochs + 1):
        z = np.bincount(row, weights=w[index] * value, minlength=n) + b
        if sig is not None:
            z += sig @ w[d_ngram:]
        p = 1.0 / (1.0 + np.exp(-z))
        r = (p - y) * sample_w
        grad = np.empty(d + 1)
        grad[:d_ngram] = np.bincount(index, weights=r[row] * value, minlength=d_ngram)
        if sig is not None:
            grad[d_ngram:d] = sig.T @ r
        grad[:d] += config.l2 * w
        grad[d] = r.sum()
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        delta = config.lr * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + eps)
        w -= delta[:d]
        b -= float(delta[d])
        if step % 50 == 0 or step == config.epochs:
            loss = -np.sum(sample_w * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
            log.info("step %d: weighted log loss %.4f, train accuracy %.4f", step, loss,
                     float(np.mean((p >= 0.5) == (y == 1))))
    return LinearGate(w.astype(np.float32), b, config.bits, sig is not None)


def train(config: GateTrainConfig) -> dict[str, Path]:
    """Both learned gates, written to config.out as ngram.npz and ngram_signals.npz."""
    started = time.perf_counter()
    texts, y = load_rows(Path(config.data), config.limit)
    log.info("%d training rows, %d unsafe", len(texts), int(y.sum()))
    out = Path(config.out)
    paths = {"ngram": fit(texts, y, config, None).save(out / "ngram.npz")}
    paths["ngram+signals"] = fit(texts, y, config, signals(texts)).save(out / "ngram_signals.npz")
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    log.info("trained in %.0f s", time.perf_counter() - started)
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = GateTrainConfig()
    ap.add_argument("--data", default=defaults.data)
    ap.add_argument("--out", default=defaults.out)
    ap.add_argument("--bits", type=int, default=defaults.bits)
    ap.add_argument("--epochs", type=int, default=defaults.epochs)
    ap.add_argument("--l2", type=float, default=defaults.l2)
    ap.add_argument("--unsafe-weight", type=float, default=defaults.unsafe_weight)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    train(GateTrainConfig(data=args.data, out=args.out, bits=args.bits, epochs=args.epochs, l2=args.l2,
                          unsafe_weight=args.unsafe_weight, limit=args.limit))


if __name__ == "__main__":
    main()
