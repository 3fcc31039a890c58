"""labels.json: one schema and one reader.

The model folder's labels.json (docs/ARCHITECTURE.md gives the schema) is read here only: the engine
loads it with `load_labels` (validated, as Labels); tools that rewrite a field of it (training's
threshold tuning, the model card) use `read_labels` and `write_labels`, which check it the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.errors import ModelError
from guard.taxonomy import CATEGORY_CODES, SpanType

LABELS_FILE = "labels.json"


@dataclass(frozen=True)
class Labels:
    """labels.json, validated.

    Attributes:
        categories: category codes in the order of the model's category output.
        tags: per tag index, None for "O" or (is_begin, span type).
    """

    name: str
    version: str
    quant: str
    categories: tuple[str, ...]
    tags: tuple[tuple[bool, SpanType] | None, ...]
    thresholds: dict[str, float]
    max_length: int
    stride: int
    context_tokens: int
    sentence_window: int = 0
    # A text cut into n windows has n chances of a false alarm: its best window's odds are divided by
    # n ** window_penalty (0 = off), so benign sentences do not add up to a flag in a long document.
    window_penalty: float = 0.0
    # Two unrelated sentences side by side can read as one disclosure (a DNA fact beside a father): in a
    # text of several windows, a window's category logits are capped by the best of its sentence units
    # (sentences joined until at least sentence_check tokens) scored alone. 0 = off.
    sentence_check: int = 0


def load_labels(path: Path) -> Labels:
    """Read and check labels.json; raise ModelError naming the file and the field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path.name}: not readable JSON ({type(exc).__name__})") from exc
    if not isinstance(raw, dict):
        raise ModelError(f"{path.name}: expected a JSON object")

    def field(key: str, kind: type, default: Any = None) -> Any:
        value = raw.get(key, default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if value is None or not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ModelError(f"{path.name}: field {key!r} missing or not a {kind.__name__}")
        return value

    categories = tuple(field("categories", list))
    if len(categories) != len(CATEGORY_CODES) or set(categories) != set(CATEGORY_CODES):
        raise ModelError(f"{path.name}: 'categories' must list each of {', '.join(CATEGORY_CODES)} once")
    tags = tuple(_parse_tag(path.name, t) for t in field("tags", list))
    if None not in tags:
        raise ModelError(f"{path.name}: 'tags' has no 'O' tag")
    thresholds = field("thresholds", dict, {})
    for code, value in thresholds.items():
        if code not in CATEGORY_CODES or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ModelError(f"{path.name}: 'thresholds' needs category codes mapped to numbers in [0, 1]")
    labels = Labels(
        name=field("name", str), version=field("version", str), quant=field("quant", str, "fp32"),
        categories=categories, tags=tags, thresholds={k: float(v) for k, v in thresholds.items()},
        max_length=field("max_length", int, 128), stride=field("stride", int, 32),
        context_tokens=field("context_tokens", int, 48),
        sentence_window=field("sentence_window", int, 0),
        window_penalty=float(field("window_penalty", float, 0.0)),
        sentence_check=field("sentence_check", int, 0),
    )
    # The encoder needs room for text tokens beyond the context segment and the stride.
    room = labels.max_length - 4 - labels.context_tokens
    if labels.context_tokens < 1 or labels.stride < 0 or room < 12 or labels.stride >= room:
        raise ModelError(f"{path.name}: max_length/stride/context_tokens leave no room for text tokens")
    if not 0.0 <= labels.window_penalty <= 2.0:
        raise ModelError(f"{path.name}: window_penalty must be in [0, 2]")
    if not 0 <= labels.sentence_check <= labels.max_length:
        raise ModelError(f"{path.name}: sentence_check must be in [0, max_length]")
    if labels.sentence_window and not labels.stride < labels.sentence_window:
        raise ModelError(f"{path.name}: sentence_window must be 0 (off) or more than the stride")
    return labels


def _parse_tag(file: str, tag: object) -> tuple[bool, SpanType] | None:
    if tag == "O":
        return None
    if isinstance(tag, str) and tag[:2] in ("B-", "I-") and tag[2:] in SpanType.__members__:
        return tag[0] == "B", SpanType(tag[2:])
    raise ModelError(f"{file}: tag {tag!r} is not 'O' or B-/I- followed by a span type")


def read_labels(path: Path) -> dict[str, Any]:
    """labels.json as its JSON object, after the same checks as `load_labels` (ModelError)."""
    load_labels(path)
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


def write_labels(path: Path, data: dict[str, Any]) -> None:
    """Write labels.json (UTF-8, indented, a final newline) and check that it reads back."""
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    load_labels(Path(path))
