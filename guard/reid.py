"""Re-identification risk of a dataset: quasi-identifiers per record, k-anonymity, l-diversity, and the
generalization that would reach a chosen k.

Pseudonymized data is only as safe as what is left in it: a birth year, a district and a workplace
together often point at one person. `quasi_identifiers(text, spans)` reads them from a record's text,
with the guard's spans (birth dates, addresses; an RRN's birth date and sex) and a few Korean patterns
(`35세`, `30대`, `여성`, `OO고등학교`, `OO에서 근무`, `과장`, event dates). `ReidAnalysis` groups records
into equivalence classes over the chosen fields (quasi-identifier types, or the dataset's own columns),
and reports k (the smallest class), l (the fewest distinct sensitive values in a class: the PIPA
sensitive categories the guard flagged, or a column), the classes below the wanted k or l **by record
number only**, and a greedy generalization (age bands, region level, date to month or year) that
reaches k. No value ever appears in the report: classes are numbered, fields named, levels described.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from guard.taxonomy import SpanType
from guard.verdict import Span

__all__ = ["QI_TYPES", "ReidAnalysis", "quasi_identifiers"]

#: Quasi-identifier types, in report order.
QI_TYPES = ("birth_date", "birth_year", "age", "gender", "region", "school", "workplace", "job_title",
            "event_date")

# Where a noun ends: the end, a non-Hangul character, or a particle or copula after it.
_END = r"(?=$|[^가-힣]|입니다|이에요|예요|이고|이며|이라|으로|로|은|는|이|가|을|를|님|께|에|의|와|과|도)"
_PROVINCES = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남", "전북",
              "전남", "경북", "경남", "제주", "충청북도", "충청남도", "전라북도", "전라남도", "경상북도", "경상남도",
              "강원도", "경기도", "제주도")
_REGION = re.compile(r"(?<![가-힣])(" + "|".join(sorted(_PROVINCES, key=len, reverse=True))
                     + r")(?:특별시|광역시|특별자치시|특별자치도|시|도)?(?:\s?([가-힣]{1,5}(?:시|군|구))" + _END + ")?")
_DISTRICT = re.compile(r"(?<![가-힣])([가-힣]{1,4}(?:구|군))(?=\s|에|에서|$)")
_AGE = re.compile(r"(?<![0-9])(?:만\s?)?([1-9][0-9]?)\s?(?:세|살)" + _END + r"|(?<![0-9])([1-9]0)\s?대" + _END)
_GENDER = re.compile(r"(?<![가-힣])(남성|여성|남자|여자|남학생|여학생|아들|딸|남편|아내)" + _END
                     + r"|[(\[]\s*(남|여)\s*[,/)\]]")
_SCHOOL = re.compile(r"([가-힣A-Za-z]{1,12}(?:초등학교|중학교|고등학교|대학교|대학원|여고|여중|여대))")
_WORK = re.compile(r"([가-힣A-Za-z0-9]{2,15})(?:에서\s?(?:일하|근무|일해)|에\s?(?:다니|재직|근무|다녀))")
_TITLES = ("대표이사", "부장", "차장", "과장", "대리", "주임", "사원", "팀장", "실장", "본부장", "상무", "전무",
           "교수", "교사", "선생님", "간호사", "의사", "약사", "변호사", "회계사", "세무사", "연구원", "엔지니어",
           "개발자", "디자이너", "공무원", "경찰관", "소방관", "군인", "기자", "PD", "작가", "주부", "대학생")
_TITLE = re.compile(r"(?<![가-힣])(" + "|".join(_TITLES) + r")" + _END)
_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})\s?[.\-/년]\s?([0-9]{1,2})\s?[.\-/월]\s?(?:([0-9]{1,2})\s?일?)?")
_BIRTH_YEAR = re.compile(r"(?<![0-9])((?:19|20)?[0-9]{2})\s?년생")
_SCHOOL_LEVELS = (("대학원", "대학원"), ("대학교", "대학교"), ("여대", "대학교"), ("고등학교", "고등학교"),
                  ("여고", "고등학교"), ("중학교", "중학교"), ("여중", "중학교"), ("초등학교", "초등학교"))
_MALE = {"남성", "남자", "남학생", "아들", "남편", "남"}


def quasi_identifiers(text: str, spans: Sequence[Span] = ()) -> dict[str, list[str]]:
    """The quasi-identifiers found in `text`, by type (each list in order of appearance, no repeats).

    Args:
        text: the record's text.
        spans: the guard's spans on `text` (BIRTH_DATE, ADDRESS and RRN/FRN spans are read).
    """
    found: dict[str, list[str]] = defaultdict(list)

    def add(kind: str, value: str | None) -> None:
        if value and value not in found[kind]:
            found[kind].append(value)

    birth_spans = []
    for s in spans:
        value = text[s.start:s.end]
        if s.type in (SpanType.RRN.value, SpanType.FRN.value):
            digits = re.sub(r"[^0-9]", "", value)
            if len(digits) == 13:
                century = {"9": 1800, "0": 1800, "1": 1900, "2": 1900, "5": 1900, "6": 1900}.get(digits[6], 2000)
                add("birth_date", f"{century + int(digits[:2])}-{digits[2:4]}-{digits[4:6]}")
                add("gender", "M" if digits[6] in "13579" else "F")
        elif s.type == SpanType.BIRTH_DATE.value:
            birth_spans.append((s.start, s.end))
            add("birth_date", _iso_date(value))
        elif s.type == SpanType.ADDRESS.value:
            add("region", _region(value))
    for m in _BIRTH_YEAR.finditer(text):
        year = m.group(1)
        add("birth_year", year if len(year) == 4 else str((1900 if int(year) > 25 else 2000) + int(year)))
    for date in found.get("birth_date", []):
        add("birth_year", date[:4])
    for m in _AGE.finditer(text):
        add("age", m.group(1) or f"{m.group(2)}s")
    for m in _GENDER.finditer(text):
        add("gender", "M" if (m.group(1) or m.group(2)) in _MALE else "F")
    for m in _REGION.finditer(text):
        add("region", m.group(1) + (" " + m.group(2) if m.group(2) else ""))
    for m in _SCHOOL.finditer(text):
        add("school", m.group(1))
    for m in _WORK.finditer(text):
        add("workplace", m.group(1))
    for m in _TITLE.finditer(text):
        add("job_title", m.group(1))
    for m in _DATE.finditer(text):
        if any(a <= m.start() < b for a, b in birth_spans):
            continue
        add("event_date", f"{m.group(1)}-{int(m.group(2)):02d}" + (f"-{int(m.group(3)):02d}" if m.group(3) else ""))
    return {k: found[k] for k in QI_TYPES if found.get(k)}


def _iso_date(value: str) -> str | None:
    digits = re.findall(r"[0-9]+", value)
    if len(digits) == 1 and len(digits[0]) in (6, 8):
        d = digits[0]
        year = d[:4] if len(d) == 8 else str((1900 if int(d[:2]) > 25 else 2000) + int(d[:2]))
        return f"{year}-{d[-4:-2]}-{d[-2:]}"
    if len(digits) >= 3:
        year = digits[0] if len(digits[0]) == 4 else str((1900 if int(digits[0]) > 25 else 2000) + int(digits[0]))
        return f"{year}-{int(digits[1]):02d}-{int(digits[2]):02d}"
    return None


def _region(address: str) -> str | None:
    m = _REGION.search(address)
    if m:
        return m.group(1) + (" " + m.group(2) if m.group(2) else "")
    m = _DISTRICT.search(address)
    return m.group(1) if m else None


# Generalization hierarchies: level 0 is the value itself, the last level suppresses it ("*").
def _date_levels(v: str) -> list[str]:
    year = v[:4]
    decade = year[:3] + "0s" if year.isdigit() else "*"
    return [v, v[:7], year, _band(year, 5), decade, "*"]


def _band(year: str, width: int) -> str:
    if not year.isdigit():
        return "*"
    lo = int(year) // width * width
    return f"{lo}-{lo + width - 1}"


def _age_levels(v: str) -> list[str]:
    if v.endswith("s"):
        return [v, v, v, "*"]
    age = int(v)
    return [v, f"{age // 5 * 5}-{age // 5 * 5 + 4}", f"{age // 10 * 10}s", "*"]


def _region_levels(v: str) -> list[str]:
    return [v, v.split(" ")[0], "*"]


def _school_levels(v: str) -> list[str]:
    level = next((lvl for suffix, lvl in _SCHOOL_LEVELS if v.endswith(suffix)), "*")
    return [v, level, "*"]


_HIERARCHY: dict[str, Callable[[str], list[str]]] = {
    "birth_date": _date_levels, "event_date": _date_levels,
    "birth_year": lambda v: [v, _band(v, 5), v[:3] + "0s" if v.isdigit() else "*", "*"],
    "age": _age_levels, "region": _region_levels, "school": _school_levels,
}
_LEVEL_NAMES = {
    "birth_date": ("exact date", "month", "year", "5-year band", "decade", "suppressed"),
    "event_date": ("exact date", "month", "year", "5-year band", "decade", "suppressed"),
    "birth_year": ("year", "5-year band", "decade", "suppressed"),
    "age": ("exact age", "5-year band", "10-year band", "suppressed"),
    "region": ("district", "province (시/도)", "suppressed"),
    "school": ("school", "school level", "suppressed"),
}


def _suppress_only(value: str) -> list[str]:
    return [value, "*"]


def _levels(name: str, value: str) -> list[str]:
    return _HIERARCHY.get(name, _suppress_only)(value)


def _level_name(name: str, level: int) -> str:
    names = _LEVEL_NAMES.get(name, ("value", "suppressed"))
    return names[min(level, len(names) - 1)]


@dataclass
class ReidAnalysis:
    """Records' quasi-identifiers and sensitive values, analysed for k-anonymity and l-diversity.

    Add records with `add(number, quasi, sensitive)`; `report(k, l)` returns a JSON-able dict that names
    records by number and fields by name, never a value.

    Attributes:
        fields: the fields that form the equivalence classes; empty: every QI type found.
    """

    fields: Sequence[str] = ()
    _records: list[tuple[int, dict[str, str], frozenset[str]]] = field(default_factory=list)
    _found: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, number: int, quasi: Mapping[str, Sequence[str] | str], sensitive: Iterable[str] = ()) -> None:
        """One record: its quasi-identifiers (the first value of each type counts) and sensitive values."""
        values = {}
        for name, v in quasi.items():
            first = v if isinstance(v, str) else (v[0] if v else None)
            if first:
                values[name] = first
                self._found[name] += 1
        self._records.append((number, values, frozenset(sensitive)))

    def _columns(self) -> list[str]:
        if self.fields:
            return list(self.fields)
        return [q for q in QI_TYPES if self._found.get(q)] + sorted(q for q in self._found if q not in QI_TYPES)

    def _classes(self, columns: Sequence[str], levels: Mapping[str, int]) -> dict[tuple[str, ...], list[int]]:
        classes: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, (_, values, _) in enumerate(self._records):
            key = tuple(_levels(c, values[c])[min(levels.get(c, 0), len(_levels(c, values[c])) - 1)]
                        if c in values else "-" for c in columns)
            classes[key].append(i)
        return classes

    def report(self, k: int = 5, l_min: int = 2, max_listed: int = 1000) -> dict[str, Any]:
        """k-anonymity and l-diversity over the fields, classes below k or l by record number, and a
        generalization that reaches k."""
        columns = self._columns()
        classes = self._classes(columns, {})
        sizes = [len(members) for members in classes.values()]
        below_k = sorted((self._numbers(m) for m in classes.values() if len(m) < k), key=lambda ns: ns[0])
        diversity = [(len({s for i in m for s in (self._records[i][2] or {"none"})}), m) for m in classes.values()]
        below_l = sorted((self._numbers(m) for lv, m in diversity if lv < l_min), key=lambda ns: ns[0])
        return {
            "records": len(self._records),
            "fields": columns,
            "quasi_identifiers_found": {q: self._found[q] for q in self._columns() if self._found.get(q)},
            "equivalence_classes": len(classes),
            "k": min(sizes, default=0),
            "l": min((lv for lv, _ in diversity), default=0),
            "wanted": {"k": k, "l": l_min},
            "records_below_k": sum(len(ns) for ns in below_k),
            "classes_below_k": [{"class": i + 1, "size": len(ns), "records": ns} for i, ns in
                                enumerate(below_k[:max_listed])],
            "classes_below_l": [{"class": i + 1, "size": len(ns), "records": ns} for i, ns in
                                enumerate(below_l[:max_listed])],
            "generalization": self._generalize(columns, k),
        }

    def _numbers(self, members: Sequence[int]) -> list[int]:
        return sorted(self._records[i][0] for i in members)

    def _max_level(self, column: str) -> int:
        return max((len(_levels(column, v[column])) - 1 for _, v, _ in self._records if column in v), default=0)

    def _generalize(self, columns: Sequence[str], k: int) -> dict[str, Any]:
        """Greedy: generalize, one level at a time, the field whose next level leaves the fewest records
        in classes below k, until none is left (or every field is suppressed)."""
        levels = dict.fromkeys(columns, 0)
        steps = []

        def below(lv: Mapping[str, int]) -> int:
            return sum(len(m) for m in self._classes(columns, lv).values() if len(m) < k)

        current = below(levels)
        while current:
            options = [(below({**levels, c: levels[c] + 1}), c) for c in columns if levels[c] < self._max_level(c)]
            if not options:
                break
            current, column = min(options)
            levels[column] += 1
            steps.append({"field": column, "to": _level_name(column, levels[column]), "records_below_k": current})
        return {"reaches_k": current == 0, "records_below_k": current, "steps": steps,
                "levels": {c: _level_name(c, lv) for c, lv in levels.items()}}
