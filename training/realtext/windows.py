"""Choose a model folder's long-text settings on tune: the sentence window and the window penalty.

    python -m training.realtext.windows --model DIR            # every setting's figures on tune
    python -m training.realtext.windows --model DIR --write    # and the chosen one into DIR/labels.json

A text longer than `sentence_window` tokens is judged in windows of whole sentences, and its best
window's odds are divided by n_windows ** `window_penalty` (guard/engine/labels.py). A smaller window
reads a disclosure with less of the news around it; a smaller penalty keeps more of what a window
scores, and lets more lone false alarms through. Each setting is measured with the whole guard on tune:
its rows, and its long documents at scale LONG_SCALE (training.realtext.report). The choice keeps the
most disclosures caught alone among the settings that flag at most MAX_DOCS_FLAGGED of the benign
documents (the target is 5%; the margin is for documents tune has not seen), fewer flagged on a tie.
Run it after `report --retune`: the thresholds stay as they are.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from guard import Guard
from guard.engine.labels import LABELS_FILE
from training.realtext import report

#: 48 tokens was measured too (training/README.md, run 32): on 0.12.0 it kept 95.3% of tune's disclosures
#: at 4.0% flagged, but flagged 12% of heldout's benign documents and cut identifier spans worse.
SENTENCE_WINDOWS = (64,)
WINDOW_PENALTIES = (0.4, 0.5, 0.6, 0.75)
MAX_DOCS_FLAGGED = 0.04
LONG_SCALE = 3


@dataclass(frozen=True)
class Setting:
    sentence_window: int
    window_penalty: float


@dataclass(frozen=True)
class Measured:
    setting: Setting
    macro_f1: float
    benign_rows_flagged: float
    docs_flagged: float
    kept: float  # of the disclosures caught alone, the share still caught in their documents


def settings() -> list[Setting]:
    return [Setting(w, p) for w in SENTENCE_WINDOWS for p in WINDOW_PENALTIES]


def with_setting(model: Path, setting: Setting, into: Path) -> Path:
    """`into` made a copy of the model folder with the setting in its labels.json (other files linked)."""
    for path in model.iterdir():
        if path.name != LABELS_FILE:
            (into / path.name).symlink_to(path.resolve())
    shutil.copyfile(model / LABELS_FILE, into / LABELS_FILE)
    write(into, setting)
    return into


def measure(model: Path, setting: Setting) -> Measured:
    with tempfile.TemporaryDirectory() as tmp:
        guard = Guard(with_setting(model, setting, Path(tmp)))
        figures = report.split_figures(guard, "tune", dict(guard.info.thresholds), long_scale=LONG_SCALE)
    docs = figures["long_documents"]
    return Measured(setting, float(figures["macro_f1"]), float(figures["benign_real_flagged"]),  # type: ignore[arg-type]
                    float(docs["benign_docs_flagged"]), float(docs["still_caught_in_doc"]))  # type: ignore[index]


def choose(measured: list[Measured]) -> Measured:
    """The most kept within the flagged budget (or the fewest flagged, when no setting is within it)."""
    within = [m for m in measured if m.docs_flagged <= MAX_DOCS_FLAGGED]
    if not within:
        return min(measured, key=lambda m: (m.docs_flagged, -m.kept))
    return max(within, key=lambda m: (m.kept, -m.docs_flagged, m.setting.window_penalty))


def write(model: Path, setting: Setting) -> None:
    """The setting into the folder's labels.json, the rest of it unchanged."""
    path = model / LABELS_FILE
    labels = json.loads(path.read_text(encoding="utf-8"))
    labels.update(asdict(setting))
    path.write_text(json.dumps(labels, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--write", action="store_true", help="write the chosen setting into the folder's labels.json")
    args = ap.parse_args(argv)
    measured = []
    for setting in settings():
        m = measure(args.model, setting)
        measured.append(m)
        print(f"sentence_window {setting.sentence_window:3d}  window_penalty {setting.window_penalty:.2f}: "
              f"macro F1 {m.macro_f1:.3f}, benign rows {m.benign_rows_flagged:.2%}, "
              f"long docs flagged {m.docs_flagged:.1%}, kept {m.kept:.1%}", flush=True)
    chosen = choose(measured)
    print(f"chosen: {asdict(chosen.setting)}")
    if args.write:
        write(args.model, chosen.setting)


if __name__ == "__main__":
    main()
