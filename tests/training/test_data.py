"""The training-data generator: valid identifiers, fitted particles, spans that point at the values,
reproducibility, and a split by template family. Needs Faker (the train extra), not torch."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("faker", reason="the train extra (faker) is not installed")

from stdnum import luhn  # noqa: E402

from guard.taxonomy import CATEGORY_CODES, SpanType  # noqa: E402
from training.data import values as V  # noqa: E402
from training.data.render import josa  # noqa: E402
from training.generate import generate  # noqa: E402

SIZES = {"train": 300, "dev": 120, "test": 120}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    generate(out, SIZES, seed=7, use_benign=False)
    return out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rrn_check_digit_matches_the_published_rule() -> None:
    # 880101-1234568 is the textbook example whose check digit is 8
    assert V.rrn_check("880101123456") == "8"


def test_generated_rrns_with_a_check_digit_validate() -> None:
    rng = random.Random(1)
    checked = 0
    for _ in range(200):
        digits = "".join(c for c in V.rrn(rng) if c.isdigit())
        assert len(digits) == 13
        if digits[:12] and V.rrn_check(digits[:12]) == digits[12]:
            checked += 1
    assert checked > 100  # ~75% carry a check digit; post-2020 numbers are random


def test_cards_pass_luhn() -> None:
    rng = random.Random(2)
    for _ in range(100):
        assert luhn.is_valid("".join(c for c in V.card(rng) if c.isdigit()))


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        ("김민수", "은", "는"),
        ("김민준", "은", "은"),
        ("우울증", "으로", "으로"),
        ("서울", "으로", "로"),
        ("010-1234-5678", "으로", "로"),
        ("900101-1234567", "이에요", "이에요"),
        ("교회", "를", "를"),
    ],
)
def test_josa_fits_the_last_sound(word: str, particle: str, expected: str) -> None:
    assert josa(word, particle) == expected


def test_spans_point_at_the_inserted_values(data_dir: Path) -> None:
    for row in rows(data_dir / "train.jsonl"):
        for start, end, kind in row["spans"]:
            assert 0 <= start < end <= len(row["text"])
            SpanType(kind)
            assert row["text"][start:end].strip() == row["text"][start:end]
        assert set(row["labels"]) <= set(CATEGORY_CODES)


def test_every_split_has_every_category_and_negatives(data_dir: Path) -> None:
    for split in SIZES:
        data = rows(data_dir / f"{split}.jsonl")
        seen = {c for r in data for c in r["labels"]}
        assert len(seen) >= 12, split  # tiny samples may miss one or two
        assert sum(1 for r in data if not r["labels"]) >= len(data) * 0.4
        assert {r["role"] for r in data} == {"user", "assistant"}


def test_families_do_not_cross_splits(data_dir: Path) -> None:
    families = {
        s: {r["family"] for r in rows(data_dir / f"{s}.jsonl") if r["kind"] != "benign"} for s in SIZES
    }
    assert not families["train"] & families["test"]
    assert not families["train"] & families["dev"]


def test_generation_is_reproducible(tmp_path: Path, data_dir: Path) -> None:
    generate(tmp_path, {"dev": SIZES["dev"]}, seed=7, use_benign=False)
    assert (tmp_path / "dev.jsonl").read_text() == (data_dir / "dev.jsonl").read_text()


def test_obfuscations_keep_the_value_recognisable() -> None:
    rng = random.Random(3)
    assert V.hangul_digits("010", rng) == "공일공"
    assert V.fullwidth("12", rng) == "１２"
    assert V.spaced("010-12", rng) == "0 1 0 1 2"
    assert (
        V.zero_width("1234", rng)
        .replace("\u200b", "")
        .replace("\u200c", "")
        .replace("\u200d", "")
        .replace("\ufeff", "")
        == "1234"
    )
