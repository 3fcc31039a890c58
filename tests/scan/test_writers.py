"""Writers cut their output back to the committed state on resume; the checkpoint round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.errors import InputError
from guard.scan import checkpoint as ckpt
from guard.scan.writers import open_writer
from tests.extras import need


def test_line_writer_truncates_to_the_committed_offset(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    w = open_writer(path, "jsonl", state=None)
    w.write([{"a": 1}])
    committed = w.commit()
    w.write([{"a": 2}])  # written, never committed: as if killed here
    w.close()
    w = open_writer(path, "jsonl", state=committed)
    w.write([{"a": 3}])
    w.commit()
    w.close()
    assert path.read_text(encoding="utf-8") == '{"a": 1}\n{"a": 3}\n'


def test_resume_refuses_a_shorter_output(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("x\n", encoding="utf-8")
    with pytest.raises(InputError, match="shorter"):
        open_writer(path, "text", state=100)


def test_parquet_parts_past_the_checkpoint_are_removed(tmp_path: Path) -> None:
    pa, pq = need("pyarrow", "scan"), need("pyarrow.parquet", "scan")
    schema = pa.schema([("text", pa.string())])
    out = tmp_path / "out"
    w = open_writer(out, "parquet", state=None, schema=schema, annotate="kguard")
    w.write([{"text": "a", "kguard": []}])
    assert w.commit() == 1
    w.write([{"text": "b", "kguard": ["P1"]}])
    assert w.commit() == 2
    w.close()
    (out / "part-000002.parquet.tmp").write_bytes(b"half")
    w = open_writer(out, "parquet", state=1, schema=schema, annotate="kguard")
    w.write([{"text": "c", "kguard": []}])
    w.commit()
    assert sorted(p.name for p in out.iterdir()) == ["part-000000.parquet", "part-000001.parquet"]
    assert pq.read_table(out).column("text").to_pylist() == ["a", "c"]


def test_checkpoint_round_trip_and_fingerprint(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("{}\n", encoding="utf-8")
    fp = ckpt.fingerprint(src, {"fields": ["text"]})
    path = tmp_path / "c.json"
    ckpt.save(path, ckpt.Checkpoint(fingerprint=fp, items=3, byte_offset=10, output_state=20))
    loaded = ckpt.load(path, fp)
    assert (loaded.items, loaded.byte_offset, loaded.output_state) == (3, 10, 20)
    with pytest.raises(InputError, match="changed"):
        ckpt.load(path, ckpt.fingerprint(src, {"fields": ["other"]}))
