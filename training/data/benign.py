"""Benign real text found offline on the machine: Korean software translations (gettext .mo files),
the Korean vim tutor and systemd catalog, and their English originals; and the corpora konlpy ships in
its wheel (the Constitution of Korea, ten National Assembly bills), which speak of political parties,
unions, religion and health in general terms: hard negatives written by nobody on the team.

Nobody on the team wrote these, so they are the closest thing to real Korean text without a network.
They are all negatives (no personal data). Sources that are missing are skipped: CI may have none.
"""

from __future__ import annotations

import gettext
import logging
import re
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

_MO_GLOBS = ("/usr/share/locale/ko/LC_MESSAGES/*.mo", "/usr/share/locale-langpack/ko/LC_MESSAGES/*.mo")
_PLAIN_KO = ("/usr/share/vim/vim90/tutor/tutor.ko.utf-8", "/usr/lib/systemd/catalog/systemd.ko.catalog")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# strings with these look like contact data or code; leave them out so no negative carries an identifier
_SKIP = re.compile(r"@|https?:|www\.|\d{3,}[-.]\d{3,}|%\d|\\x")
_PRINTF = re.compile(r"%(?:\d+\$)?[-+ #0]*\d*(?:\.\d+)?[hlLqjzt]*[sdiouxXfgceEp%]")


# konlpy 0.6.0 (GPLv3 code; the corpora are public documents of the Republic of Korea), fetched like the
# base model's wheels by `python -m training.generate`
KONLPY = ("konlpy==0.6.0", "konlpy-0.6.0-", "0b7928059e20eb1c72f6fe65a3d12c104fae9e68173904e16beef869cf0ea590")
_KONLPY_CORPORA = {"konlpy:kolaw": "konlpy/data/corpus/kolaw/", "konlpy:kobill": "konlpy/data/corpus/kobill/"}
_SENTENCE_END = re.compile(r"(?<=[다음함임요])[.]\s+")
WHEELS = Path(__file__).resolve().parent.parent / "work" / "wheels"


def _clean(text: str) -> str:
    text = _PRINTF.sub(lambda m: "%" if m.group(0) == "%%" else "{}", text)
    return re.sub(r"\s+", " ", text.replace("&", "").replace("_", "")).strip()


def _keep(text: str, lo: int = 12, hi: int = 400) -> bool:
    return lo <= len(text) <= hi and not _SKIP.search(text)


def mo_pairs(path: Path) -> list[tuple[str, str]]:
    """(English msgid, Korean msgstr) pairs of one .mo file, header dropped."""
    try:
        with path.open("rb") as fh:
            catalog = gettext.GNUTranslations(fh)
    except Exception:  # gettext raises OSError/UnicodeDecodeError/others on a bad file: it is optional data
        return []
    pairs = []
    for key, value in catalog._catalog.items():  # noqa: SLF001 - gettext has no public iterator
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid and isinstance(msgid, str) and isinstance(value, str):
            pairs.append((_clean(msgid), _clean(value)))
    return pairs


def sentences(document: str) -> list[str]:
    """Sentences of a hard-wrapped Korean document (bills break lines inside words; line ends go)."""
    flat = re.sub(r"\s*\n\s*\n\s*|\n", "", document)
    out = []
    for sentence in _SENTENCE_END.split(flat):
        sentence = _clean(sentence)
        hangul = len(_HANGUL.findall(sentence))
        if _keep(sentence, 15, 300) and hangul >= 0.5 * len(sentence.replace(" ", "")):
            out.append(sentence if sentence.endswith(".") else sentence + ".")
    return out


def konlpy_corpora(wheels: Path = WHEELS) -> dict[str, list[tuple[str, str]]]:
    """Sentences of konlpy's corpora by source, from its wheel when it was fetched (else none)."""
    wheel = next(iter(sorted(wheels.glob(KONLPY[1] + "*.whl"))), None)
    if wheel is None:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    with zipfile.ZipFile(wheel) as zf:
        for source, prefix in _KONLPY_CORPORA.items():
            names = sorted(n for n in zf.namelist() if n.startswith(prefix) and n.endswith(".txt"))
            out[source] = [("ko", s) for n in names for s in sentences(zf.read(n).decode("utf-8", "replace"))]
    return out


def collect(max_per_source: int = 400) -> dict[str, list[tuple[str, str]]]:
    """Benign texts by source name: source -> [(lang, text)], at most `max_per_source` each."""
    out: dict[str, list[tuple[str, str]]] = {}
    for pattern in _MO_GLOBS:
        for path in sorted(Path("/").glob(pattern.lstrip("/"))):
            rows: list[tuple[str, str]] = []
            for en, ko in mo_pairs(path):
                if _keep(ko) and _HANGUL.search(ko):
                    rows.append(("ko", ko))
                if _keep(en, 20) and " " in en:
                    rows.append(("en", en))
            if rows:
                out["mo:" + path.stem] = rows[: max_per_source]
    for name in _PLAIN_KO:
        path = Path(name)
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        paras = [_clean(p) for p in re.split(r"\n\s*\n", text)]
        out["doc:" + path.name] = [("ko", p) for p in paras if _keep(p, 20, 600) and _HANGUL.search(p)]
    out.update({k: v[:max_per_source] for k, v in konlpy_corpora().items()})
    logger.info("benign text: %d sources, %d texts", len(out), sum(len(v) for v in out.values()))
    return out
