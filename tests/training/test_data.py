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
from training.data import en, ko_safe, ko_unsafe  # noqa: E402
from training.data import values as V  # noqa: E402
from training.data.benign import konlpy_corpora, sentences  # noqa: E402
from training.data.render import Filler, josa, render, typing_noise  # noqa: E402
from training.generate import Catalog, generate  # noqa: E402

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


# --- template coverage, the typing augmentation, exact spans --------------------------------------------


def _filler(seed: int) -> Filler:
    from faker import Faker

    rng = random.Random(seed)
    fake, fake_en = Faker("ko_KR"), Faker("en_US")
    fake.seed_instance(seed)
    fake_en.seed_instance(seed + 1)
    return Filler(rng, fake, fake_en)


def test_every_category_has_korean_unsafe_families_in_every_split() -> None:
    cat = Catalog.build()
    minimum = {"train": 25, "dev": 8, "test": 8}
    for code in CATEGORY_CODES:
        total = 0
        for split, n in minimum.items():
            fams = [f for t in (cat.disclose, cat.request) for f in t["ko"][split] if code in f.labels]
            assert len(fams) >= n, (code, split, len(fams))
            total += len(fams)
        assert total >= 40, code


def test_safe_negatives_outnumber_unsafe_families() -> None:
    unsafe = sum(len(v) for m in (ko_unsafe, en) for t in (m.DISCLOSE, m.REQUEST) for v in t.values())
    safe = sum(len(v) for t in (ko_safe.SAFE, en.SAFE) for v in t.values())
    assert safe >= 0.6 * unsafe
    cat = Catalog.build()
    for split in ("train", "dev", "test"):
        kinds = {f.id.split(":")[2] for f in cat.safe["ko"][split]}
        assert {"general", "format", "commerce", "chat", "answer", "support"} <= kinds, split


def test_every_template_renders() -> None:
    filler_seed = 0
    for table in (ko_unsafe.DISCLOSE, ko_unsafe.REQUEST, ko_safe.SAFE, en.DISCLOSE, en.REQUEST, en.SAFE):
        for templates in table.values():
            for template in templates:
                filler_seed += 1
                r = render(template, _filler(filler_seed))
                assert "{" not in r.text.replace("{{", "").replace("}}", "") or "{{" in template, template
                assert len(set(templates)) == len(templates), "duplicate family"


def test_typing_noise_never_touches_a_span() -> None:
    rng = random.Random(5)
    changed = 0
    for i, template in enumerate(t for table in (ko_unsafe.DISCLOSE, ko_safe.SAFE) for v in table.values() for t in v):
        r = render(template, _filler(i))
        values = [(r.text[s:e], kind) for s, e, kind in r.spans]
        for casual in (True, False):
            noisy = typing_noise(r, rng, "ko", casual=casual)
            assert [(noisy.text[s:e], kind) for s, e, kind in noisy.spans] == values, (r.text, noisy.text)
            changed += noisy.text != r.text
    assert changed > 100  # it does rewrite texts


def test_typing_noise_drops_spacing_and_adds_tails() -> None:
    r = render("저 요즘 정말 너무 힘들어서 병원에 다니고 있어요.", _filler(1))
    outs = {typing_noise(r, random.Random(i), "ko").text for i in range(200)}
    assert any(o.count(" ") < r.text.count(" ") for o in outs)
    assert any(o.endswith(("ㅋ", "ㅠ", "~", "!")) for o in outs)
    assert any("\n" in o or "어여" in o or "어용" in o for o in outs)


def test_account_and_frn_spans_hold_the_numbers(data_dir: Path) -> None:
    seen = set()
    for split in SIZES:
        for row in rows(data_dir / f"{split}.jsonl"):
            for start, end, kind in row["spans"]:
                value = row["text"][start:end]
                if kind in ("ACCOUNT", "FRN", "RRN", "PHONE", "CARD") and not row["obfuscated"]:
                    seen.add(kind)
                    assert sum(ch.isdigit() for ch in value) >= 8, (kind, value, row["text"])
    assert {"ACCOUNT", "RRN", "PHONE"} <= seen


def test_noise_share_is_applied_and_reproducible(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, {"test": 150}, seed=11, use_benign=False, noise=0.25)
    generate(b, {"test": 150}, seed=11, use_benign=False, noise=0.25)
    generate(c, {"test": 150}, seed=11, use_benign=False, noise=0.0)
    assert (a / "test.jsonl").read_bytes() == (b / "test.jsonl").read_bytes()
    assert (a / "test.jsonl").read_bytes() != (c / "test.jsonl").read_bytes()
    noisy = rows(a / "test.jsonl")
    assert any(r["text"].endswith(("ㅋㅋ", "ㅠㅠ", "~", "!!")) for r in noisy if r["lang"] == "ko")
    for r in noisy:
        for start, end, _ in r["spans"]:
            assert r["text"][start:end].strip() == r["text"][start:end]


def test_sentences_of_a_hard_wrapped_document() -> None:
    bill = ("제안이유\n\n  육아휴직이 가능한 자녀의 연령을 만 8세 이하로 개정하려\n\n는 것임. 이 법은 공포한 날부터"
            " 시행한다. ② ----------\n문의 02-788-4649 로 연락 바랍니다.")
    assert sentences(bill) == ["제안이유육아휴직이 가능한 자녀의 연령을 만 8세 이하로 개정하려는 것임.",
                               "이 법은 공포한 날부터 시행한다."]


def test_konlpy_corpora_need_the_fetched_wheel(tmp_path: Path) -> None:
    assert konlpy_corpora(tmp_path) == {}
