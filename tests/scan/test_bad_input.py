"""Bad input: each broken record is reported under its number and the rest of the file is scanned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.errors import InputError
from guard.scan import ScanSettings
from guard.scan.readers import ResumeAt, open_reader
from tests.extras import need
from tests.scan.conftest import cli, run_local
from tests.scan.datagen import rrn

GOOD = '{"id": %d, "text": "오늘 날씨 좋다"}\n'


def _errors(report: dict) -> dict[int, str]:
    return {e["record"]: e["code"] for e in report["error_examples"]}


def test_jsonl_bad_lines_are_reported_by_number(tmp_path: Path, tiny_model_dir: Path) -> None:
    secret = "900101-1234568"
    lines = [GOOD % 1,
             '{"id": 2, "text": "주민번호 ' + secret + '"\n',   # malformed: no closing brace
             '{"id": 3, "other": "x"}\n',                       # the field is missing
             b'{"id": 4, "text": "\xff\xfe bad"}\n',            # not UTF-8
             "\n",                                              # blank: no record, number kept
             '["a", "list"]\n',                                 # not an object
             '{"id": 7, "text": 42}\n',                         # not text
             GOOD % 8]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(x if isinstance(x, bytes) else x.encode() for x in lines))
    out, report = run_local(tmp_path, src, tiny_model_dir, settings=ScanSettings(fields=("text",)))
    assert _errors(report) == {2: "malformed_json", 3: "missing_field", 4: "invalid_utf8",
                               6: "not_an_object", 7: "not_text"}
    assert report["records"] == 7 and report["scanned"] == 2
    written = [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()]
    # unreadable records are not written, nor is one whose field is not text (it was not scanned);
    # a missing field holds nothing to scan
    assert written == [1, 3, 8]
    assert report["unwritten_errors"] == 4
    assert secret not in json.dumps(report)


def test_a_file_in_another_encoding_is_reported_line_by_line(tmp_path: Path, tiny_model_dir: Path) -> None:
    src = tmp_path / "cp949.txt"
    src.write_bytes("오늘 날씨 좋다\n점심 메뉴\n".encode("cp949"))
    _, report = run_local(tmp_path, src, tiny_model_dir, name="out.txt",
                          settings=ScanSettings(fields=("text",)))
    assert _errors(report) == {1: "invalid_utf8", 2: "invalid_utf8"}
    _, decoded = run_local(tmp_path, src, tiny_model_dir, name="out2.txt", encoding="cp949",
                           settings=ScanSettings(fields=("text",)))
    assert decoded["errors"] == {} and decoded["written"] == 2


def test_csv_bad_rows(tmp_path: Path, tiny_model_dir: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,text\n1,hello world\n2,too,many,cells\n3,\xff\xfe\n4,\"quoted, fine\"\n")
    out, report = run_local(tmp_path, src, tiny_model_dir, name="out.csv",
                            settings=ScanSettings(fields=("text",)))
    assert _errors(report) == {2: "malformed_row", 3: "invalid_utf8"}
    assert out.read_text(encoding="utf-8").splitlines() == ["id,text", "1,hello world",
                                                            '4,"quoted, fine"']


def test_an_unreadable_parquet_file_is_an_error_with_a_report(tmp_path: Path, tiny_model_dir: Path) -> None:
    need("pyarrow", "scan")
    src = tmp_path / "broken.parquet"
    src.write_bytes(b"PAR1" + b"\x00" * 100 + b"not parquet")
    done = cli(src, "-o", tmp_path / "out", "-f", "text", "--model", tiny_model_dir, "--no-progress")
    assert done.returncode == 2
    assert "broken.parquet is not a readable Parquet file" in done.stderr
    report = json.loads((tmp_path / "out.report.json").read_text(encoding="utf-8"))
    assert report["complete"] is False and "not a readable Parquet file" in report["error"]
    with pytest.raises(InputError):
        open_reader(src, "parquet")


def test_a_corrupt_parquet_row_group_is_reported_and_the_others_scanned(tmp_path: Path,
                                                                         tiny_model_dir: Path) -> None:
    pa, pq = need("pyarrow", "scan"), need("pyarrow.parquet", "scan")
    src = tmp_path / "in.parquet"
    texts = [f"row {i} " + "가나다라마바사" * 20 for i in range(30)]
    texts[25] = f"제 주민번호는 {rrn(__import__('random').Random(3))}이에요"
    pq.write_table(pa.table({"id": list(range(1, 31)), "text": texts}), src, row_group_size=10,
                   compression="none", write_page_checksum=True, use_dictionary=False)
    meta = pq.ParquetFile(src).metadata
    col = meta.row_group(1).column(1)
    middle = col.data_page_offset + col.total_compressed_size // 2
    data = bytearray(src.read_bytes())
    data[middle] ^= 0xFF  # one flipped byte in row group 2's text page: its checksum fails
    src.write_bytes(bytes(data))
    out, report = run_local(tmp_path, src, tiny_model_dir, name="out",
                            settings=ScanSettings(fields=("text",)))
    assert report["errors"] == {"unreadable_row_group": 10}
    assert sorted(_errors(report)) == list(range(11, 21))
    assert pq.read_table(out).column("id").to_pylist() == list(range(1, 11)) + list(range(21, 31))
    assert report["examples"] == {"P1": [26]}


def test_readers_resume_where_they_stopped(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(GOOD % i for i in range(1, 6)), encoding="utf-8")
    reader = open_reader(src, "jsonl")
    records = list(reader.records(ResumeAt()))
    reader.close()
    third = records[2]
    reader = open_reader(src, "jsonl")
    rest = list(reader.records(ResumeAt(items=3, byte_offset=third.end_offset, next_number=4)))
    reader.close()
    assert [r.number for r in rest] == [4, 5] and rest == records[3:]


def test_parquet_reader_resumes_by_row_groups(tmp_path: Path) -> None:
    pa, pq = need("pyarrow", "scan"), need("pyarrow.parquet", "scan")
    pq.write_table(pa.table({"text": [str(i) for i in range(25)]}), tmp_path / "t.parquet",
                   row_group_size=10)
    reader = open_reader(tmp_path / "t.parquet", "parquet")
    assert [r.number for r in reader.records(ResumeAt(items=13))] == list(range(14, 26))
    reader.close()
