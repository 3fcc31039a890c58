"""Privacy by design, on the command line: every `kguard` command with planted markers and every logger at
DEBUG (gRPC's C core too, for `serve`), run in a scratch folder that is also HOME and TMPDIR. Then
stderr, the log records and every file left in the folder are searched for the markers. stdout is the
answer (masked): it may carry the plain WORDS, never the SECRETS; so may the scrubbed file `kguard scan`
writes, which is its answer; its report, checkpoints and anything else may carry neither.

Keyed-hash masking reads its key from the environment (KGUARD_HMAC_KEY) or a key file: the key is
itself a marker, so it must never be printed either, and without it hash masking refuses to run.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

import pytest

from guard.cli import main
from guard.client import GuardClient, RetryPolicy
from guard.config import HMAC_KEY_ENV, from_env, read_hmac_key
from guard.errors import ConfigError, GuardError
from guard.sdk import Guard
from tests.hardening.privacy import HMAC_KEY, TEXT, WORD, assert_clean, debug_logs, files_under

_DEBUG_MAIN = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
               "from guard.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that is the working directory, HOME and TMPDIR for the command under test."""
    for sub in ("work", "home", "tmp"):
        (tmp_path / sub).mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setenv(HMAC_KEY_ENV, HMAC_KEY)
    return tmp_path


def _env(scratch: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(scratch / "home"), "TMPDIR": str(scratch / "tmp"),
            "HF_HUB_OFFLINE": "1", "GRPC_VERBOSITY": "debug", HMAC_KEY_ENV: HMAC_KEY}


def _run(argv: list[str], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         stdin: bytes | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    out, err = capfd.readouterr()
    return code, out, err


def test_check_categories_model_info(scratch: Path, tiny_model_dir: Path, capfd: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    hash_policy = scratch / "hash.toml"
    hash_policy.write_text('masking = "hash"\n')
    model = ["--model", str(tiny_model_dir)]
    runs = {
        "check": (["check", TEXT, *model], None, 1),
        "check-json": (["check", TEXT, "--json", *model], None, 1),
        "check-no-model": (["check", TEXT, "--no-model"], None, 1),
        "check-stdin": (["check", "-", "--no-model"], TEXT.encode(), 1),
        "check-hash": (["check", TEXT, "--json", "--no-model", "--policy", str(hash_policy)], None, 1),
        "check-assistant": (["check", TEXT, "--role", "assistant", *model], None, 1),
        "categories": (["categories", "--json"], None, 0),
        "model-info": (["model-info", *model], None, 0),
        # error paths
        "check-bad-role": (["check", TEXT, "--role", TEXT, "--no-model"], None, 2),
        "check-empty": (["check", "   ", "--no-model"], None, 2),
        "check-bad-utf8": (["check", "-", "--no-model"], TEXT.encode() + b"\xff\xfe", 2),
        "check-bad-model": (["check", TEXT, "--model", str(scratch / "nope")], None, 2),
    }
    stdouts, errs = [], []
    with debug_logs() as logs:
        for name, (argv, stdin, expected) in runs.items():
            code, out, err = _run(argv, capfd, monkeypatch, stdin)
            assert code == expected, (name, code, err)
            stdouts.append((name, out))
            errs.append((name, err))
    assert any(WORD in out for _, out in stdouts)  # the answers are there, masked
    hashed = json.loads(dict(stdouts)["check-hash"])["masked"]
    assert re.search(r"\[RRN:[0-9a-f]{12}\]", hashed)
    assert_clean(stdouts, words=False)
    assert_clean([*errs, ("logs", "\n".join(logs)), *files_under(scratch, skip=[hash_policy])])


def test_hash_masking_has_no_key_in_code(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without KGUARD_HMAC_KEY or a key file there is no key: hash masking refuses to start."""
    from guard.policy import Policy

    monkeypatch.setenv(HMAC_KEY_ENV, HMAC_KEY)  # the library reads no environment: only kguard does
    with pytest.raises(ConfigError) as info:
        Guard.detectors_only(policy=Policy.from_dict({"masking": "hash"}))
    assert HMAC_KEY_ENV in str(info.value)
    assert from_env({}).hmac_key is None
    key_file = tmp_path / "key"
    key_file.write_text(HMAC_KEY)
    assert read_hmac_key(key_file) == HMAC_KEY.encode()
    key_file.write_text("short")
    with pytest.raises(ConfigError) as info:
        read_hmac_key(key_file)
    assert "short" not in str(info.value)


def test_scan(scratch: Path, tiny_model_dir: Path) -> None:
    source = scratch / "input.jsonl"
    source.write_text("".join(json.dumps({"id": i, "text": TEXT, "note": WORD}, ensure_ascii=False) + "\n"
                              for i in range(6)) + "{not json " + TEXT + "\n", encoding="utf-8")
    outputs = []
    for name, extra in {"model": ["--model", str(tiny_model_dir)], "no-model": ["--no-model"],
                        "hash": ["--no-model", "--masking", "hash"]}.items():
        out = scratch / "work" / f"out-{name}.jsonl"
        proc = subprocess.run([sys.executable, "-c", _DEBUG_MAIN, "scan", str(source), "-o", str(out),
                               "--field", "text", "--workers", "1", "--no-progress", *extra],
                              cwd=scratch / "work", env=_env(scratch), capture_output=True, text=True,
                              timeout=180)
        assert proc.returncode == 2, proc.stderr  # flagged, and one unreadable record: an error
        assert out.exists() and "DEBUG" in proc.stderr
        outputs.append(out)
        assert_clean([(f"{name} stdout", proc.stdout), (f"{name} stderr", proc.stderr)])
    assert_clean([(str(p), p.read_text(encoding="utf-8")) for p in outputs], words=False)
    assert_clean(files_under(scratch, skip=[source, *outputs]))


def _read_lines(stream: IO[str], into: list[str], ready: threading.Event) -> None:
    """Drain a pipe (a full pipe would block the server's logging) and flag the ready line."""
    for line in stream:
        into.append(line)
        if "kguard: serving" in line:
            ready.set()


def test_serve(scratch: Path, tiny_model_dir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _DEBUG_MAIN, "serve", "--model", str(tiny_model_dir),
                             "--port", "0", "--metrics-port", "-1", "--max-message-bytes", "65536"],
                            cwd=scratch / "work", env=_env(scratch), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    ready = threading.Event()
    assert proc.stderr is not None and proc.stdout is not None
    reader = threading.Thread(target=_read_lines, args=(proc.stderr, seen, ready), daemon=True)
    reader.start()
    try:
        assert ready.wait(90), "".join(seen)
        ready_line = next(x for x in seen if "kguard: serving" in x).strip()
        match = re.search(r"kguard: serving (\S+?),? ", ready_line + " ")
        assert match
        errors = []
        with GuardClient(match.group(1), retry=RetryPolicy(max_retries=0), timeout_s=30) as client:
            answers = [client.check(TEXT, context=TEXT), *client.check_batch([TEXT, TEXT]),
                       *client.check_stream([TEXT[:20], TEXT[20:]], context=TEXT)]
            for bad in (lambda: client.check(TEXT, role=TEXT), lambda: client.check(" ", context=TEXT),
                        lambda: client.check((TEXT + " ") * 2000),
                        lambda: list(client.check_stream([TEXT], role=TEXT))):
                with pytest.raises(GuardError) as info:
                    bad()
                errors.append(("serve error", str(info.value)))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        out = proc.stdout.read()
        reader.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = "".join(seen)
    assert "DEBUG" in stderr and any(WORD in str(a) for a in answers)
    assert_clean([("answers", str(answers))], words=False)
    assert_clean([*errors, ("serve stdout", out), ("serve stderr", stderr), *files_under(scratch)])
