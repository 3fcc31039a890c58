"""guard.verify.dataset: JSONL and CSV rows; bad rows named by number and field, never by their text."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.errors import InputError
from guard.verify.dataset import load_rows
from tests.hardening.privacy import WORD
from tests.verify.conftest import SEEDS, write_jsonl


def test_jsonl_and_csv_read_the_same_rows(tmp_path: Path) -> None:
    jsonl = write_jsonl(tmp_path / "a.jsonl", [
        {"id": "a", "text": "제 번호는 010-0417-2593", "labels": ["contact"], "spans": [[6, 19, "phone"]]},
        {"text": "안녕", "role": "assistant", "context": "인사해"},
    ])
    csv = tmp_path / "a.csv"
    csv.write_text('id,text,role,context,labels,spans\na,제 번호는 010-0417-2593,user,,P3,"[[6, 19, ""PHONE""]]"\n'
                   ',안녕,assistant,인사해,,\n', encoding="utf-8")
    a, b = load_rows(jsonl), load_rows(csv)
    assert a == b
    assert a[0].labels == ("P3",) and a[0].spans == ((6, 19, "PHONE"),)
    assert a[1].id == "row-2" and a[1].safe and a[1].context == "인사해"


@pytest.mark.parametrize(("row", "expected"), [
    ({"text": WORD, "labels": ["P9"]}, "row 1: unknown category"),
    ({"text": WORD, "spans": [[0, 99, "PHONE"]]}, "row 1: a span's offsets"),
    ({"text": WORD, "spans": [[0, 2, WORD]]}, "row 1: unknown span type"),
    ({"text": WORD, "role": WORD}, "row 1: unknown role"),
    ({"text": ""}, "row 1: 'text' must be"),
])
def test_bad_rows_are_named_by_number_never_by_text(tmp_path: Path, row: dict[str, object], expected: str) -> None:
    with pytest.raises(InputError) as info:
        load_rows(write_jsonl(tmp_path / "bad.jsonl", [row]))
    assert str(info.value).startswith(expected)
    assert WORD not in str(info.value)


def test_duplicate_ids_and_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="row 2: id 'x' is used twice"):
        load_rows(write_jsonl(tmp_path / "d.jsonl", [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]))
    with pytest.raises(InputError, match="row 2: its id is used twice"):
        odd = WORD + " 안"
        load_rows(write_jsonl(tmp_path / "e.jsonl", [{"id": odd, "text": "a"}, {"id": odd, "text": "b"}]))
    (tmp_path / "x.parquet").write_bytes(b"")
    with pytest.raises(InputError, match="use a .jsonl or .csv"):
        load_rows(tmp_path / "x.parquet")


def test_builtin_seeds_follow_the_rules() -> None:
    """The shipped seeds: 30-60 rows, every category, hard negatives, spans inside the text, and fake
    identifiers only (RRNs fail their check digit; mobiles are in the unassigned 010-0xxx block)."""
    import re

    from stdnum.kr import rrn

    rows = load_rows(SEEDS)
    assert 30 <= len(rows) <= 60
    codes = {c for r in rows for c in r.labels}
    assert codes == {f"P{i}" for i in range(1, 6)} | {f"S{i}" for i in range(1, 10)}
    assert sum(r.safe for r in rows) >= 10
    assert all(r.translation for r in rows)
    for r in rows:
        for start, end, kind in r.spans:
            value = r.text[start:end]
            if kind == "RRN":
                assert not rrn.is_valid(value.replace("-", "")), r.id
            if kind == "PHONE":
                assert re.fullmatch(r"010-0\d{3}-\d{4}", value), r.id
