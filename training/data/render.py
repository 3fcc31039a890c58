"""Template rendering: slots filled with values, Korean particles fitted to them, spans recorded.

A template such as "{name|은} {diag} 진단을 받았어" becomes a text and a list of (start, end, SpanType)
for every inserted identifier or name, so token labels can be derived from character offsets.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date

from faker import Faker

from guard.taxonomy import SpanType
from training.data import values as V
from training.data.pools import POOLS

# Fixed, not relative to today (Faker's "-2y"): the same seed must write the same rows on any day.
DATE_RANGE = (date(2024, 12, 1), date(2027, 12, 1))
SLOT = re.compile(r"\{([a-z_0-9]+)(?:\|([^}]+))?\}")

# particle written in the template -> (after a final consonant, after a vowel)
_JOSA = {}
for _pair in (
    ("은", "는"),
    ("이", "가"),
    ("을", "를"),
    ("과", "와"),
    ("으로", "로"),
    ("이에요", "예요"),
    ("아", "야"),
    ("이랑", "랑"),
    ("이고", "고"),
    ("이라고", "라고"),
    ("이나", "나"),
    ("이라서", "라서"),
):
    _JOSA[_pair[0]] = _JOSA[_pair[1]] = _pair

# how digits and Latin letters are read aloud: does the reading end in a consonant (and is it ㄹ)?
_DIGIT_FINAL = {
    "0": "ㅇ",
    "1": "ㄹ",
    "2": "",
    "3": "ㅁ",
    "4": "",
    "5": "",
    "6": "ㄱ",
    "7": "ㄹ",
    "8": "ㄹ",
    "9": "",
}


def final_consonant(word: str) -> str:
    """'' when the word's last sound is a vowel, 'ㄹ' for ㄹ, else 'x' (or the digit's final)."""
    for ch in reversed(word):
        o = ord(ch)
        if 0xAC00 <= o <= 0xD7A3:
            jong = (o - 0xAC00) % 28
            return "" if jong == 0 else ("ㄹ" if jong == 8 else "x")
        if ch in _DIGIT_FINAL:
            return _DIGIT_FINAL[ch]
        if ch.isalpha():
            return "ㄹ" if ch.lower() == "l" else ("x" if ch.lower() in "mnkbpt" else "")
    return ""


def josa(word: str, particle: str) -> str:
    """The form of `particle` that fits after `word` (으로/로 also after ㄹ)."""
    pair = _JOSA.get(particle)
    if pair is None:
        return particle
    final = final_consonant(word)
    if pair[0] == "으로":
        return "로" if final in ("", "ㄹ") else "으로"
    return pair[0] if final else pair[1]


Segment = tuple[str, "SpanType | None"]

_SPEAKER_KO = (
    "저",
    "나",
    "제가 아는 사람",
    "저희 엄마",
    "우리 아빠",
    "제 남편",
    "제 아내",
    "내 동생",
    "제 딸",
    "우리 아들",
    "제 여자친구",
    "내 남자친구",
    "우리 할머니",
)
_HONORIFIC = (" 씨", " 님", " 대리", " 과장", " 팀장", " 선생님", "", " 주임", " 교수")


@dataclass
class Filler:
    """Fills slots for one row: same slot name -> same value within the row."""

    rng: random.Random
    fake: Faker
    fake_en: Faker
    cache: dict[str, list[Segment]] = field(default_factory=dict)

    def person(self) -> str:
        name = self.fake.name()
        return name if self.rng.random() < 0.93 else name[0] + " " + name[1:]

    def who(self) -> list[Segment]:
        if self.rng.random() < 0.45:
            return [(self.rng.choice(_SPEAKER_KO), None)]
        if self.rng.random() < 0.2:
            rel = self.rng.choice(
                ("옆집 아저씨", "우리 팀장님", "같은 반 친구", "전 남친", "시어머니", "동창")
            )
            return [(rel + " ", None), (self.person(), SpanType.PERSON)]
        return [(self.person(), SpanType.PERSON), (self.rng.choice(_HONORIFIC), None)]

    def value(self, slot: str) -> list[Segment]:
        rng, fake = self.rng, self.fake
        simple: dict[str, tuple[object, SpanType | None]] = {
            "name": (self.person, SpanType.PERSON),
            "name2": (self.person, SpanType.PERSON),
            "ename": (
                lambda: self.fake_en.name() if rng.random() < 0.5 else _roman_name(rng),
                SpanType.PERSON,
            ),
            "rrn": (lambda: V.rrn(rng), SpanType.RRN),
            "rrn2": (lambda: V.rrn(rng), SpanType.RRN),
            "frn": (lambda: V.frn(rng), SpanType.FRN),
            "passport": (lambda: V.passport(rng), SpanType.PASSPORT),
            "dl": (lambda: V.driver_license(rng), SpanType.DRIVER_LICENSE),
            "account": (lambda: V.account(rng), SpanType.ACCOUNT),
            "card": (lambda: V.card(rng), SpanType.CARD),
            "phone": (lambda: V.mobile(rng), SpanType.PHONE),
            "homephone": (lambda: V.home_phone(rng), SpanType.PHONE),
            "email": (lambda: V.email(rng, fake), SpanType.EMAIL),
            "addr": (lambda: V.address(rng, fake), SpanType.ADDRESS),
            "pw": (lambda: V.password(rng), SpanType.CREDENTIAL),
            "pin": (lambda: V.pin(rng), SpanType.CREDENTIAL),
            "apikey": (lambda: V.api_key(rng), SpanType.CREDENTIAL),
            "bday": (lambda: V.birth_date(rng), SpanType.BIRTH_DATE),
            "ebday": (lambda: V.birth_date_en(rng), SpanType.BIRTH_DATE),
            "bank": (lambda: V.bank(rng), None),
            "cvc": (lambda: V.cvc(rng), None),
            "expiry": (lambda: V.expiry(rng), None),
            "order": (lambda: V.order_number(rng), None),
            "product": (lambda: V.product_code(rng), None),
            "price": (lambda: V.price(rng), None),
            "bizline": (lambda: V.business_line(rng), None),
            "date": (
                lambda: fake.date_between(*DATE_RANGE).strftime(
                    rng.choice(["%Y-%m-%d", "%m월 %d일", "%Y.%m.%d"])
                ),
                None,
            ),
            "name_roman": (lambda: _roman_name(rng).replace(" ", "_").lower(), None),
            # not a person's data (safe by LABELLING.md): no span, so the model learns they are not P1-P4
            "brn": (lambda: V.brn(rng), None),
            "corpno": (lambda: V.corp_number(rng), None),
            "orgline": (lambda: V.org_line(rng), None),
            "deptline": (lambda: V.home_phone(rng), None),  # an office's direct line: an area-code number
            "rolemail": (lambda: V.role_mailbox(rng), None),
            "mphone": (lambda: V.masked_phone(rng), None),
            "mrrn": (lambda: V.masked_rrn(rng), None),
            "mcard": (lambda: V.masked_card(rng), None),
            "testcard": (lambda: V.test_card(rng), None),
            "dockey": (lambda: V.doc_key(rng), None),
            "orgacct": (lambda: V.org_account(rng), None),
            "bizaddr": (lambda: fake.street_address(), None),  # a shop's or office's public address
            # still P1: at most two back digits masked
            "rrn_m2": (lambda: V.rrn_two_masked(rng), SpanType.RRN),
            # identifiers read aloud in Hangul or spelled in English words
            "phone_ko": (lambda: V.spoken(V.mobile(rng), rng), SpanType.PHONE),
            "rrn_ko": (lambda: V.spoken(V.rrn(rng), rng), SpanType.RRN),
            "acct_ko": (lambda: V.spoken(V.bank_account(rng)[1], rng), SpanType.ACCOUNT),
            "card_ko": (lambda: V.spoken(V.card(rng), rng), SpanType.CARD),
            "phone_en": (lambda: V.words_en(V.mobile(rng), rng), SpanType.PHONE),
            "rrn_en": (lambda: V.words_en(V.rrn(rng), rng), SpanType.RRN),
            "acct_en": (lambda: V.words_en(V.bank_account(rng)[1], rng), SpanType.ACCOUNT),
        }
        if slot == "who":
            return self.who()
        if slot == "bankacct":  # a bank name and a number of that bank's shape, as people write them
            bank, number = V.bank_account(rng)
            style = rng.randrange(6)
            if style == 0:
                return [(number, SpanType.ACCOUNT), (f" ({bank})", None)]
            if style == 1:
                return [(number, SpanType.ACCOUNT), (f" {bank}", None)]
            sep = (" ", "", " 계좌 ", " / ")[style - 2]
            return [(bank + sep, None), (number, SpanType.ACCOUNT)]
        if slot == "acctno":  # a number alone, in a real bank's shape
            return [(V.bank_account(rng)[1], SpanType.ACCOUNT)]
        if slot in simple:
            make, span = simple[slot]
            return [(make(), span)]  # type: ignore[operator]
        if slot in POOLS:
            return [(rng.choice(POOLS[slot]), None)]
        raise KeyError(f"unknown template slot {slot}")

    def fill(self, slot: str) -> list[Segment]:
        if slot not in self.cache:
            self.cache[slot] = self.value(slot)
        return self.cache[slot]


def _roman_name(rng: random.Random) -> str:
    return f"{rng.choice(V._ROMAN).capitalize()} {rng.choice(V._GIVEN).capitalize()}"


@dataclass(frozen=True)
class Rendered:
    """A text with (start, end, span type) spans; `obfuscated` when an identifier was written obfuscated."""

    text: str
    spans: tuple[tuple[int, int, str], ...]
    obfuscated: bool = False


#: subjects for "@S@" in fact templates: the speaker, a relation, or a named person
SUBJECTS = ("저", "제가", "나", "내가", "저희 엄마가", "우리 아빠", "제 동생", "제 남편이", "제 아내가", "친구가",
            "{name} 씨", "{name} 씨가", "{name} 님", "{name} 팀장님", "옆자리 {name} 대리", "우리 반 {name}",
            "{name}", "{name} 과장이", "거래처 {name} 부장님", "동생 친구 {name}")


DROPPED_SUBJECT = 0.25


def render(template: str, filler: Filler, obfuscate: bool = False) -> Rendered:
    """Fill a template. With `obfuscate`, the first identifier span is written in an obfuscated form."""
    if "@S@" in template:
        # Korean drops the subject: a quarter of the facts are said with none (the speaker's own)
        subject = "" if filler.rng.random() < DROPPED_SUBJECT else filler.rng.choice(SUBJECTS)
        template = template.replace("@S@ ", subject + " " if subject else "").replace("@S@", subject)
    out: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    length = 0
    pending_obf = obfuscate
    spelled = False
    for m in SLOT.finditer(template):
        literal = template[pos : m.start()]
        out.append(literal)
        length += len(literal)
        segments = filler.fill(m.group(1))
        spelled = spelled or m.group(1) in _SPELLED
        last = ""
        for text, span in segments:
            # a value already read aloud in words has no digits left to obfuscate
            if pending_obf and span in _OBFUSCABLE and any(c.isdigit() for c in text):
                text = V.obfuscate(text, filler.rng)
                pending_obf = False
            if span is not None:
                spans.append((length, length + len(text), span.value))
            out.append(text)
            length += len(text)
            last = text or last
        if m.group(2):
            suffix = josa(last, m.group(2))
            out.append(suffix)
            length += len(suffix)
        pos = m.end()
    out.append(template[pos:])
    return Rendered("".join(out), tuple(spans), (obfuscate and not pending_obf) or spelled)


# slots whose identifier is written in words: the row counts as obfuscated
_SPELLED = {"phone_ko", "rrn_ko", "acct_ko", "card_ko", "phone_en", "rrn_en", "acct_en"}

_OBFUSCABLE = {
    SpanType.RRN,
    SpanType.FRN,
    SpanType.DRIVER_LICENSE,
    SpanType.ACCOUNT,
    SpanType.CARD,
    SpanType.PHONE,
    SpanType.PASSPORT,
}


# --- "real users' typing": noise outside the labelled spans ------------------------------------------

_TAILS_KO = (" ㅋㅋ", "ㅋㅋㅋ", "ㅋㅋㅋㅋ", " ㅎㅎ", "ㅎㅎ", "ㅠㅠ", " ㅠㅠ", "ㅜㅜ", " ㅠ", "~", "~~", "!!", "!!!",
             "..", "...", " 😂", " 😭", " 🙏", " 🥲", "?", " ㅇㅇ", " ㄱㄱ", " 헐", "ㅠㅠㅠ", " 👍")
_TAILS_EN = (" lol", "!!", " 🙏", "...", " 😂", " pls", "?", " thx", " haha")
# casual endings: (pattern, replacements); applied to text outside spans only
_ENDINGS_KO: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("습니다[.]?", ("습니당", "슴다", "습니다~")),
    ("세요[.]?", ("세용", "세여", "셈", "세요~")),
    ("해요[.]?", ("해여", "해용", "함", "해요~")),
    ("어요[.]?", ("어여", "어용", "어요~")),
    ("아요[.]?", ("아여", "아용")),
    ("이에요[.]?", ("이에여", "임", "이에용")),
    ("예요[.]?", ("예여", "임", "에요")),
    ("거든요", ("거든여", "거든")),
    ("네요", ("네여", "네용")),
    ("할까요", ("할까여", "할까용")),
    ("[.]$", ("", "~", "!")),
    ("[.] ", (" ", "~ ", "\n", ".. ")),
    ("[?]", ("??", "?ㅠ", "?!")),
    ("그런데", ("근데", "근데")),
    ("그래서", ("그래서ㅋㅋ", "그래서")),
    ("너무", ("넘", "너무너무")),
)
_HANGUL = re.compile(r"[가-힣]")


def typing_noise(r: Rendered, rng: random.Random, lang: str, casual: bool = True) -> Rendered:
    """Rewrite `r` the way people really type (spacing dropped or added, casual endings, line breaks,
    ㅋㅋ/ㅠㅠ/emoji tails) without touching a character inside a span; spans are recomputed.

    `casual=False` (an assistant's answer) keeps to light spacing slips and line breaks."""
    chars = list(r.text)
    owner = [-1] * len(chars)  # index of the span a character belongs to, -1 outside
    for k, (s, e, _) in enumerate(r.spans):
        for i in range(s, e):
            owner[i] = k

    def free(i: int, j: int) -> bool:  # chars[i:j] all outside spans
        return all(o < 0 for o in owner[i:j])

    def can_insert(i: int) -> bool:  # inserting before position i does not split a span
        return not (0 < i < len(chars) and owner[i - 1] >= 0 and owner[i - 1] == owner[i])

    def replace(i: int, j: int, new: str) -> None:
        chars[i:j] = list(new)
        owner[i:j] = [-1] * len(new)

    def text() -> str:
        return "".join(chars)

    if lang == "ko":
        # 띄어쓰기 dropped between Hangul syllables, at a per-row rate (an answer only now and then, lightly)
        if rng.random() < (0.6 if casual else 0.3):
            rate = rng.choice((0.25, 0.5, 0.8, 1.0)) if casual else 0.2
            for i in range(len(chars) - 2, 0, -1):
                if (chars[i] == " " and owner[i] < 0 and _HANGUL.match(chars[i - 1]) and _HANGUL.match(chars[i + 1])
                        and rng.random() < rate):
                    replace(i, i + 1, "")
        if rng.random() < 0.15:  # a stray space inside a word
            cands = [i for i in range(1, len(chars)) if _HANGUL.match(chars[i - 1]) and _HANGUL.match(chars[i])
                     and can_insert(i)]
            if cands:
                i = rng.choice(cands)
                replace(i, i, " ")
        if casual and rng.random() < 0.5:  # one casual ending or contraction
            pattern, repls = rng.choice(_ENDINGS_KO)
            hits = [m for m in re.finditer(pattern, text()) if free(m.start(), m.end())]
            if hits:
                m = rng.choice(hits)
                replace(m.start(), m.end(), rng.choice(repls))
    elif rng.random() < 0.3 and chars and owner[0] < 0:
        replace(0, 1, chars[0].lower())
    if rng.random() < 0.25:  # a line break or two after a sentence or a comma
        hits = [m for m in re.finditer(r"[.?!,~] ", text()) if free(m.start(), m.end())]
        for m in sorted(rng.sample(hits, min(len(hits), rng.choice((1, 2)))), key=lambda m: -m.start()):
            replace(m.end() - 1, m.end(), rng.choice(("\n", "\n", "\n\n")))
    if casual and rng.random() < 0.55:  # a tail
        if chars and chars[-1] == "." and owner[-1] < 0 and rng.random() < 0.7:
            replace(len(chars) - 1, len(chars), "")
        tail = rng.choice(_TAILS_KO if lang == "ko" else _TAILS_EN)
        replace(len(chars), len(chars), tail)
    spans = []
    for k, (_, _, kind) in enumerate(r.spans):
        idx = [i for i, o in enumerate(owner) if o == k]
        spans.append((idx[0], idx[-1] + 1, kind))
    return Rendered(text(), tuple(spans), r.obfuscated)


def join(parts: list[Rendered], seps: list[str]) -> Rendered:
    """Concatenate rendered parts with separators, shifting spans."""
    text, spans = "", []
    for i, part in enumerate(parts):
        if i:
            text += seps[i - 1]
        spans.extend((s + len(text), e + len(text), t) for s, e, t in part.spans)
        text += part.text
    return Rendered(text, tuple(spans))
