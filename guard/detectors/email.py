"""EmailDetector: 이메일 (e-mail address), span type EMAIL.

Format: RFC 5322's common subset: a local part of letters, digits and ._%+- (up to 64), "@", one to
eight dot-separated domain labels (letters, digits, inner hyphens, up to 63) and an alphabetic top-level
domain of 2-24 letters. Korean particles may follow ("kim@naver.com으로"). What is checked: the shape,
label lengths, no dot at either end or twice in a row of the local part; file names with an "@2x"
density suffix ("icon@2x.png") and the reserved example domains (RFC 2606: example.com, .test,
.invalid, .localhost) are not addresses of anyone. A match is VALID.

Sources: RFC 5321/5322; RFC 2606; presidio `email_recognizer.py`.
"""

from __future__ import annotations

import re

from guard.detectors.base import Match, Validity
from guard.detectors.nonpersonal import is_role_mailbox
from guard.taxonomy import SpanType

__all__ = ["EmailDetector"]

_SHAPE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}([A-Za-z]{2,24}))(?![A-Za-z0-9\-])"
)
_FILE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "pdf", "js", "css",
                        "html", "json", "txt", "zip"})
_RESERVED = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})

SCORE = 0.9


def _plausible(address: str, domain: str, tld: str) -> bool:
    local = address.split("@", 1)[0]
    if local.endswith(".") or ".." in local:
        return False
    domain, tld = domain.lower(), tld.lower()
    if tld in _FILE_TLDS or tld in _RESERVED_TLDS:
        return False
    return not any(domain == d or domain.endswith("." + d) for d in _RESERVED)


class EmailDetector:
    """E-mail addresses."""

    name = "email"
    span_type = SpanType.EMAIL

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for m in _SHAPE.finditer(text):
            if _plausible(m.group(), m.group(1), m.group(2)) and not is_role_mailbox(m.group()):
                out.append(Match(m.start(), m.end(), self.span_type, SCORE, Validity.VALID, self.name))
        return out
