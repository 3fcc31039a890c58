"""The kguard command, run as a user runs it: exit codes 0 safe / 1 unsafe / 2 error, no text in errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

RRN_TEXT = "제 주민번호는 900101-1234568이에요"


def kguard(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "guard.cli", *args], input=stdin, capture_output=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_check_unsafe_text_readable(tiny_model_dir: Path) -> None:
    out = kguard("check", RRN_TEXT, "--model", str(tiny_model_dir))
    assert out.returncode == 1, out.stderr
    text = out.stdout.decode()
    assert "UNSAFE" in text and "P1 고유식별정보" in text and "masked: 제 주민번호는 900101-1******이에요" in text


def test_check_safe_text_json(tiny_model_dir: Path) -> None:
    out = kguard("check", "오늘 날씨 좋다", "--json", "--model", str(tiny_model_dir))
    assert out.returncode == 0, out.stderr
    verdict = json.loads(out.stdout)
    assert verdict["safe"] is True and verdict["action"] == "allow" and len(verdict["scores"]) == 14


def test_check_from_stdin_detectors_only() -> None:
    out = kguard("check", "-", "--no-model", "--json", "--role", "assistant",
                 stdin="연락처는 010-2345-6789입니다".encode())
    assert out.returncode == 1
    assert json.loads(out.stdout)["masked"] == "연락처는 010-****-6789입니다"


def test_errors_exit_2_with_one_line_and_no_text(tmp_path: Path) -> None:
    cases = [
        (["check", "-", "--no-model"], b"\xff\xfe 900101-1234568", "not valid UTF-8"),
        (["check", "", "--no-model"], None, "text is empty"),
        (["check", RRN_TEXT, "--no-model", "--role", "boss"], None, "unknown role"),
        (["check", RRN_TEXT, "--model", str(tmp_path / "missing")], None, "missing"),
        (["check", RRN_TEXT, "--no-model", "--policy", str(tmp_path / "p.toml")], None, "cannot read policy"),
    ]
    for args, stdin, message in cases:
        out = kguard(*args, stdin=stdin)
        err = out.stderr.decode()
        assert out.returncode == 2, (args, err)
        assert message in err and "Traceback" not in err and "900101" not in err, err
        assert len(err.strip().splitlines()) == 1, err


def test_corrupt_model_folder_is_a_clear_error(tmp_path: Path, tiny_model_dir: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("tokenizer.json", "labels.json"):
        (broken / name).write_bytes((tiny_model_dir / name).read_bytes())
    (broken / "model.onnx").write_bytes((tiny_model_dir / "model.onnx").read_bytes()[:100])
    out = kguard("check", RRN_TEXT, "--model", str(broken))
    err = out.stderr.decode()
    assert out.returncode == 2 and "model.onnx" in err and "Traceback" not in err


def test_categories_and_model_info(tiny_model_dir: Path) -> None:
    out = kguard("categories", "--json")
    assert out.returncode == 0 and [c["code"] for c in json.loads(out.stdout)][:2] == ["P1", "P2"]
    assert "S2  sex_life" in kguard("categories").stdout.decode()
    out = kguard("model-info", "--json", "--model", str(tiny_model_dir))
    assert out.returncode == 0 and len(json.loads(out.stdout)["sha256"]) == 64


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    """`kguard categories --json | head`: stdout's reader is gone before the output is written."""
    for args, expected in ((["categories", "--json"], 0), (["categories"], 0),
                           (["check", RRN_TEXT, "--no-model", "--json"], 1)):
        read_end, write_end = os.pipe()
        os.close(read_end)  # nobody reads: every write fails with EPIPE
        try:
            done = subprocess.run([sys.executable, "-m", "guard.cli", *args], stdout=write_end,
                                  stderr=subprocess.PIPE, timeout=120)
        finally:
            os.close(write_end)
        err = done.stderr.decode()
        assert done.returncode == expected, (args, err)  # the exit code keeps its meaning
        assert "Traceback" not in err and "BrokenPipeError" not in err and err.strip() == "", (args, err)


_HEAVY = ("import json, sys; from guard.cli import main; code = main(sys.argv[1:]); "
          "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
          "('grpc', 'grpc_health', 'prometheus_client', 'pyarrow') or m.startswith("
          "('guard.server', 'guard.scan', 'guard.client', 'guard.metrics', 'guard.verify')))), file=sys.stderr)")


def test_check_loads_neither_grpc_nor_the_server_nor_the_scanner(tiny_model_dir: Path) -> None:
    for model in (["--model", str(tiny_model_dir)], ["--no-model"]):
        done = subprocess.run([sys.executable, "-c", _HEAVY, "check", RRN_TEXT, *model], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stderr.strip().splitlines()[-1]) == [], model


def test_every_sub_command_still_has_its_options() -> None:
    for command, option in (("scan", "--resume"), ("serve", "--unix-socket"), ("eval", "--show-text"),
                            ("calibrate", "--target-precision"), ("redteam", "--endpoint")):
        done = kguard(command, "--help")
        assert done.returncode == 0 and option in done.stdout.decode(), command


def test_one_config_per_command_from_the_environment_then_the_options() -> None:
    from guard import cli
    from guard.cli import build_parser, config_from_args, scan_options
    from guard.config import from_env
    from guard.masking import MaskOperator
    from guard.scan.readers import FORMATS

    base = from_env({"KGUARD_LIMITS_MAX_TEXT_CHARS": "5000", "KGUARD_HMAC_KEY": "k" * 20,
                     "KGUARD_ENGINE_MODEL_DIR": "/m", "KGUARD_ENGINE_INTRA_OP_NUM_THREADS": "3"})
    args = build_parser().parse_args(["scan", "in.jsonl", "-o", "out.jsonl", "-f", "text", "--model", "/other"])
    config = config_from_args(args, base)
    assert config.limits.max_text_chars == 5000 and config.hmac_key == b"k" * 20
    assert config.engine.model_dir == Path("/other") and config.engine.intra_op_num_threads == 3
    assert scan_options(args, config).engine.config is config  # a scan honours every KGUARD_* setting
    args = build_parser().parse_args(["scan", "in.jsonl", "-o", "o", "-f", "text", "--max-text-chars", "10"])
    assert config_from_args(args, base).limits.max_text_chars == 10
    assert cli._SCAN_FORMATS == FORMATS and cli._MASKINGS == tuple(m.value for m in MaskOperator)


def test_engine_sessions_from_the_environment_then_serve_option() -> None:
    from guard.cli import build_parser, config_from_args
    from guard.config import from_env, serve_defaults

    base = from_env({"KGUARD_ENGINE_SESSIONS": "3"}, base=serve_defaults())
    assert base.engine.sessions == 3
    assert config_from_args(build_parser().parse_args(["serve"]), base).engine.sessions == 3
    assert config_from_args(build_parser().parse_args(["serve", "--sessions", "1"]), base).engine.sessions == 1
