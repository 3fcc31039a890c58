"""guard.stream: what is held back, and that a split identifier is never released unmasked."""

from __future__ import annotations

import itertools

import pytest

from guard.errors import InputError
from guard.policy import Overrides
from guard.sdk import AsyncGuard, Guard
from guard.stream import AsyncStreamModerator, StreamModerator, StreamUpdate, holdback

RRN = "900101-1234568"
TEXT = f"제 주민번호는 {RRN} 이고 전화는 010-1234-5678 입니다."
MASKED = "제 주민번호는 900101-1****** 이고 전화는 010-****-5678 입니다."


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.detectors_only()


@pytest.mark.parametrize(("text", "held"), [
    ("", 0),
    ("안녕하세요", 0),
    ("안녕하세요.", 1),          # a dot may be inside an e-mail address
    ("번호는 9001", 4),
    ("번호는 900101-", 7),
    ("전화 010 1234 ", 9),       # a space after a digit may join the next digits
    ("주소 kim.minsu@", 10),
    ("끝났어요. ", 0),
    ("x" * 100, 64),             # capped at the longest identifier
])
def test_holdback(text: str, held: int) -> None:
    assert holdback(text) == held


def _run(guard: Guard, chunks: list[str], **kw: object) -> list[StreamUpdate]:
    moderator = StreamModerator(guard, **kw)  # type: ignore[arg-type]
    return [moderator.feed(c) for c in chunks] + [moderator.finish()]


def _shown(updates: list[StreamUpdate]) -> str:
    shown = ""
    for u in updates:
        assert u.start == len(shown)
        shown += u.text
    return shown


def test_every_two_cut_split_masks_the_rrn(guard: Guard) -> None:
    for i, j in itertools.combinations(range(1, len(TEXT)), 2):
        updates = _run(guard, [TEXT[:i], TEXT[i:j], TEXT[j:]])
        shown = ""
        for u in updates:
            shown += u.text
            assert "1234568" not in shown and "1234-5678" not in shown, (i, j)
        assert shown == MASKED, (i, j)


def test_char_by_char(guard: Guard) -> None:
    updates = _run(guard, list(TEXT))
    assert _shown(updates) == MASKED
    final = updates[-1].verdict
    assert final is not None and final.masked == MASKED and {"P1", "P3"} <= set(final.categories)
    assert all(u.verdict is None for u in updates[:-1])
    released_spans = [s for u in updates for s in u.spans]
    assert [TEXT[s.start:s.end] for s in released_spans] == [RRN, "010-1234-5678"]


def test_releases_before_the_end(guard: Guard) -> None:
    updates = _run(guard, ["첫 문장입니다. ", "둘째 문장 ", "9001"])
    assert updates[0].text == "첫 문장입니다. " and updates[0].held == 0
    assert updates[2].text == "" and updates[2].held == 4
    assert updates[3].text == "9001"


def test_block_stops_releasing(guard: Guard) -> None:
    updates = _run(guard, ["안녕 ", f"{RRN} ", "그리고 더."], overrides=Overrides(actions={"P1": "block"}))
    assert updates[0].text == "안녕 "
    assert updates[1].text == "" and updates[1].held == len(RRN) + 1  # the RRN is still held back
    assert all(u.blocked and u.text == "" for u in updates[2:])
    assert _shown(updates) == "안녕 "
    assert updates[-1].verdict is not None and updates[-1].verdict.action == "block"


def test_allowed_category_is_released_as_is(guard: Guard) -> None:
    updates = _run(guard, [TEXT], overrides=Overrides(actions={"P1": "flag"}))
    assert RRN in _shown(updates) and "010-****-5678" in _shown(updates)


def test_final_verdict_honours_return_spans(guard: Guard) -> None:
    updates = _run(guard, [TEXT], overrides=Overrides(return_spans=False))
    assert updates[-1].verdict is not None and updates[-1].verdict.spans == []
    assert _shown(updates) == MASKED


def test_input_errors(guard: Guard) -> None:
    with pytest.raises(InputError):
        StreamModerator(guard, role="robot")
    with pytest.raises(InputError):
        StreamModerator(guard, overrides=Overrides(thresholds={"P1": 2.0}))
    with pytest.raises(InputError):
        StreamModerator(guard).finish()  # nothing sent
    moderator = StreamModerator(guard, max_chars=10)
    moderator.feed("12345")
    with pytest.raises(InputError) as info:
        moderator.feed("678901")
    assert "678901" not in str(info.value)


async def test_async_moderator() -> None:
    async with AsyncGuard.detectors_only() as guard:
        moderator = AsyncStreamModerator(guard, role="user")
        updates = [await moderator.feed(c) for c in (TEXT[:12], TEXT[12:20], TEXT[20:])]
        updates.append(await moderator.finish())
    assert moderator.role == "user"
    assert _shown(updates) == MASKED
    assert updates[-1].verdict is not None and updates[-1].verdict.role == "user"
