"""The pseudonymize operator (가명처리): each flagged span becomes a pseudonym kept in a session vault.

Two styles, chosen per category in the policy (`[pseudonymize]`, placeholder by default):
- placeholder: a typed, numbered placeholder, `<PHONE_1>`, `<이름_2>`, `<RRN_1>`;
- fake: a format-preserving fake of the same shape with valid check digits (guard.fakes), a Korean name
  for a Korean name; when no fake fits (or for values too short to find again safely: a card's expiry
  and security code), a placeholder.

Within a session the same value always gets the same pseudonym (numbers compared by their digits, e-mail
addresses case-insensitively), and a pseudonym never occurs in the text it is put into. Every fake also
gets a placeholder of its own (`Entry`'s alias in the vault), so an answer can be brought to one
canonical form before it is checked (guard.restore, `to="placeholder"`).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from guard.fakes import digits_of, make_fake
from guard.taxonomy import SpanType
from guard.vault import Vault
from guard.verdict import PseudonymStyle, Span

__all__ = ["LABELS", "PseudonymStyle", "Pseudonymized", "consistency_key", "label_of", "placeholder",
           "pseudonymize_spans"]


#: The placeholder label of each span type: Korean for what an LLM writes about as words (a name, an
#: address, a birth date), the span type for identifiers.
LABELS: dict[SpanType, str] = {
    SpanType.RRN: "RRN", SpanType.FRN: "FRN", SpanType.PASSPORT: "PASSPORT",
    SpanType.DRIVER_LICENSE: "LICENSE", SpanType.ACCOUNT: "ACCOUNT", SpanType.CARD: "CARD",
    SpanType.PHONE: "PHONE", SpanType.EMAIL: "EMAIL", SpanType.ADDRESS: "주소", SpanType.CREDENTIAL: "SECRET",
    SpanType.PERSON: "이름", SpanType.BIRTH_DATE: "생년월일", SpanType.CARD_EXPIRY: "EXPIRY",
    SpanType.CARD_CVC: "CVC",
}
#: Other spellings of a label that an LLM may write back (translated, the span type, Korean names),
#: read case-insensitively; each maps to its label.
_ALIASES: dict[str, str] = {
    "NAME": "이름", "PERSON": "이름", "성명": "이름", "ADDRESS": "주소", "ADDR": "주소", "BIRTH_DATE": "생년월일",
    "BIRTHDATE": "생년월일", "DOB": "생년월일", "BIRTHDAY": "생년월일", "생일": "생년월일", "전화번호": "PHONE",
    "전화": "PHONE", "휴대폰": "PHONE", "연락처": "PHONE", "TEL": "PHONE", "이메일": "EMAIL", "MAIL": "EMAIL",
    "E_MAIL": "EMAIL", "주민등록번호": "RRN", "주민번호": "RRN", "외국인등록번호": "FRN", "여권번호": "PASSPORT",
    "DRIVER_LICENSE": "LICENSE", "운전면허번호": "LICENSE", "계좌번호": "ACCOUNT", "계좌": "ACCOUNT",
    "카드번호": "CARD", "CREDENTIAL": "SECRET", "PASSWORD": "SECRET", "비밀번호": "SECRET",
    "CARD_EXPIRY": "EXPIRY", "CARD_CVC": "CVC", "CVV": "CVC",
}
#: Every spelling restore reads, folded, to its label.
LABEL_LOOKUP: dict[str, str] = {**{lab.casefold(): lab for lab in LABELS.values()},
                                **{alias.casefold(): lab for alias, lab in _ALIASES.items()}}
_BY_LABEL = {lab: t for t, lab in LABELS.items()}
_DIGIT_TYPES = frozenset({SpanType.RRN, SpanType.FRN, SpanType.PHONE, SpanType.CARD, SpanType.ACCOUNT,
                          SpanType.DRIVER_LICENSE, SpanType.CARD_CVC, SpanType.CARD_EXPIRY})
#: Too short to be found again without touching other text: always a placeholder.
_NO_FAKE = frozenset({SpanType.CARD_CVC, SpanType.CARD_EXPIRY})


def label_of(span_type: SpanType) -> str:
    return LABELS[span_type]


def placeholder(label: str, number: int) -> str:
    return f"<{label}_{number}>"


def consistency_key(span_type: SpanType, value: str) -> str:
    """What makes two values the same for a session: the digits of a number, an address in any case,
    words with their spacing folded."""
    if span_type in _DIGIT_TYPES and digits_of(value):
        return digits_of(value)
    if span_type is SpanType.EMAIL:
        return value.strip().casefold()
    return " ".join(value.split())


@dataclass(frozen=True)
class Pseudonymized:
    """The text with its spans replaced, and how many spans were replaced (by how many new values)."""

    text: str
    replaced: int
    new_values: int


def pseudonymize_spans(text: str, spans: Sequence[Span], vault: Vault,
                       styles: Mapping[str, PseudonymStyle] | None = None, *,
                       rng: random.Random | None = None) -> Pseudonymized:
    """`text` with every span replaced by its session pseudonym.

    Args:
        text: the original text; spans are offsets into it (overlaps: the first one wins).
        spans: the spans to replace (a verdict's spans).
        vault: the session; new pseudonyms are added to it (VaultFullError when it is full).
        styles: category code -> style; a code not listed gets a placeholder.
        rng: the random source of fakes (default: the system's).
    """
    rng = rng or secrets.SystemRandom()
    out: list[str] = []
    cursor = replaced = new = 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start < cursor or span.end <= span.start:
            continue
        kind = SpanType(span.type)
        value = text[span.start:span.end]
        key = consistency_key(kind, value)
        pseudonym = vault.find(kind, key)
        if pseudonym is None:
            style = (styles or {}).get(span.category, PseudonymStyle.PLACEHOLDER)
            pseudonym = _new(kind, key, value, text, vault, PseudonymStyle(style), rng)
            new += 1
        out.append(text[cursor:span.start])
        out.append(pseudonym)
        cursor = span.end
        replaced += 1
    out.append(text[cursor:])
    return Pseudonymized("".join(out), replaced, new)


def _new(kind: SpanType, key: str, value: str, text: str, vault: Vault, style: PseudonymStyle,
         rng: random.Random) -> str:
    label = LABELS[kind]
    alias = _free_placeholder(label, text, vault)
    if style is PseudonymStyle.FAKE and kind not in _NO_FAKE:
        taken = "\n".join([text, *(e.pseudonym for e in vault.entries())])
        fake = make_fake(kind, value, rng, taken)
        if fake is not None and vault.entry(fake) is None:
            vault.add(kind, key, value, fake, PseudonymStyle.FAKE.value, alias=alias)
            return fake
    vault.add(kind, key, value, alias, PseudonymStyle.PLACEHOLDER.value)
    return alias


def _free_placeholder(label: str, text: str, vault: Vault) -> str:
    """The next placeholder of `label` that is neither in the session nor written in the text."""
    while True:
        candidate = placeholder(label, vault.next_number(label))
        if vault.entry(candidate) is None and candidate not in text:
            return candidate


def span_type_of_label(label: str) -> SpanType:
    return _BY_LABEL[label]
