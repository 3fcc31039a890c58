"""`kguard scan --masking pseudonymize --vault FILE` and `--reid-report`: a re-identifiable dataset for
whoever holds the key, an unreadable vault for anyone else, and a risk report with record numbers only."""

from __future__ import annotations

import json
import os
from pathlib import Path

from guard.restore import restore
from guard.vault import VAULT_KEY_ENV, load_vault_file
from tests.scan.conftest import cli

KEY = "a-vault-key-the-user-holds-0123"
ROWS = [
    {"id": 1, "text": "제 주민번호는 900101-1234568이고 연락처는 010-2345-6789입니다"},
    {"id": 2, "text": "010-2345-6789로 다시 연락 주세요. 메일은 gildong@naver.com"},
    {"id": 3, "text": "오늘 회의는 3시에 시작합니다"},
    {"id": 4, "text": "카드 4532-0151-1283-0366 결제가 안 돼요"},
]
SECRETS = ("900101-1234568", "1234568", "010-2345-6789", "01023456789", "gildong@naver.com", "4532-0151-1283-0366")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != VAULT_KEY_ENV}
    env.update(extra)
    return env


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _scan(tmp: Path, *extra: str | Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    return cli(tmp / "in.jsonl", "--field", "text", "-o", tmp / "out.jsonl", "--masking", "pseudonymize",
               "--vault", tmp / "vault.kgv", "--no-model", "--no-progress", *extra, env=env)


def test_a_pseudonymized_dataset_is_reidentifiable_with_the_key_only(tmp_path: Path) -> None:
    _write(tmp_path / "in.jsonl", ROWS)
    result = _scan(tmp_path, env=_env(**{VAULT_KEY_ENV: KEY}))
    assert result.returncode == 1, result.stderr
    out = (tmp_path / "out.jsonl").read_text(encoding="utf-8")
    vault_bytes = (tmp_path / "vault.kgv").read_bytes()
    for secret in SECRETS:
        assert secret not in out and secret.encode() not in vault_bytes
        assert secret not in result.stderr
        assert secret not in (tmp_path / "out.jsonl.report.json").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["text"] == "제 주민번호는 <RRN_1>이고 연락처는 <PHONE_1>입니다"
    assert rows[1]["text"].startswith("<PHONE_1>로 다시")  # the same value, the same pseudonym, file-wide
    vault = load_vault_file(tmp_path / "vault.kgv", KEY.encode())
    assert [restore(r["text"], vault).text for r in rows] == [r["text"] for r in ROWS]
    # a second file extends the same vault: its values keep their pseudonyms
    _write(tmp_path / "in.jsonl", [{"id": 5, "text": "번호 010-2345-6789, 새 번호 010-3456-7890"}])
    assert _scan(tmp_path, env=_env(**{VAULT_KEY_ENV: KEY})).returncode == 1
    again = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))["text"]
    assert again == "번호 <PHONE_1>, 새 번호 <PHONE_2>"


def test_the_key_is_required_and_a_wrong_key_fails_clearly(tmp_path: Path) -> None:
    _write(tmp_path / "in.jsonl", ROWS)
    result = _scan(tmp_path, env=_env())
    assert result.returncode == 2 and "vault key is required" in result.stderr
    assert not (tmp_path / "vault.kgv").exists() and not (tmp_path / "out.jsonl").exists()
    assert _scan(tmp_path, env=_env(**{VAULT_KEY_ENV: KEY})).returncode == 1
    before = (tmp_path / "vault.kgv").read_bytes()
    (tmp_path / "wrong.key").write_text("another-key-of-enough-length")
    result = _scan(tmp_path, "--vault-key-file", tmp_path / "wrong.key", env=_env())
    assert result.returncode == 2 and "wrong key" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "vault.kgv").read_bytes() == before  # never overwritten with another key


def test_the_reid_report_names_records_by_number_only(tmp_path: Path) -> None:
    rows = [{"text": f"{age}세 {sex}, {region} 거주"} for age, sex, region in
            [(35, "남성", "서울 강남구"), (35, "남성", "서울 강남구"), (36, "남성", "서울 강남구"),
             (52, "여성", "부산 해운대구"), (41, "여성", "서울 마포구")]]
    _write(tmp_path / "in.jsonl", rows)
    report_path = tmp_path / "reid.json"
    result = cli(tmp_path / "in.jsonl", "--field", "text", "--reid-report", report_path, "--reid-k", "2",
                 "--no-model", "--no-progress", env=_env())
    assert result.returncode == 1, result.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["fields"] == ["age", "gender", "region"] and report["k"] == 1
    assert [c["records"] for c in report["classes_below_k"]] == [[3], [4], [5]]
    assert report["generalization"]["reaches_k"]
    text = report_path.read_text(encoding="utf-8") + result.stderr
    for value in ("강남구", "해운대구", "마포구", "남성", "여성", '"35"', '"52"'):
        assert value not in text
