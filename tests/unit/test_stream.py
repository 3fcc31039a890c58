"""guard.stream: what is held back, and that a split identifier is never released unmasked."""

from __future__ import annotations

import itertools

import pytest

from guard.detectors.registry import DetectorRegistry
from guard.errors import InputError
from guard.normalize import normalize
from guard.policy import Overrides
from guard.sdk import AsyncGuard, Guard
from guard.stream import AsyncStreamModerator, StreamModerator, StreamUpdate, holdback, sentence_hold
from tests.fuzz.strategies import PIECES

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
    # every separator the normalizer and the detectors read between digit groups, and "~"
    ("번호는 900101\u2013", 7),   # en dash
    ("번호는 900101\u2014", 7),   # em dash
    ("번호는 900101\u2010", 7),   # hyphen
    ("번호는 900101\u2212", 7),   # minus sign
    ("번호는 900101~", 7),
    ("번호는 900101 - ", 9),
    ("번호는 900101 \u2013 ", 9),
    ("번호는 010 -  ", 7),
    ("번호는 010\u00a0", 4),      # a no-break space folds to a space
    ("번호는 9001\u200b01", 7),   # a zero-width space is dropped by the normalizer
    ("번호는 𝟗𝟎𝟎𝟏", 4),           # mathematical digits fold to digits
    ("비밀번호: pa$$", 4),         # a password value is any visible ASCII
    ("그래서 - ", 0),              # a separator holds only after a digit
    ("3시 - ", 0),
    # a number long enough to need a context word is held until CONTEXT_AFTER characters follow it
    ("110-123-456789 계좌", 17),
    ("110-123-456789 계좌로 보내 주세요", 25),
    ("110-123-456789 계좌로 보내 주세요. 감사합니다", 0),
    ("3시 30분에 만나요", 0),    # too few digits for any such detector
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
    assert updates[1].text == "" and updates[1].held == 6  # an unfinished sentence is held
    assert updates[2].text == "" and updates[2].held == 10
    assert updates[3].text == "둘째 문장 9001"
    updates = _run(guard, ["첫 문장입니다. ", "둘째 문장 ", "9001"], max_sentence_hold=0)
    assert updates[1].text == "둘째 문장 " and updates[2].held == 4


@pytest.mark.parametrize(("text", "held"), [
    ("", 0),
    ("첫 문장입니다. ", 0),
    ("첫 문장입니다. 둘째", 2),
    ("첫 문장입니다.\n목록", 2),
    ("정말요?\" 그럼", 2),
    ("원주율은 3.14", 9),        # a dot inside a number ends nothing
    ("가" * 200, 96),            # capped: a long sentence is released but for its last characters
])
def test_sentence_hold(text: str, held: int) -> None:
    assert sentence_hold(text) == held


def test_block_stops_releasing(guard: Guard) -> None:
    chunks = ["안녕하세요. ", f"{RRN} ", "그리고 다른 이야기도 조금 더 해 볼게요. ", "끝."]
    updates = _run(guard, chunks, overrides=Overrides(actions={"P1": "block"}))
    assert updates[0].text == "안녕하세요. "
    assert updates[1].text == "" and updates[1].held == len(RRN) + 1  # the RRN is still held back
    assert all(u.blocked and u.text == "" for u in updates[2:])
    assert _shown(updates) == "안녕하세요. "
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


@pytest.mark.parametrize("piece", [p for p in PIECES if "PRIVATE KEY" not in p])
def test_holdback_covers_every_detector_match(piece: str) -> None:
    """No drift between the detectors and the hold-back: whatever a detector reports is held whole while
    it is the end of the text."""
    text = f"여권 계좌 운전면허 안내: {piece}"
    normalized = normalize(text)
    matches = DetectorRegistry.default().analyze(normalized.text)
    for m in matches:
        start, end = normalized.to_original(m.start, m.end)
        assert holdback(text[:end]) >= end - start, text[start:end]


def test_a_private_key_is_held_from_begin_to_end(guard: Guard) -> None:
    key = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n"
           "-----END PRIVATE KEY-----")
    text = f"키는 다음과 같습니다.\n{key}\n끝입니다. "
    lines = text.splitlines(keepends=True)
    updates = _run(guard, lines)
    assert all("MIIE" not in u.text and "BKcw" not in u.text for u in updates)
    assert "".join(u.text for u in updates) == guard.check(text, role="assistant").masked
