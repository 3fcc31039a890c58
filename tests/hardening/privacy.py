"""Planted markers for the privacy tests, and the search that proves none of them leaked.

SECRETS are personal data the guard masks (a valid RRN, a Luhn-valid card number, a mobile number, an
e-mail address, a password) plus the HMAC key: they may appear nowhere but in the caller's own input,
not even in an answer (answers carry them masked). WORDS are plain text that is not personal data: an
answer or a scrubbed output file may carry them back, a log line, metric, error message or any other
file may not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

RRN = "820315-2773166"
CARD = "5391-7731-0428-0001"
PHONE = "010-7731-4298"
EMAIL = "zq7731marker@naver.com"
PASSWORD = "Zq7731!mk"
HMAC_KEY = "hmac-key-QZX7731-do-not-log"
WORD = "QZXWORDMARK"
WORD_KO = "쿼즈마커"

#: What must never be seen outside the caller's input (the masked forms keep neither).
SECRETS = ("2773166", "7731-0428", "7731-4298", "01077314298", "zq7731marker", PASSWORD, HMAC_KEY)
#: What may come back in an answer but must stay out of logs, metrics, errors and side files.
WORDS = (WORD, WORD_KO)

#: One sentence carrying every marker, the input most tests send.
TEXT = (f"{WORD} {WORD_KO} 주민번호 {RRN} 카드 {CARD} 입니다 연락처 {PHONE} 메일 {EMAIL} "
        f"password: {PASSWORD} 끝")


def _forms(marker: str) -> set[str]:
    """The marker as text, and as repr() or a log might escape it."""
    forms = {marker, marker.encode("unicode_escape").decode("ascii")}
    forms.add(str(marker.encode("utf-8"))[2:-1])  # b'\xec\xbf...' as printed
    return forms | {f.replace("\\", "\\\\") for f in forms}  # and escaped once more by a repr()


def leaks(blob: str, markers: Iterable[str]) -> list[str]:
    """The markers (in any of their printed forms) found in `blob`."""
    return sorted({m for m in markers for form in _forms(m) if form in blob})


def assert_clean(blobs: Iterable[tuple[str, str]], *, words: bool = True) -> None:
    """Fail naming every (where, marker) pair found; `words=False` checks only SECRETS."""
    markers = (*SECRETS, *WORDS) if words else SECRETS
    found = [(where, m) for where, blob in blobs for m in leaks(blob, markers)]
    assert not found, f"markers leaked: {found}"


def files_under(root: Path, *, skip: Iterable[Path] = ()) -> Iterator[tuple[str, str]]:
    """(path, content) for every file under `root`, binary content decoded leniently."""
    skipped = {p.resolve() for p in skip}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.resolve() not in skipped:
            yield str(path), path.read_bytes().decode("utf-8", "backslashreplace")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # format() renders the message with its args, exception text and stack: all a handler could write.
        self.lines.append(self.format(record))


@contextmanager
def debug_logs() -> Iterator[list[str]]:
    """Every log record of every logger at DEBUG, formatted, while the block runs."""
    root = logging.getLogger()
    handler = _Collect()
    old = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
