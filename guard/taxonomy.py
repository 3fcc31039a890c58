"""The taxonomy: categories P1-P5 (personal data) and S1-S9 (PIPA sensitive data), span types, roles.

This is the single place where category codes and span types are spelled out; every other module
imports them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from guard.errors import InputError


@dataclass(frozen=True)
class CategoryInfo:
    """What one category covers, for people and for the API."""

    code: str
    id: str
    name_ko: str
    name_en: str
    pipa_basis: str
    description: str


class Category(str, Enum):
    """A category code. The value is the code ("P1"); `info` has the rest."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4 = "S4"
    S5 = "S5"
    S6 = "S6"
    S7 = "S7"
    S8 = "S8"
    S9 = "S9"

    @property
    def info(self) -> CategoryInfo:
        return _INFO[self.value]

    @property
    def sensitive(self) -> bool:
        """True for PIPA Art. 23 sensitive data (S1-S9)."""
        return self.value.startswith("S")


_ART24 = "PIPA Art. 24 (고유식별정보), Art. 24-2 (주민등록번호)"
_ART15 = "PIPA Art. 2, 15 (개인정보)"
_ART23 = "PIPA Art. 23 (민감정보)"
_ART23_ENF = "PIPA Art. 23, Enforcement Decree Art. 18 (민감정보)"

CATEGORIES: tuple[CategoryInfo, ...] = (
    CategoryInfo("P1", "unique_id", "고유식별정보", "Unique identifiers", _ART24,
                 "주민등록번호, 외국인등록번호, 여권번호, 운전면허번호"),
    CategoryInfo("P2", "financial", "금융정보", "Financial information", _ART15,
                 "bank account numbers, card numbers, CVC and expiry"),
    CategoryInfo("P3", "contact", "연락처·주소", "Contact details and address", _ART15,
                 "personal phone numbers, personal e-mail, detailed home address"),
    CategoryInfo("P4", "credential", "인증정보", "Credentials", _ART15,
                 "passwords, PINs, OTP codes, API keys and tokens, private keys"),
    CategoryInfo("P5", "profile", "신상정보", "Personal profile", _ART15,
                 "a private person's identifying profile (name with birth date, workplace, school, "
                 "family, whereabouts); doxxing (신상털기)"),
    CategoryInfo("S1", "health", "건강", "Health", _ART23,
                 "diagnoses, mental health, medication, disability, pregnancy"),
    CategoryInfo("S2", "sex_life", "성생활·성적지향", "Sex life and sexual orientation", _ART23,
                 "sex life, sexual orientation"),
    CategoryInfo("S3", "political", "정치적 견해", "Political opinions", _ART23,
                 "political opinions"),
    CategoryInfo("S4", "membership", "노동조합·정당", "Union or party membership", _ART23,
                 "joining or leaving a union or party"),
    CategoryInfo("S5", "belief", "사상·신념", "Beliefs", _ART23,
                 "religion, beliefs, philosophy"),
    CategoryInfo("S6", "genetic", "유전정보", "Genetic information", _ART23_ENF,
                 "genetic test results, hereditary traits"),
    CategoryInfo("S7", "criminal", "범죄경력", "Criminal records", _ART23_ENF,
                 "criminal records, convictions, sentences"),
    CategoryInfo("S8", "biometric", "생체인식정보", "Biometric data", _ART23_ENF,
                 "fingerprint, face, iris, voice data used to identify"),
    CategoryInfo("S9", "race_ethnicity", "인종·민족", "Race and ethnicity", _ART23_ENF,
                 "race, ethnicity"),
)
_INFO = {c.code: c for c in CATEGORIES}
_BY_ID = {c.id: c.code for c in CATEGORIES}

#: Category codes in their canonical order (the order of the model's category output).
CATEGORY_CODES: tuple[str, ...] = tuple(c.code for c in CATEGORIES)


class SpanType(str, Enum):
    """What a span is. Detectors and the model's token tags use these names."""

    RRN = "RRN"                        # 주민등록번호
    FRN = "FRN"                        # 외국인등록번호
    PASSPORT = "PASSPORT"              # 여권번호
    DRIVER_LICENSE = "DRIVER_LICENSE"  # 운전면허번호
    ACCOUNT = "ACCOUNT"                # 계좌번호
    CARD = "CARD"                      # 카드번호
    PHONE = "PHONE"                    # 전화번호
    EMAIL = "EMAIL"                    # 이메일
    ADDRESS = "ADDRESS"                # 주소
    CREDENTIAL = "CREDENTIAL"          # 비밀번호, PIN, OTP, API 키
    PERSON = "PERSON"                  # 사람 이름
    BIRTH_DATE = "BIRTH_DATE"          # 생년월일
    CARD_EXPIRY = "CARD_EXPIRY"        # 카드 유효기간 (next to a card number; detectors only)
    CARD_CVC = "CARD_CVC"              # 카드 보안코드 CVC/CVV (next to a card number; detectors only)

    @property
    def category(self) -> Category:
        return SPAN_CATEGORY[self]

    @property
    def name_ko(self) -> str:
        return _SPAN_NAME_KO[self]


SPAN_CATEGORY: dict[SpanType, Category] = {
    SpanType.RRN: Category.P1,
    SpanType.FRN: Category.P1,
    SpanType.PASSPORT: Category.P1,
    SpanType.DRIVER_LICENSE: Category.P1,
    SpanType.ACCOUNT: Category.P2,
    SpanType.CARD: Category.P2,
    SpanType.PHONE: Category.P3,
    SpanType.EMAIL: Category.P3,
    SpanType.ADDRESS: Category.P3,
    SpanType.CREDENTIAL: Category.P4,
    SpanType.PERSON: Category.P5,
    SpanType.BIRTH_DATE: Category.P5,
    SpanType.CARD_EXPIRY: Category.P2,
    SpanType.CARD_CVC: Category.P2,
}

_SPAN_NAME_KO: dict[SpanType, str] = {
    SpanType.RRN: "주민등록번호",
    SpanType.FRN: "외국인등록번호",
    SpanType.PASSPORT: "여권번호",
    SpanType.DRIVER_LICENSE: "운전면허번호",
    SpanType.ACCOUNT: "계좌번호",
    SpanType.CARD: "카드번호",
    SpanType.PHONE: "전화번호",
    SpanType.EMAIL: "이메일",
    SpanType.ADDRESS: "주소",
    SpanType.CREDENTIAL: "인증정보",
    SpanType.PERSON: "이름",
    SpanType.BIRTH_DATE: "생년월일",
    SpanType.CARD_EXPIRY: "카드 유효기간",
    SpanType.CARD_CVC: "카드 보안코드",
}

#: Span types only the detectors report (found next to a card number the detector validated); the
#: model has no tags for them.
DETECTOR_SPAN_TYPES: frozenset[SpanType] = frozenset({SpanType.CARD_EXPIRY, SpanType.CARD_CVC})
#: Span types the model tags, in SpanType order.
MODEL_SPAN_TYPES: tuple[SpanType, ...] = tuple(t for t in SpanType if t not in DETECTOR_SPAN_TYPES)
#: The model's token tags: "O" then B-/I- for every span type the model tags, in SpanType order.
TAGS: tuple[str, ...] = ("O",) + tuple(f"{p}-{t.value}" for t in MODEL_SPAN_TYPES for p in ("B", "I"))


class Role(str, Enum):
    """Whose message is judged (Llama Guard's convention)."""

    USER = "user"            # a prompt going into the model
    ASSISTANT = "assistant"  # an answer coming out, judged with the prompt before it as context


def parse_category(value: str) -> Category:
    """Accept a code ("S1") or an id ("health"), case-insensitive; raise InputError otherwise."""
    key = value.strip()
    if key.upper() in _INFO:
        return Category(key.upper())
    if key.lower() in _BY_ID:
        return Category(_BY_ID[key.lower()])
    raise InputError(f"unknown category (expected one of {', '.join(CATEGORY_CODES)} or their ids)")


def parse_role(value: str) -> Role:
    """Accept "user" or "assistant"; raise InputError otherwise."""
    try:
        return Role(value.strip().lower())
    except (ValueError, AttributeError):
        raise InputError("unknown role (expected 'user' or 'assistant')") from None


__all__ = ["CATEGORIES", "CATEGORY_CODES", "DETECTOR_SPAN_TYPES", "MODEL_SPAN_TYPES", "SPAN_CATEGORY", "TAGS",
           "Category", "CategoryInfo", "Role", "SpanType", "parse_category", "parse_role"]
