"""SecretDetector: 인증정보 (passwords, PINs, OTP codes, API keys, private keys), span type CREDENTIAL.

Two kinds of evidence:
- a keyword (비밀번호, 비번, 패스워드, 암호, password, pw, PIN, 핀번호, OTP, 인증번호 ...) followed within a
  few characters (spaces, ":", "=", "is", a particle such as "는") by a value: 4-64 non-space ASCII
  characters that hold a digit or a symbol, or any such value after an explicit ":" or "=". Only the
  value is the span. "비밀번호를 잊어버렸어요" has no value and is not reported; neither are
  placeholders such as "****" or "xxxx".
- a well-known key shape: AWS access key ids (AKIA/ASIA + 16), GitHub tokens (ghp_/gho_/ghu_/ghs_/ghr_
  + 36, github_pat_), OpenAI and Anthropic keys (sk-...), Stripe live keys, Slack tokens (xox?-),
  Google API keys (AIza + 35), JSON Web Tokens, and PEM private keys (the whole block when its END
  line is there, else the BEGIN line).
Nothing here has a check that we can run, so matches are UNVERIFIABLE; key shapes score higher.

Sources: GitHub secret scanning patterns; gitleaks and detect-secrets rule sets (shapes only); RFC 7468
(PEM), RFC 7519 (JWT).
"""

from __future__ import annotations

import re

from guard.chars import VISIBLE_ASCII
from guard.detectors.base import Match, Validity
from guard.taxonomy import SpanType

__all__ = ["SecretDetector", "open_private_key"]

_KEYWORDS = ("비밀번호", "비번", "패스워드", "암호", "password", "passwd", "passcode", "pwd", "pw",
             "PIN", "핀번호", "OTP", "인증번호", "보안카드", "보안코드", "인증코드", "verification code")
_KW = "|".join(re.escape(k) for k in sorted(_KEYWORDS, key=len, reverse=True))
# keyword, then glue of bounded length, then the value (ASCII, no spaces).
_KEYWORD_VALUE = re.compile(
    r"(?<![A-Za-z])(?:" + _KW + r")(?![A-Za-z])"
    r"(?:[ \t]{0,2}(?:번호|number|code|코드))?"
    r"[ \t]{0,2}(?P<assign>[:=]|is|was|는|은|이|가)?[ \t]{0,2}[\"'`]?"
    r"(?P<value>[" + VISIBLE_ASCII + r"]{4,64})",
    re.IGNORECASE,
)
_SYMBOL_OR_DIGIT = re.compile(r"[0-9!@#$%^&*()_+\-=\[\]{};:'\",.<>/?\\|`~]")
_PLACEHOLDER = re.compile(r"[*xX•#?._-]+|\.{3}|<[^<>]{0,60}>|\{[^{}]{0,60}\}")
_TRAILING = ",;)]}'\"`"  # closing marks around a value, not part of it

_KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:AKIA|ASIA)[A-Z0-9]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36}"
    r"|github_pat_[A-Za-z0-9_]{60,100}"
    r"|sk-(?:proj-|ant-[a-z0-9]{2,8}-)?[A-Za-z0-9_\-]{20,200}"
    r"|[sr]k_live_[A-Za-z0-9]{20,100}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,200}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|eyJ[A-Za-z0-9_\-]{8,2000}\.eyJ[A-Za-z0-9_\-]{8,4000}\.[A-Za-z0-9_\-]{8,1000}"
    r")(?![A-Za-z0-9_\-])"
)
_PEM = re.compile(r"-----BEGIN (?P<kind>[A-Z]{1,12} )?PRIVATE KEY-----")
_PEM_BODY_MAX = 16_000

VALUE_SCORE = 0.8
KEY_SCORE = 0.95


def _value_span(m: re.Match[str]) -> tuple[int, int] | None:
    value = m.group("value").rstrip(_TRAILING)
    start = m.start("value")
    if len(value) < 4 or _PLACEHOLDER.fullmatch(value):
        return None
    if m.group("assign") not in (":", "=") and not _SYMBOL_OR_DIGIT.search(value):
        return None  # "password is required": a word, not a value
    return start, start + len(value)


def _pem_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _PEM.finditer(text):
        end_line = "-----END " + (m.group("kind") or "") + "PRIVATE KEY-----"
        stop = text.find(end_line, m.end(), m.end() + _PEM_BODY_MAX)
        spans.append((m.start(), stop + len(end_line) if stop >= 0 else m.end()))
    return spans


def open_private_key(text: str) -> int | None:
    """Where a private key block opens in `text` with no END line after it yet, or None: a stream holds
    it back from there, since the detector masks the whole block only once its END line is in."""
    lo = max(0, len(text) - _PEM_BODY_MAX - 64)  # a BEGIN line further back masks no more than itself
    begin = text.rfind("-----BEGIN ", lo)
    m = _PEM.match(text, begin) if begin >= 0 else None
    if m is None:
        return None
    end_line = "-----END " + (m.group("kind") or "") + "PRIVATE KEY-----"
    return None if end_line in text[m.end():] else begin


class SecretDetector:
    """Passwords, PINs and OTP codes after their keyword; API keys, tokens and private keys by shape."""

    name = "secret"
    span_type = SpanType.CREDENTIAL

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for m in _KEYWORD_VALUE.finditer(text):
            span = _value_span(m)
            if span:
                out.append(self._match(span, VALUE_SCORE))
        for m in _KEY_SHAPES.finditer(text):
            if re.search(r"[0-9]", m.group()):  # a real key mixes digits in; "sk-long-english-words" no
                out.append(self._match(m.span(), KEY_SCORE))
        out.extend(self._match(span, KEY_SCORE) for span in _pem_spans(text))
        return out

    def _match(self, span: tuple[int, int], score: float) -> Match:
        return Match(span[0], span[1], self.span_type, score, Validity.UNVERIFIABLE, self.name)
