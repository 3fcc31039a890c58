"""Realistic values for the generator: Korean identifiers with valid check digits, names, addresses,
credentials, and the obfuscations real users apply to them.

Every generator takes a `random.Random` (and a Faker where it needs one) so a seed reproduces the data.
"""

from __future__ import annotations

import random
import string

from faker import Faker

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_HANGUL_DIGITS = "공일이삼사오육칠팔구"
_ZW = ("\u200b", "\u200c", "\u200d", "\ufeff")


def rrn_check(first12: str) -> str:
    """주민등록번호 check digit: (11 - weighted sum mod 11) mod 10."""
    total = sum(int(d) * w for d, w in zip(first12, _RRN_WEIGHTS, strict=False))
    return str((11 - total % 11) % 10)


def frn_check(first12: str) -> str:
    """외국인등록번호 check digit (pre-2020 rule): (13 - weighted sum mod 11) mod 10."""
    total = sum(int(d) * w for d, w in zip(first12, _RRN_WEIGHTS, strict=False))
    return str((13 - total % 11) % 10)


def birth(rng: random.Random, lo: int = 1945, hi: int = 2019) -> tuple[int, int, int]:
    """A plausible birth date (year, month, day)."""
    return rng.randint(lo, hi), rng.randint(1, 12), rng.randint(1, 28)


def rrn(rng: random.Random) -> str:
    """A 주민등록번호. Since October 2020 the last six digits are random (no check digit)."""
    y, m, d = birth(rng)
    gender = rng.choice("12") if y < 2000 else rng.choice("34")
    head = f"{y % 100:02d}{m:02d}{d:02d}"
    if rng.random() < 0.25:  # issued after 2020-10: random tail, no check digit
        tail = gender + "".join(rng.choice(string.digits) for _ in range(6))
    else:
        body = head + gender + f"{rng.randint(0, 99999):05d}"
        tail = body[6:] + rrn_check(body)
    return f"{head}{rng.choice(['-', '-', '-', ' ', ''])}{tail}"


def frn(rng: random.Random) -> str:
    """A 외국인등록번호 (gender digit 5-8), valid under the pre-2020 rule."""
    y, m, d = birth(rng, 1960, 2005)
    gender = rng.choice("56") if y < 2000 else rng.choice("78")
    body = f"{y % 100:02d}{m:02d}{d:02d}{gender}{rng.randint(0, 99999):05d}"
    return f"{body[:6]}{rng.choice(['-', '-', '-', ' ', ''])}{body[6:]}{frn_check(body)}"


def passport(rng: random.Random) -> str:
    """A Korean passport number: old M12345678, or the 2021 format M123A4567."""
    letter = rng.choice("MMMSRGD")
    if rng.random() < 0.5:
        return f"{letter}{rng.randint(0, 99999999):08d}"
    return f"{letter}{rng.randint(0, 999):03d}{rng.choice('ABCDEFGHJK')}{rng.randint(0, 9999):04d}"


def driver_license(rng: random.Random) -> str:
    """운전면허번호: region (11-28), year, serial, check (two digits)."""
    parts = (
        f"{rng.randint(11, 28)}",
        f"{rng.randint(0, 99):02d}",
        f"{rng.randint(0, 999999):06d}",
        f"{rng.randint(0, 99):02d}",
    )
    return rng.choice(["-", "-", " "]).join(parts) if rng.random() < 0.85 else "".join(parts)


_BANKS = (
    ("국민은행", (6, 2, 6)),
    ("신한은행", (3, 3, 6)),
    ("우리은행", (4, 3, 6)),
    ("하나은행", (3, 6, 5)),
    ("농협", (3, 4, 4, 2)),
    ("카카오뱅크", (4, 2, 7)),
    ("기업은행", (3, 6, 2, 3)),
    ("토스뱅크", (4, 4, 4)),
    ("새마을금고", (4, 2, 7)),
    ("SC제일은행", (3, 2, 6)),
    ("케이뱅크", (3, 3, 6)),
    ("우체국", (6, 2, 6)),
)


def bank(rng: random.Random) -> str:
    return rng.choice(_BANKS)[0]


def account(rng: random.Random) -> str:
    """A bank account number in one of the banks' real groupings."""
    groups = rng.choice(_BANKS)[1]
    digits = ["".join(rng.choice(string.digits) for _ in range(n)) for n in groups]
    return "-".join(digits) if rng.random() < 0.8 else "".join(digits)


# How people name the bank next to the number, and the number's real shape: (names, prefixes, groups).
_BANK_SHAPES: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]], ...] = (
    (("카카오뱅크", "카뱅", "카카오"), ("3333", "3355", "3388", "7979"), (4, 2, 7)),
    (("토스뱅크", "토스"), ("1000", "1001", "1002"), (4, 4, 4)),
    (("농협", "NH농협", "농협은행", "단위농협"), ("352", "351", "302", "301", "356"), (3, 4, 4, 2)),
    (("국민은행", "국민", "KB국민은행", "KB"), ("", "9", "4"), (6, 2, 6)),
    (("신한은행", "신한"), ("110", "100", "140"), (3, 3, 6)),
    (("우리은행", "우리"), ("1002", "1005"), (4, 3, 6)),
    (("하나은행", "하나"), ("", "620", "391"), (3, 6, 5)),
    (("기업은행", "IBK기업은행", "기업"), ("", "010", "110"), (3, 6, 2, 3)),
    (("우체국",), ("", "1000"), (6, 2, 6)),
    (("새마을금고", "MG새마을금고"), ("9002", "9003", "9100"), (4, 4, 4, 1)),
    (("SC제일은행", "제일은행"), ("", "440"), (3, 2, 6)),
    (("케이뱅크", "K뱅크"), ("100", "110"), (3, 3, 6)),
    (("부산은행",), ("101", "112"), (3, 4, 4, 2)),
    (("대구은행", "iM뱅크"), ("508", "505"), (3, 2, 6, 1)),
)


def bank_account(rng: random.Random) -> tuple[str, str]:
    """(bank name as people write it, an account number of that bank's shape): with hyphens, spaces
    or none."""
    names, prefixes, groups = rng.choice(_BANK_SHAPES)
    prefix = rng.choice(prefixes)
    digits = prefix + "".join(rng.choice(string.digits) for _ in range(sum(groups) - len(prefix)))
    parts, i = [], 0
    for n in groups:
        parts.append(digits[i : i + n])
        i += n
    sep = rng.choice(["-", "-", "-", "", "", " "])
    return rng.choice(names), sep.join(parts)


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def card(rng: random.Random) -> str:
    """A Luhn-valid card number (Visa, Mastercard, BC, AmEx) in 4-4-4-4 (or 4-6-5) grouping."""
    prefix = rng.choice(["4", "51", "52", "55", "9410", "9430", "3560", "37"])
    length = 15 if prefix == "37" else 16
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - 1 - len(prefix)))
    number = body + luhn_digit(body)
    sep = rng.choice(["-", "-", " ", ""])
    if length == 15:
        return sep.join((number[:4], number[4:10], number[10:]))
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def cvc(rng: random.Random) -> str:
    return f"{rng.randint(0, 999):03d}"


def expiry(rng: random.Random) -> str:
    return f"{rng.randint(1, 12):02d}/{rng.randint(25, 31)}"


def mobile(rng: random.Random) -> str:
    """A personal mobile number (010), sometimes written with dots, spaces, or +82."""
    mid, end = f"{rng.randint(2000, 9999)}", f"{rng.randint(0, 9999):04d}"
    style = rng.random()
    if style < 0.6:
        return f"010-{mid}-{end}"
    if style < 0.75:
        return f"010{mid}{end}"
    if style < 0.85:
        return f"010.{mid}.{end}"
    if style < 0.93:
        return f"010 {mid} {end}"
    return f"+82 10-{mid}-{end}"


def home_phone(rng: random.Random) -> str:
    area = rng.choice(["02", "031", "032", "051", "053", "042", "062", "064", "033"])
    return f"{area}-{rng.randint(200, 9999)}-{rng.randint(0, 9999):04d}"


def business_line(rng: random.Random) -> str:
    """A company's public number (safe): 1588-xxxx and friends."""
    return (
        f"{rng.choice(['1588', '1577', '1544', '1599', '1666', '1644', '1899'])}-{rng.randint(0, 9999):04d}"
    )


_ROMAN = ("kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim", "han", "shin", "seo")
_GIVEN = (
    "minsu",
    "jiyoung",
    "seojun",
    "hayoon",
    "doyun",
    "jiwoo",
    "yejin",
    "hyunwoo",
    "sujin",
    "jihoon",
    "eunji",
    "taeyang",
    "mina",
    "jaehyun",
    "soyeon",
    "dongmin",
)


def email(rng: random.Random, fake: Faker) -> str:
    """A personal e-mail address on a common Korean or global free-mail domain."""
    user = rng.choice(
        [
            lambda: f"{rng.choice(_GIVEN)}{rng.randint(1, 99)}",
            lambda: f"{rng.choice(_ROMAN)}.{rng.choice(_GIVEN)}",
            lambda: f"{rng.choice(_GIVEN)}_{rng.choice(_ROMAN)}{rng.randint(70, 99)}",
            lambda: fake.user_name(),
        ]
    )()
    domain = rng.choice(
        [
            "naver.com",
            "gmail.com",
            "daum.net",
            "hanmail.net",
            "kakao.com",
            "nate.com",
            "hotmail.com",
            "icloud.com",
            "outlook.com",
        ]
    )
    return f"{user}@{domain}"


def address(rng: random.Random, fake: Faker) -> str:
    """A detailed home address: road address with building, unit (동/호) when an apartment."""
    base = fake.street_address() if rng.random() < 0.5 else fake.address().split(" (")[0]
    r = rng.random()
    if r < 0.45:
        return (
            f"{base} {rng.choice(['', '', '101동 ', '203동 ', f'{rng.randint(101, 120)}동 '])}"
            f"{rng.randint(1, 25)}{rng.randint(1, 8):02d}호".replace("  ", " ")
        )
    if r < 0.6:
        return f"{base}, {rng.randint(1, 5)}층"
    return base


def password(rng: random.Random) -> str:
    word = rng.choice(
        [
            "love",
            "sky",
            "happy",
            "qwer",
            "dlwlrma",
            "tjdwn",
            "minsu",
            "sunny",
            "star",
            "tiger",
            "coffee",
            "admin",
            "pass",
            "gksrmf",
            "seoul",
            "hello",
        ]
    )
    tail = rng.choice(["1234", "!", "@", "#", f"{rng.randint(0, 9999)}", "0413!", "!!", "2024", "^^"])
    pw = word.capitalize() if rng.random() < 0.4 else word
    return (
        pw + tail
        if rng.random() < 0.8
        else "".join(
            rng.choice(string.ascii_letters + string.digits + "!@#$%") for _ in range(rng.randint(8, 14))
        )
    )


def pin(rng: random.Random) -> str:
    return f"{rng.randint(0, 999999):06d}" if rng.random() < 0.5 else f"{rng.randint(0, 9999):04d}"


def api_key(rng: random.Random) -> str:
    """API keys and tokens in the shapes of well-known providers."""
    alnum = string.ascii_letters + string.digits

    def rand(n: int, alphabet: str = alnum) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    return rng.choice(
        [
            lambda: "sk-" + rand(40),
            lambda: "sk-proj-" + rand(48),
            lambda: "AKIA" + rand(16, string.ascii_uppercase + string.digits),
            lambda: "ghp_" + rand(36),
            lambda: "xoxb-" + "-".join(rand(11, string.digits) for _ in range(2)) + "-" + rand(24),
            lambda: "AIza" + rand(35),
            lambda: "eyJhbGciOiJIUzI1NiJ9." + rand(36) + "." + rand(27),
        ]
    )()


def birth_date(rng: random.Random) -> str:
    y, m, d = birth(rng, 1950, 2012)
    return rng.choice(
        [
            f"{y}년 {m}월 {d}일",
            f"{y}.{m:02d}.{d:02d}",
            f"{y}-{m:02d}-{d:02d}",
            f"{y % 100:02d}{m:02d}{d:02d}",
            f"{y}년생 {m}월 {d}일",
            f"{y}/{m:02d}/{d:02d}",
        ]
    )


def birth_date_en(rng: random.Random) -> str:
    y, m, d = birth(rng, 1950, 2012)
    month = (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    )[m - 1]
    return rng.choice([f"{month} {d}, {y}", f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}"])


def order_number(rng: random.Random) -> str:
    """Order, tracking and reservation numbers (safe: they identify a parcel, not a person)."""
    return rng.choice(
        [
            lambda: (
                f"{rng.randint(2023, 2026)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
                f"-{rng.randint(0, 9999999):07d}"
            ),
            lambda: f"{rng.randint(10**11, 10**12 - 1)}",
            lambda: f"ORD-{rng.randint(100000, 999999)}",
            lambda: f"{rng.randint(5000, 6999)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            lambda: f"KR{rng.randint(10**8, 10**9 - 1)}",
        ]
    )()


def product_code(rng: random.Random) -> str:
    letters = string.ascii_uppercase
    return rng.choice(
        [
            lambda: f"{rng.choice(letters)}{rng.choice(letters)}-{rng.randint(1000, 9999)}",
            lambda: f"SKU{rng.randint(100000, 999999)}",
            lambda: f"880{rng.randint(10**9, 10**10 - 1)}",  # EAN-13 of Korean goods
            lambda: f"SM-{rng.choice('SGANF')}{rng.randint(100, 999)}N",
        ]
    )()


def price(rng: random.Random) -> str:
    amount = rng.choice([rng.randint(1, 999) * 100, rng.randint(1, 300) * 1000, rng.randint(1, 50) * 10000])
    return rng.choice(
        [
            f"{amount:,}원",
            f"{amount}원",
            f"₩{amount:,}",
            f"{amount // 10000}만 원" if amount >= 10000 else f"{amount:,}원",
        ]
    )


# --- obfuscation: what users do to identifiers, some of which the normalizer cannot undo -------------


def spaced(value: str, rng: random.Random) -> str:
    return " ".join(ch for ch in value if ch not in "- ")


def hangul_digits(value: str, rng: random.Random) -> str:
    return "".join(_HANGUL_DIGITS[int(ch)] if ch.isdigit() else ch for ch in value)


def fullwidth(value: str, rng: random.Random) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in value)


def zero_width(value: str, rng: random.Random) -> str:
    zw = rng.choice(_ZW)
    return "".join(ch + (zw if rng.random() < 0.5 else "") for ch in value[:-1]) + value[-1]


def dotted(value: str, rng: random.Random) -> str:
    return value.replace("-", rng.choice([".", " - ", "/", "_"]))


def mixed_words(value: str, rng: random.Random) -> str:
    """Some digits in Hangul words, some as digits: the normalizer may leave these half-done."""
    return "".join(_HANGUL_DIGITS[int(ch)] if ch.isdigit() and rng.random() < 0.4 else ch for ch in value)


OBFUSCATIONS = (spaced, hangul_digits, fullwidth, zero_width, dotted, mixed_words)


def obfuscate(value: str, rng: random.Random) -> str:
    return rng.choice(OBFUSCATIONS)(value, rng)


# --- numbers that are not a person's: business ids, organisation lines and mailboxes, masked and test
# values (all safe by LABELLING.md; the model must not read them as P1-P4) -------------------------------

_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def brn_check(first9: str) -> str:
    """사업자등록번호 check digit (국세청 rule): weights 1,3,7,1,3,7,1,3,5 plus the carry of 9th digit x 5."""
    total = sum(int(d) * w for d, w in zip(first9, _BRN_WEIGHTS, strict=True)) + int(first9[8]) * 5 // 10
    return str((10 - total % 10) % 10)


def brn(rng: random.Random) -> str:
    """A 사업자등록번호 NNN-NN-NNNNN: office code 101-899, type code (81-88 법인, 01-79 개인), serial, check."""
    kind = rng.choice(("81", "82", "86", "87", "88", f"{rng.randint(1, 79):02d}"))
    body = f"{rng.randint(101, 899)}{kind}{rng.randint(1, 9999):04d}"
    number = body + brn_check(body)
    sep = rng.choice(("-", "-", "-", "", " "))
    return f"{number[:3]}{sep}{number[3:5]}{sep}{number[5:]}"


def corp_check(first12: str) -> str:
    """법인등록번호 check digit: weights 1,2,1,2,... (products summed as numbers), (10 - sum mod 10) mod 10."""
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def corp_number(rng: random.Random) -> str:
    """A 법인등록번호: 13 digits shaped like an RRN (registry office, corporation type, serial, check)."""
    office = rng.choice(("110111", "110114", "134811", "131111", "180111", "284711", "160111", "124611"))
    body = f"{office}{rng.choice('1234')}{rng.randint(1, 99999):05d}"
    return f"{body[:6]}{rng.choice(('-', '-', ''))}{body[6:]}{corp_check(body)}"


def org_line(rng: random.Random) -> str:
    """An organisation's line, never a person's: toll-free 080, paid 060, 15xx/16xx/18xx main numbers, 015,
    050 virtual numbers and a Seoul or regional main line."""
    n4 = f"{rng.randint(0, 9999):04d}"
    return rng.choice(
        (
            lambda: f"080-{rng.randint(200, 999)}-{n4}",
            lambda: f"080-{rng.randint(2000, 9999)}-{n4}",
            lambda: f"060-{rng.randint(300, 999)}-{n4}",
            lambda: f"015-{rng.randint(200, 999)}-{n4}",
            lambda: f"0505-{rng.randint(100, 999)}-{n4}",
            lambda: f"{rng.choice(('1588', '1577', '1544', '1600', '1661', '1644', '1566', '1899', '1800'))}-{n4}",
            lambda: f"{rng.choice(('1588', '1577', '1544'))}{n4}",
            lambda: f"02-{rng.randint(2000, 3999)}-{rng.choice(('1000', '1114', '0114', '7000', '2000'))}",
            lambda: f"{rng.choice(('031', '051', '053', '042'))}-{rng.randint(200, 999)}-"
            f"{rng.choice(('1000', '0114', '2114'))}",
            lambda: f"({rng.choice(('080', '1588'))}) {rng.randint(100, 999)}-{n4}",
        )
    )()


_ORG_DOMAINS = ("company.co.kr", "shop.co.kr", "hospital.or.kr", "univ.ac.kr", "city.go.kr", "kguard.io",
                "foundation.or.kr", "mall.com", "bank.co.kr", "example.com")
_ROLES = ("help", "privacy", "support", "cs", "info", "contact", "recruit", "noreply", "no-reply", "admin",
          "sales", "dpo", "hr", "webmaster", "billing", "press")


def role_mailbox(rng: random.Random) -> str:
    """A role mailbox of an organisation (help@, privacy@ ...): nobody's personal address."""
    return f"{rng.choice(_ROLES)}@{rng.choice(_ORG_DOMAINS)}"


def masked_phone(rng: random.Random) -> str:
    end = f"{rng.randint(0, 9999):04d}"
    return rng.choice((f"010-****-{end}", f"010-{rng.randint(2, 9)}***-****", f"010-XXXX-{end}",
                       f"010-{rng.randint(20, 99)}**-{end[:2]}**", f"010****{end}", f"***-****-{end}"))


def masked_rrn(rng: random.Random) -> str:
    """An RRN masked beyond the last two back digits (gender digit and maybe a little more): not P1."""
    y, m, d = birth(rng)
    head = f"{y % 100:02d}{m:02d}{d:02d}"
    gender = rng.choice("12") if y < 2000 else rng.choice("34")
    shown = rng.choice((0, 1, 1, 1, 2, 3, 4))  # digits of the back part left visible
    back = (gender + "".join(rng.choice(string.digits) for _ in range(6)))[:shown]
    mask = rng.choice(("*", "*", "X", "x", "●"))
    return f"{head}-{back}{mask * (7 - shown)}"


def rrn_two_masked(rng: random.Random) -> str:
    """An RRN with at most its last two digits masked: still P1 by LABELLING.md."""
    full = "".join(ch for ch in rrn(rng) if ch.isdigit())
    k = rng.choice((1, 2))
    return f"{full[:6]}-{full[6:13 - k]}{rng.choice(('*', 'X')) * k}"


def masked_card(rng: random.Random) -> str:
    end = f"{rng.randint(0, 9999):04d}"
    head = f"{rng.choice(('4', '5'))}{rng.randint(100, 999)}-{rng.randint(10, 99)}**"
    return rng.choice((f"****-****-****-{end}", f"{head}-****-{end}", f"**** **** **** {end}", f"끝자리 {end}"))


# Card numbers published for testing by payment providers (Stripe, Adyen, Toss Payments docs): Luhn-valid,
# yet safe by LABELLING.md.
TEST_CARDS = ("4242 4242 4242 4242", "4242424242424242", "4111 1111 1111 1111", "4111-1111-1111-1111",
              "5555 5555 5555 4444", "4000 0566 5566 5556", "5105 1051 0510 5100", "3782 822463 10005",
              "4012 8888 8888 1881", "6011 1111 1111 1117", "4000 0000 0000 0002")

# Keys and tokens printed in vendors' documentation, and obvious placeholders.
DOC_KEYS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "pk_test_TYooMQauvdEDq54NiTphI7jx", "your-api-key", "YOUR_API_KEY", "<YOUR_TOKEN>", "sk_live_****",
            "sk-...XXXX", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "xoxb-your-bot-token", "$OPENAI_API_KEY",
            "<api-key>", "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq")


def test_card(rng: random.Random) -> str:
    return rng.choice(TEST_CARDS)


def doc_key(rng: random.Random) -> str:
    return rng.choice(DOC_KEYS)


def org_account(rng: random.Random) -> str:
    """An organisation's account as printed in a notice (donations, tuition): a bank and a number, no span."""
    bank_name, number = bank_account(rng)
    return rng.choice((f"{bank_name} {number}", f"{bank_name} {number}", f"{number} ({bank_name})"))


# --- numbers spoken or written in words: what the normalizer cannot (yet) turn into digits -------------

_SINO = "영일이삼사오육칠팔구"


def sino_number(n: int) -> str:
    """A number under 10,000 read in Sino-Korean (5678 -> 오천육백칠십팔; 1 before 천/백/십 is dropped)."""
    if n == 0:
        return "영"
    out = ""
    for unit, word in ((1000, "천"), (100, "백"), (10, "십")):
        q, n = divmod(n, unit)
        if q:
            out += ("" if q == 1 else _SINO[q]) + word
    return out + (_SINO[n] if n else "")


def spoken(value: str, rng: random.Random) -> str:
    """Digits read aloud in Hangul, the way people dictate them: 0 as 공 or 영, groups apart or joined by
    "다시" (the hyphen read aloud) or "에", sometimes a 4-digit group read as a number."""
    groups = [g for g in "".join(ch if ch.isdigit() else " " for ch in value).split() if g]
    zero = rng.choice("공공영")
    as_number = rng.random() < 0.3

    def word(g: str) -> str:
        if as_number and len(g) == 4 and g[0] != "0":
            return sino_number(int(g))
        return "".join(zero if ch == "0" else _HANGUL_DIGITS[int(ch)] for ch in g)

    sep = rng.choice((" ", " ", " 다시 ", "에 ", "-", ", "))
    words = [word(g) for g in groups]
    if len(words) > 1 and rng.random() < 0.2:  # one group left in digits
        i = rng.randrange(len(words))
        words[i] = groups[i]
    return sep.join(words)


_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def words_en(value: str, rng: random.Random) -> str:
    """Digits spelled out in English ("zero one zero, one two three four ..."), 0 sometimes as "oh"."""
    groups = [g for g in "".join(ch if ch.isdigit() else " " for ch in value).split() if g]
    zero = rng.choice(("zero", "zero", "oh"))
    sep = rng.choice((", ", " - ", " dash ", " "))
    return sep.join(" ".join(zero if ch == "0" else _EN_DIGITS[int(ch)] for ch in g) for g in groups)


OBFUSCATIONS = OBFUSCATIONS + (spoken, spoken)
