"""`kguard redteam --endpoint`: leak probing against a fake OpenAI-compatible server on 127.0.0.1.

Each bound has a test here that fails without it: the request count, the rate, no redirect followed,
no proxy taken from the environment, http(s) only, the hard limit on --max-requests, stopping after
connection failures; and the privacy rule: no prompt, answer or API key in the report by default.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from guard.cli import main
from guard.sdk import Guard
from guard.verify.probe import MAX_REQUESTS, STOP_AFTER_FAILURES, ProbeOptions, run_probe
from tests.verify.conftest import write_jsonl
from tests.verify.fake_llm import ANSWER_MARKER, LEAKED_PHONE, FakeLLM

KEY = "sk-test-QZX7731-never-logged"


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    server = FakeLLM()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                 "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _probe(guard: Guard, url: str, tmp: Path, **kw: object) -> dict[str, object]:
    options = ProbeOptions(endpoint=url, out=tmp / "out", rate=20.0, **kw)  # type: ignore[arg-type]
    return run_probe(options, lambda: guard)


def test_leaks_found_and_named_by_id_only(tmp_path: Path, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KGUARD_TEST_KEY", KEY)
    code = main(["redteam", "--endpoint", llm.url, "--out", str(tmp_path), "--rate", "20", "--max-requests", "9",
                 "--api-key-env", "KGUARD_TEST_KEY", "--llm-model", "my-finetune"])
    _, err = capfd.readouterr()
    raw = (tmp_path / "report.json").read_text(encoding="utf-8")
    report = json.loads(raw)
    assert code == 1  # an answer leaked
    assert len(llm.requests) == report["requests_sent"] == report["answered"] == 9
    assert all(r["path"] == "/v1/chat/completions" for r in llm.requests)
    assert all(r["headers"]["Authorization"] == f"Bearer {KEY}" for r in llm.requests)
    assert {r["body"]["model"] for r in llm.requests} == {"my-finetune"}
    assert "named-1-phone" in report["leaked_ids"] and "repeat-record" not in report["leaked_ids"]
    assert report["leak_rate_by_category"]["P3"]["hit"] >= 1
    assert report["leak_rate_by_kind"]["named_person"]["hit"] >= 1
    for secret in (KEY, ANSWER_MARKER, LEAKED_PHONE, "휴대폰"):
        assert secret not in raw and secret not in err


def test_show_text_and_seeded_records(tmp_path: Path, llm: FakeLLM, guard: Guard) -> None:
    text = f"고객 김민수 휴대폰 연락처 {LEAKED_PHONE} 배송 요청"
    start = text.index(LEAKED_PHONE)
    records = write_jsonl(tmp_path / "train.jsonl", [
        {"id": "cust-7", "text": text, "labels": ["P3"], "spans": [[start, start + len(LEAKED_PHONE), "PHONE"]]}])
    report = _probe(guard, llm.url, tmp_path, records=records, max_requests=2, show_text=True)
    first = report["probes"][0]  # type: ignore[index]
    assert first["id"] == "record:cust-7" and first["verbatim"] is True and first["leak"] is True
    assert LEAKED_PHONE not in first["prompt"] and ANSWER_MARKER in first["answer"]


def test_request_count_is_bounded(tmp_path: Path, llm: FakeLLM, guard: Guard) -> None:
    report = _probe(guard, llm.url, tmp_path, max_requests=4)
    assert len(llm.requests) == 4 and report["probes_planned"] > 4  # type: ignore[operator]
    with pytest.raises(Exception, match="--max-requests"):
        _probe(guard, llm.url, tmp_path, max_requests=MAX_REQUESTS + 1)
    assert len(llm.requests) == 4


def test_rate_is_bounded(tmp_path: Path, llm: FakeLLM, guard: Guard) -> None:
    options = ProbeOptions(endpoint=llm.url, out=tmp_path, rate=2.0, max_requests=5)
    run_probe(options, lambda: guard)
    times = [r["t"] for r in llm.requests]
    assert len(times) == 5
    # starts are paced 0.5 s apart; arrivals jitter on a loaded machine, so bound the span and each gap loosely
    # (unpaced, the gaps are the guard's check of one short answer: milliseconds)
    assert times[-1] - times[0] >= 0.8 * 4 * 0.5
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.25


def test_redirects_are_not_followed(tmp_path: Path, llm: FakeLLM, guard: Guard) -> None:
    elsewhere = FakeLLM()
    try:
        llm.redirect_to = elsewhere.url + "/chat/completions"
        report = _probe(guard, llm.url, tmp_path, max_requests=3)
    finally:
        elsewhere.close()
    assert len(llm.requests) == 3 and not elsewhere.requests
    assert {p["status"] for p in report["probes"]} == {"http 307"}  # type: ignore[union-attr]


def test_proxy_settings_are_ignored(tmp_path: Path, llm: FakeLLM, guard: Guard,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = FakeLLM()
    try:
        for name in ("http_proxy", "HTTP_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.server.server_address[1]}")
        _probe(guard, llm.url, tmp_path, max_requests=2)
    finally:
        proxy.close()
    assert len(llm.requests) == 2 and not proxy.requests


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/v1", "http://user:pw@127.0.0.1:9/v1",
                                 "127.0.0.1:8000"])
def test_only_plain_http_urls(tmp_path: Path, url: str, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["redteam", "--endpoint", url, "--out", str(tmp_path), "--no-model"]) == 2
    _, err = capfd.readouterr()
    assert "--endpoint" in err and "pw" not in err


def test_stops_after_connection_failures(tmp_path: Path, guard: Guard) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = _probe(guard, f"http://127.0.0.1:{port}/v1", tmp_path, max_requests=20)
    assert report["requests_sent"] == STOP_AFTER_FAILURES and report["answered"] == 0
