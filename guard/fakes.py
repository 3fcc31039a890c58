"""Format-preserving fakes: a stand-in of the same shape for one identifier, name or address.

A fake keeps what a reader (or an LLM) needs to treat the value as what it is, and nothing of the
value itself: the separators and digit grouping, the card network's first digit, a Korean name's
length. Every digit is drawn anew, and identifiers that carry a check digit get a valid one, checked
by the same detector that finds the real ones (an RRN passes python-stdnum, a card Luhn and its issuer's
lengths, a phone number phonenumbers' KR plan). What no detector can check (accounts, passports) keeps
its shape. A fake never appears anywhere in the text it stands in (`taken`), so restoring cannot touch
text that was there before.

`make_fake(span_type, value, rng, taken)` returns the fake, or None when no fake of that type fits
(the caller then uses a typed placeholder).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Container

from guard.detectors.base import Detector, Validity
from guard.detectors.card import CardDetector
from guard.detectors.email import EmailDetector
from guard.detectors.frn import FrnDetector
from guard.detectors.phone import PhoneDetector
from guard.detectors.rrn import RrnDetector
from guard.taxonomy import SpanType

__all__ = ["digits_of", "make_fake"]

_TRIES = 64
# Common surnames and given-name syllables (통계청 성씨 통계; 대법원 출생신고 이름 순위), for Korean names.
_SURNAMES = ("김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진나지엄채원천방공현"
             "함변염여추도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감음빈동온호범좌팽승간상갈단견당")
_GIVEN = "민서준도윤하지예은현우수연건영유진재시아원채호성태주동혜경승희다인소나정미선규찬혁석환훈빈율람솔별슬"
_LATIN_GIVEN = ("Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Parker")
_LATIN_FAMILY = ("Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han")
_MAIL_DOMAINS = ("naver.com", "gmail.com", "daum.net", "kakao.com", "hanmail.net", "nate.com")
_CITIES = (("서울특별시", ("강남구", "마포구", "송파구", "노원구", "관악구", "은평구")),
           ("부산광역시", ("해운대구", "수영구", "사하구")), ("인천광역시", ("연수구", "남동구", "부평구")),
           ("대전광역시", ("유성구", "서구")), ("경기도", ("성남시 분당구", "수원시 영통구", "고양시 일산동구")))
_ROADS = ("중앙로", "평화로", "희망길", "새싹로", "은행나무길", "한빛로", "푸른길", "누리로")
_LICENSE_REGIONS = ("11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24", "25",
                    "26", "28")
_HANGUL = re.compile(r"^[가-힣]+$")
_DATE = re.compile(r"^(\D*)((?:19|20)?\d{2})(\D+)(\d{1,2})(\D+)(\d{1,2})(\D*)$")
_PLAIN_DATE = re.compile(r"^(\d{2}|\d{4})(\d{2})(\d{2})$")
_SHORT_RUN = re.compile(r"[0-9]{3,}")


def digits_of(value: str) -> str:
    """The ASCII digits of `value`, in order (how digit-shaped fakes are matched, whatever the spacing)."""
    return "".join(ch for ch in value if "0" <= ch <= "9")


def make_fake(span_type: SpanType, value: str, rng: random.Random, taken: Container[str] | str = "") -> str | None:
    """A fake for `value` of `span_type` that occurs nowhere in `taken` (the text, other fakes).

    Args:
        span_type: what the value is.
        value: the original value (only its shape is used).
        rng: the random source (tests pass a seeded one).
        taken: where the fake must not occur: a text (substring test) or a container of values.
    """
    maker = _MAKERS.get(span_type)
    if maker is None:
        return None
    for _ in range(_TRIES):
        fake = maker(value, rng)
        if fake is None:
            return None
        if fake != value and not _reveals(fake, value) and not _collides(fake, taken):
            return fake
    return None


def _reveals(fake: str, value: str) -> bool:
    """Whether the fake carries the original's digits (a fake "1990년 11월 2일" holds "1990년 1월 1일"'s 199011)."""
    digits = digits_of(value)
    return len(digits) >= 6 and digits in digits_of(fake)


def _collides(fake: str, taken: Container[str] | str) -> bool:
    if isinstance(taken, str):
        if fake in taken:
            return True
        digits = digits_of(fake)
        if len(digits) >= 6:
            return digits in digits_of(taken)
        # a short fake's number (a house number, a CVC) must not repeat one that stands alone in the text
        return any(re.search(f"(?<![0-9]){run}(?![0-9])", taken) for run in _SHORT_RUN.findall(fake))
    return fake in taken


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _reshape(template: str, digits: str) -> str:
    """`digits` written in `template`'s shape: each digit of the template replaced in turn."""
    it = iter(digits)
    return "".join(next(it) if "0" <= ch <= "9" else ch for ch in template)


def _whole(detector: Detector, fake: str, *, valid: bool = True) -> bool:
    """True when `detector` finds `fake` as one whole match (VALID when `valid`)."""
    found = detector.find(fake)
    return any(m.start == 0 and m.end == len(fake) and (m.validity is Validity.VALID or not valid)
               for m in found)


def _checked(detector: Detector, make: Callable[[str, random.Random], str], *, valid: bool = True
             ) -> Callable[[str, random.Random], str | None]:
    def maker(value: str, rng: random.Random) -> str | None:
        for _ in range(_TRIES):
            fake = make(value, rng)
            if _whole(detector, fake, valid=valid):
                return fake
        return None
    return maker


def _rrn_digits(rng: random.Random, genders: str) -> str:
    gender = rng.choice(genders)
    year = rng.randrange(0, 6) if gender in "3478" else rng.randrange(50, 100)  # born 2000-05 or 1950-99
    month, day = rng.randrange(1, 13), rng.randrange(1, 29)
    return f"{year:02d}{month:02d}{day:02d}{gender}{rng.randrange(0, 97):02d}{_digits(rng, 3)}"


def _with_check(body: str) -> str:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(w * int(d) for w, d in zip(weights, body, strict=True))
    return body + str((11 - total % 11) % 10)


def _rrn(value: str, rng: random.Random) -> str:
    return _reshape(value, _with_check(_rrn_digits(rng, "1234")[:12]))


def _frn(value: str, rng: random.Random) -> str:
    return _reshape(value, _with_check(_rrn_digits(rng, "5678")[:12]))


def _phone(value: str, rng: random.Random) -> str:
    digits = digits_of(value)
    if digits.startswith("010") and len(digits) == 11:
        return _reshape(value, "010" + str(rng.randrange(2, 10)) + _digits(rng, 7))
    sep = "-" if "-" in value else (" " if " " in value else "")
    return f"010{sep}{rng.randrange(2, 10)}{_digits(rng, 3)}{sep}{_digits(rng, 4)}"


def _card(value: str, rng: random.Random) -> str:
    digits = digits_of(value)
    body = digits[:2] + _digits(rng, len(digits) - 3)  # the network's prefix stays
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return _reshape(value, body + str((10 - total % 10) % 10))


def _account(value: str, rng: random.Random) -> str | None:
    digits = digits_of(value)
    fake = _reshape(value, str(rng.randrange(1, 10)) + _digits(rng, len(digits) - 1))
    return fake if len(set(digits_of(fake))) > 1 else None


def _passport(value: str, rng: random.Random) -> str:
    out = [value[0]] if value[:1].isalpha() else ["M"]
    for ch in value[1:]:
        if ch.isdigit():
            out.append(rng.choice(string.digits))
        elif ch.isalpha():
            letters = string.ascii_uppercase if ch.isupper() else string.ascii_lowercase
            out.append(rng.choice(letters))
        else:
            out.append(ch)
    return "".join(out)


def _driver_license(value: str, rng: random.Random) -> str:
    digits = digits_of(value)
    if len(digits) == 12:
        return _reshape(value, rng.choice(_LICENSE_REGIONS) + _digits(rng, 10))
    return _reshape(value, _digits(rng, len(digits)))  # "서울 09-123456-78": the region name stays


def _email(value: str, rng: random.Random) -> str:
    local = value.split("@", 1)[0]
    n = min(max(len(local), 5), 16)
    first = rng.choice(string.ascii_lowercase)
    rest = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n - 1))
    return f"{first}{rest}@{rng.choice(_MAIL_DOMAINS)}"


def _person(value: str, rng: random.Random) -> str | None:
    name = value.strip()
    if _HANGUL.match(name) and 2 <= len(name) <= 5:
        return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(len(name) - 1))
    if name.isascii() and name.replace(" ", "").isalpha():
        return f"{rng.choice(_LATIN_GIVEN)} {rng.choice(_LATIN_FAMILY)}"
    return None


def _address(value: str, rng: random.Random) -> str:
    city, districts = rng.choice(_CITIES)
    return f"{city} {rng.choice(districts)} {rng.choice(_ROADS)} {rng.randrange(1, 300)}"


def _birth_date(value: str, rng: random.Random) -> str | None:
    year = rng.randrange(1950, 2006)
    month, day = rng.randrange(1, 13), rng.randrange(1, 29)
    plain = _PLAIN_DATE.match(value)
    if plain:
        y = f"{year}" if len(plain.group(1)) == 4 else f"{year % 100:02d}"
        return f"{y}{month:02d}{day:02d}"
    m = _DATE.match(value)
    if m is None:
        return None
    y = f"{year}" if len(m.group(2)) == 4 else f"{year % 100:02d}"
    mm = f"{month:02d}" if len(m.group(4)) == 2 else str(month)
    dd = f"{day:02d}" if len(m.group(6)) == 2 else str(day)
    return f"{m.group(1)}{y}{m.group(3)}{mm}{m.group(5)}{dd}{m.group(7)}"


def _card_expiry(value: str, rng: random.Random) -> str | None:
    digits = digits_of(value)
    if len(digits) not in (4, 6):
        return None
    month, year = rng.randrange(1, 13), rng.randrange(26, 35)
    return _reshape(value, f"{month:02d}{year:02d}" if len(digits) == 4 else f"{month:02d}20{year:02d}")


def _same_digits(value: str, rng: random.Random) -> str:
    return _reshape(value, _digits(rng, len(digits_of(value))))


def _credential(value: str, rng: random.Random) -> str:
    # keep a vendor prefix ("sk-", "ghp_") so the reader still knows what it is; redraw the rest by class
    cut = next((i + 1 for i, ch in enumerate(value[:8]) if ch in "-_"), 0)
    out = [value[:cut]]
    for ch in value[cut:]:
        if ch.isdigit():
            out.append(rng.choice(string.digits))
        elif ch.isascii() and ch.isalpha():
            out.append(rng.choice(string.ascii_uppercase if ch.isupper() else string.ascii_lowercase))
        else:
            out.append(ch)
    return "".join(out)


_MAKERS: dict[SpanType, Callable[[str, random.Random], str | None]] = {
    SpanType.RRN: _checked(RrnDetector(), _rrn),
    SpanType.FRN: _checked(FrnDetector(), _frn),
    SpanType.PHONE: _checked(PhoneDetector(), _phone),
    SpanType.CARD: _checked(CardDetector(), _card),
    SpanType.EMAIL: _checked(EmailDetector(), _email),
    SpanType.ACCOUNT: _account,
    SpanType.PASSPORT: _passport,
    SpanType.DRIVER_LICENSE: _driver_license,
    SpanType.PERSON: _person,
    SpanType.ADDRESS: _address,
    SpanType.BIRTH_DATE: _birth_date,
    SpanType.CARD_EXPIRY: _card_expiry,
    SpanType.CARD_CVC: _same_digits,
    SpanType.CREDENTIAL: _credential,
}
