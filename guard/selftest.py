"""The start-up self-test: canary texts from the model folder must come out right before the guard serves.

A model folder can load without any error and still be broken: a tokenizer.json that is damaged but
still valid JSON (a shuffled or cut vocabulary) maps every word to the wrong token, and the model then
scores every category near 0. Sensitive data would pass unflagged with no sign. So the folder carries
`canaries.json`, a handful of texts with their expected verdicts:

    {"canaries": [
        {"id": "rrn", "role": "user", "text": "제 주민등록번호는 900101-1234568입니다.", "flags": ["P1"]},
        {"id": "plain", "role": "user", "text": "오늘 날씨가 맑아서 산책하기 좋네요.", "safe": true}]}

`flags`: categories that the validated detectors AND the model (score >= its labels.json threshold) must
both flag, so a broken model cannot hide behind the detectors. `safe`: neither flags anything. Canaries
rest on validated identifiers and one plainly safe text, so any retrained model that works passes them.
The policy plays no part (a deployment may allow a category; the model must still see it).
Failures name the canary and the category, never the text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from guard.detectors.base import Match, Validity
from guard.errors import ModelError
from guard.taxonomy import CATEGORY_CODES, parse_role

CANARIES_FILE = "canaries.json"


@dataclass(frozen=True)
class Canary:
    """One canary text and what must come out of it."""

    id: str
    role: str
    text: str
    flags: frozenset[str]
    safe: bool

    def problems(self, matches: Sequence[Match], scores: Mapping[str, float],
                 thresholds: Mapping[str, float]) -> list[str]:
        """What came out wrong, one phrase each (empty: the canary passed)."""
        detected = {m.category.value for m in matches if m.validity is Validity.VALID}
        modelled = {c for c in CATEGORY_CODES if scores.get(c, 0.0) >= thresholds.get(c, 0.5)}
        out = []
        for code in sorted(self.flags - detected):
            out.append(f"canary {self.id!r}: the detectors do not flag {code}")
        for code in sorted(self.flags - modelled):
            out.append(f"canary {self.id!r}: the model does not flag {code} "
                       f"(score {scores.get(code, 0.0):.3f} < {thresholds.get(code, 0.5)})")
        if self.safe and (detected or modelled):
            out.append(f"canary {self.id!r}: expected safe, flagged {', '.join(sorted(detected | modelled))}")
        return out


def load_canaries(folder: Path) -> list[Canary] | None:
    """The folder's canaries, or None when it has no canaries.json; ModelError when the file is bad."""
    path = Path(folder) / CANARIES_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        canaries = [_canary(i, raw) for i, raw in enumerate(data["canaries"])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{CANARIES_FILE}: not a valid canary file ({type(exc).__name__}: {exc})") from None
    if not canaries:
        raise ModelError(f"{CANARIES_FILE}: no canaries")
    return canaries


def _canary(index: int, raw: Mapping[str, object]) -> Canary:
    flags = raw.get("flags", [])
    safe = raw.get("safe", False)
    text = raw["text"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"canary {index}: text must be a non-empty string")
    if not isinstance(flags, list) or not all(isinstance(c, str) and c in CATEGORY_CODES for c in flags):
        raise ValueError(f"canary {index}: flags must be a list of category codes")
    if not isinstance(safe, bool) or safe == bool(flags):
        raise ValueError(f"canary {index}: give either flags or \"safe\": true")
    role = parse_role(str(raw.get("role", "user"))).value
    return Canary(str(raw.get("id", index)), role, text, frozenset(flags), safe)
