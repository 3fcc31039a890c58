"""report.html for `kguard eval`: one self-contained page (no network at view time) with the plots.

Plots are drawn with matplotlib (the `verify` extra) into SVG and embedded as data: URIs; the page's
Content-Security-Policy forbids every fetch but data: images, so a browser opening it asks for nothing.
Labels on the plots are ASCII (category codes): they render with matplotlib's bundled font anywhere.
Rows appear by id; texts only when the report was asked for with --show-text.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from guard.errors import GuardError
from guard.taxonomy import CATEGORY_CODES
from guard.verify.metrics import pr_curve
from guard.verify.scoring import Scored

__all__ = ["INSTALL_HINT", "render_html", "require_plotting"]

INSTALL_HINT = "report.html needs matplotlib, in the 'verify' extra: pip install -e '.[verify]'"
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_COLS = 5


def require_plotting() -> None:
    """Raise GuardError with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise GuardError(INSTALL_HINT) from None


def render_html(report: Mapping[str, Any], scored: Scored) -> str:
    """The whole page: headline figures, the three plots, the tables."""
    plots = [
        ("pr-curves", "Precision-recall curve per category",
         "Each curve sweeps the threshold over the scores; the dot is the threshold in force.",
         _pr_figure(scored)),
        ("score-histograms", "Scores of unsafe against safe rows",
         "Per category: the score of rows labelled with it against rows with no label (log counts); the "
         "line is the threshold in force. The first panel is each row's highest score.",
         _histogram_figure(scored)),
        ("confusion", "Confusion between categories",
         "Rows with one true category, and safe rows: the share flagged for each category (or none).",
         _confusion_figure(report["confusion"])),
    ]
    body = [_headline(report)]
    for pid, title, note, svg in plots:
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        body.append(f'<section><h2>{_e(title)}</h2><p class="note">{_e(note)}</p>'
                    f'<img class="plot" id="{pid}" alt="{_e(title)}" src="{uri}"></section>')
    body += [_category_table(report["categories"]), _span_table(report.get("spans")),
             _errors_table(report["worst_errors"], report.get("show_text", False))]
    return _PAGE.format(csp=_CSP, title=_e(f"kguard eval: {report['input']}"), body="\n".join(body))


def _figure(width: float, height: float):  # type: ignore[no-untyped-def]
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _svg(fig) -> bytes:  # type: ignore[no-untyped-def]
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "kguard"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return buf.getvalue()


def _grid(n: int):  # type: ignore[no-untyped-def]
    rows = -(-n // _COLS)
    fig = _figure(3.0 * _COLS, 2.5 * rows)
    axes = fig.subplots(rows, _COLS, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def _pr_figure(s: Scored) -> bytes:
    fig, axes = _grid(len(CATEGORY_CODES))
    for c, (code, ax) in enumerate(zip(CATEGORY_CODES, axes, strict=False)):
        truth = s.truth[:, c]
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{code} (n={int(truth.sum())})", fontsize=10)
        ax.set_xlabel("recall", fontsize=8)
        ax.set_ylabel("precision", fontsize=8)
        ax.tick_params(labelsize=7)
        if not truth.any():
            ax.text(0.5, 0.5, "no labelled rows", ha="center", va="center", fontsize=9, color="grey")
            continue
        _, precision, recall = pr_curve(s.scores[:, c], truth)
        ax.step(np.r_[0.0, recall], np.r_[precision[0], precision], where="post", color="tab:blue")
        flagged = s.scores[:, c] >= s.thresholds[code]
        tp = float(np.sum(flagged & truth))
        ax.plot([tp / truth.sum()], [tp / max(1.0, float(flagged.sum()))], "o", color="tab:red")
    return _svg(fig)


def _histogram_figure(s: Scored) -> bytes:
    fig, axes = _grid(len(CATEGORY_CODES) + 1)
    safe = np.asarray(~s.truth.any(axis=1), dtype=bool)
    bins = np.linspace(0.0, 1.0, 21)
    top = np.asarray(s.scores.max(axis=1) if len(s.rows) else np.zeros(0), dtype=float)
    panels: list[tuple[str, np.ndarray, np.ndarray, float | None]] = [("any (max score)", top, ~safe, None)]
    panels += [(code, s.scores[:, c], s.truth[:, c], s.thresholds[code]) for c, code in enumerate(CATEGORY_CODES)]
    for ax, (title, scores, unsafe, threshold) in zip(axes, panels, strict=False):
        ax.hist([scores[safe], scores[unsafe & ~safe]], bins=bins, label=["safe", "unsafe"],
                color=["tab:green", "tab:red"], alpha=0.75, histtype="stepfilled", log=True)
        if threshold is not None:
            ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
        ax.set_title(f"{title} (unsafe n={int(np.sum(unsafe & ~safe))})", fontsize=10)
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=8)
    return _svg(fig)


def _confusion_figure(conf: Mapping[str, Any]) -> bytes:
    matrix = np.array(conf["matrix"], dtype=float)
    totals = np.maximum(1.0, matrix.sum(axis=1, keepdims=True))
    fig = _figure(9.5, 8.0)
    ax = fig.subplots()
    image = ax.imshow(matrix / totals, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(conf["predicted"])), conf["predicted"], fontsize=8)
    ax.set_yticks(range(len(conf["true"])), conf["true"], fontsize=8)
    ax.set_xlabel("flagged")
    ax.set_ylabel("labelled")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(int(count)), ha="center", va="center", fontsize=7,
                    color="white" if count / totals[i, 0] > 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the labelled row")
    return _svg(fig)


def _headline(r: Mapping[str, Any]) -> str:
    safe, unsafe = r["safe_rows_flagged"], r["unsafe_rows_flagged"]
    items = [
        ("rows judged", f"{r['rows_judged']} ({r['unsafe_rows']} unsafe, {r['safe_rows']} safe)"),
        ("rows the guard refused", str(len(r["errors"]))),
        ("macro F1 (categories with labelled rows)", _num(r["macro_f1"])),
        ("micro precision / recall / F1", f"{_num(r['micro']['precision'])} / {_num(r['micro']['recall'])} / "
                                          f"{_num(r['micro']['f1'])}"),
        ("safe rows flagged (false-positive rate)", f"{_pct(safe['rate'])} ({safe['count']} of {safe['of']})"),
        ("unsafe rows flagged at all", f"{_pct(unsafe['rate'])} ({unsafe['count']} of {unsafe['of']})"),
        ("model", f"{r['model']['name']} {r['model']['version']}"),
        ("policy", str(r["policy"])),
    ]
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
    return f"<h1>kguard eval</h1><p class=\"note\">{_e(str(r['input']))}</p><table>{cells}</table>"


def _category_table(cats: Mapping[str, Mapping[str, Any]]) -> str:
    head = ("code", "support", "precision", "recall", "F1", "FPR", "AP", "threshold", "tp", "fp", "fn")
    rows = [(code, v["support"], _num(v["precision"]), _num(v["recall"]), _num(v["f1"]), _num(v["fpr"]),
             _num(v["average_precision"]), _num(v["threshold"]), v["tp"], v["fp"], v["fn"])
            for code, v in cats.items()]
    return _table("Per category", head, rows)


def _span_table(spans: Mapping[str, Mapping[str, Any]] | None) -> str:
    if spans is None:
        return "<section><h2>Spans</h2><p class=\"note\">The file gives no spans.</p></section>"
    head = ("type", "support", "precision", "recall", "F1", "tp", "fp", "fn")
    rows = [(t, v["support"], _num(v["precision"]), _num(v["recall"]), _num(v["f1"]), v["tp"], v["fp"], v["fn"])
            for t, v in spans.items()]
    return _table("Spans (exact character match, per type)", head, rows)


def _errors_table(errors: Sequence[Mapping[str, Any]], show_text: bool) -> str:
    head = ("row id", "kind", "category", "score", "threshold", "labels") + (("text",) if show_text else ())
    rows = [(e["id"], e["kind"], e["category"], _num(e["score"]), _num(e["threshold"]),
             ", ".join(e["labels"]) or "safe") + ((e.get("text", ""),) if show_text else ()) for e in errors]
    return _table("Worst errors (by row id)", head, rows)


def _table(title: str, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<section><h2>{_e(title)}</h2><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></section>"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _e(s: str) -> str:
    return html.escape(s, quote=True)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; font-size: 0.9em; }}
img.plot {{ max-width: 100%; height: auto; display: block; }}
.note {{ color: #555; }}
</style></head>
<body>
{body}
</body></html>
"""
