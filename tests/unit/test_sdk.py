"""Guard and AsyncGuard in process: the whole pipeline on the tiny ONNX model and on FakeEngine."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from guard import AsyncGuard, Guard, Overrides, Verdict
from guard.config import GuardConfig, LimitsConfig
from guard.engine.fake import FakeEngine
from guard.errors import ConfigError, DeadlineError, InputError, ModelError
from guard.policy import Policy

RRN_TEXT = "제 주민번호는 900101-1234568이에요"


@pytest.fixture
def guard(tiny_model_dir: Path) -> Guard:
    return Guard(tiny_model_dir)


def test_check_finds_a_valid_rrn_and_masks_it(guard: Guard) -> None:
    v = guard.check(RRN_TEXT, role="user")
    assert isinstance(v, Verdict)
    assert not v.safe and v.categories[0] == "P1" and v.action == "mask"
    assert v.masked == "제 주민번호는 900101-1******이에요"
    rrn = [s for s in v.spans if s.type == "RRN"]
    assert rrn and RRN_TEXT[rrn[0].start:rrn[0].end] == "900101-1234568" and rrn[0].source == "detector"
    assert set(v.scores) == {f"P{i}" for i in range(1, 6)} | {f"S{i}" for i in range(1, 10)}


def test_model_scores_flag_sensitive_categories(guard: Guard) -> None:
    v = guard.check("저 우울증 있어요")
    assert "S1" in v.categories and v.action == "flag" and v.masked == "저 우울증 있어요"
    assert guard.check("오늘 날씨 좋다").safe


def test_spans_point_into_the_original_text_through_normalization(guard: Guard) -> None:
    text = "번호: ９００１０１－１２３４５６８ 입니다"  # fullwidth digits and hyphen
    v = guard.check(text)
    span = next(s for s in v.spans if s.type == "RRN")
    assert text[span.start:span.end] == "９００１０１－１２３４５６８"
    assert v.masked == "번호: ９００１０１－１****** 입니다"


def test_messages_judge_the_last_turn_with_the_prompt_as_context(guard: Guard) -> None:
    v = guard.check(messages=[
        {"role": "system", "content": "you are helpful"},
        {"role": "user", "content": "김민수 씨 전화번호 알려줘"},
        {"role": "assistant", "content": "010-2345-6789 입니다"},
    ])
    assert v.role == "assistant" and "P3" in v.categories and v.masked == "010-****-6789 입니다"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"text": ""}, "text is empty"),
    ({"text": "   \n"}, "text is empty"),
    ({"text": b"\xff\xfe bad"}, "not valid UTF-8"),
    ({"text": 42}, "must be a string"),
    ({"text": "hi", "role": "system"}, "unknown role"),
    ({"text": "hi", "role": "admin"}, "unknown role"),
    ({}, "either text or messages"),
    ({"text": "a", "messages": [{"role": "user", "content": "b"}]}, "either text or messages"),
    ({"messages": []}, "non-empty list"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "message 0: role"),
    ({"messages": [{"role": "user", "content": None}]}, "message 0: content"),
    ({"messages": [{"role": "system", "content": "x"}]}, "last message"),
])
def test_bad_input_is_a_clear_input_error(guard: Guard, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        guard.check(**kwargs)


def test_limits_name_the_length_not_the_text(tiny_model_dir: Path) -> None:
    g = Guard(tiny_model_dir, config=GuardConfig(limits=LimitsConfig(max_text_chars=100, max_batch_items=3)))
    secret = "900101-1234568 " * 10
    with pytest.raises(InputError) as info:
        g.check(secret)
    assert "150 characters" in str(info.value) and "900101" not in str(info.value)
    with pytest.raises(InputError, match="batch of 4"):
        g.check_batch(["a"] * 4)


def test_megabyte_text_is_refused_by_default_and_checked_when_allowed() -> None:
    with pytest.raises(InputError, match="over the limit of 200000"):
        Guard(engine=FakeEngine()).check("가" * 1_048_576)
    text = ("오늘 회의는 3시에 시작합니다. " * 40000) + "제 주민번호는 900101-1234568"
    assert len(text) > 600_000
    g = Guard(engine=FakeEngine(), config=GuardConfig(limits=LimitsConfig(max_text_chars=2_000_000)))
    v = g.check(text)
    assert "P1" in v.categories and v.masked is not None and v.masked.endswith("900101-1******")


def test_lone_surrogates_do_not_crash(guard: Guard) -> None:
    v = guard.check("전화 010-2345-6789 \ud800 끝")
    assert "P3" in v.categories


def test_check_batch_answers_the_good_items_and_reports_the_bad(guard: Guard) -> None:
    results = guard.check_batch([RRN_TEXT, "", "오늘 날씨 좋다", b"\xff"], return_exceptions=True)
    assert isinstance(results[0], Verdict) and results[0].categories[0] == "P1"
    assert isinstance(results[1], InputError) and str(results[1]).startswith("item 1:")
    assert isinstance(results[2], Verdict) and results[2].safe
    assert isinstance(results[3], InputError) and "item 3" in str(results[3])
    with pytest.raises(InputError, match="item 1"):
        guard.check_batch([RRN_TEXT, ""])


def test_check_batch_matches_one_by_one(guard: Guard) -> None:
    texts = [RRN_TEXT, "저 우울증 있어요", "오늘 날씨 좋다", "call me 010-1234-5678"]
    assert guard.check_batch(texts) == [guard.check(t) for t in texts]


def test_mask_masks_every_flagged_span(guard: Guard) -> None:
    assert guard.mask("연락처 010-2345-6789 이메일 kim@naver.com") == "연락처 010-****-6789 이메일 ki*@naver.com"


def test_overrides_per_request(guard: Guard) -> None:
    v = guard.check(RRN_TEXT, overrides=Overrides(actions={"P1": "block"}))
    assert v.action == "block"
    v = guard.check(RRN_TEXT, overrides=Overrides(categories_off=frozenset({"P1"})))
    assert "P1" not in v.categories


def test_detectors_only_needs_no_model() -> None:
    g = Guard.detectors_only()
    assert g.info.name == "none"
    assert g.check(RRN_TEXT).categories == ["P1"]
    assert g.check("저 우울증 있어요").safe


def test_missing_model_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        Guard(tmp_path / "nowhere")
    assert "nowhere" in str(info.value)


def test_hash_policy_without_key_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGUARD_HMAC_KEY", "a-test-key-of-enough-length")  # the library reads no environment
    with pytest.raises(ConfigError, match="KGUARD_HMAC_KEY"):
        Guard.detectors_only(policy=Policy.from_dict({"masking": "hash"}))
    config = GuardConfig(hmac_key=b"a-test-key-of-enough-length")
    v = Guard.detectors_only(policy=Policy.from_dict({"masking": "hash"}), config=config).check(RRN_TEXT)
    assert v.masked is not None and "[RRN:" in v.masked and "900101" not in v.masked


async def test_async_guard_batches_concurrent_callers() -> None:
    engine = FakeEngine()
    async with AsyncGuard(engine=engine) as g:
        texts = [f"요청 {i} 주민번호 900101-1234568" if i % 2 else f"요청 {i} 안녕하세요" for i in range(64)]
        verdicts = await asyncio.gather(*(g.check(t) for t in texts))
    for i, v in enumerate(verdicts):
        assert v.safe == (i % 2 == 0)
    assert max(engine.batch_sizes) > 1 and sum(engine.batch_sizes) == 64


async def test_async_guard_check_batch_and_deadline() -> None:
    async with AsyncGuard(engine=FakeEngine()) as g:
        results = await g.check_batch(["주민번호 900101-1234568", ""], return_exceptions=True)
        assert isinstance(results[0], Verdict) and isinstance(results[1], InputError)
        with pytest.raises(DeadlineError):
            await g.check("안녕", deadline=time.monotonic() - 1)
        assert await g.mask("전화 010-2345-6789") == "전화 010-****-6789"
