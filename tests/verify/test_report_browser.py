"""report.html opened in headless Chromium: the three plots load and draw, and the page asks the network
for nothing (the report must be readable offline). Skips, saying what to install, without a browser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from guard.cli import main
from tests.extras import need
from tests.verify.browser import REASON, Browser, browser_path
from tests.verify.conftest import SEEDS

pytestmark = pytest.mark.skipif(browser_path() is None, reason=REASON)


def test_plots_render_in_a_browser(tmp_path: Path) -> None:
    need("matplotlib", "verify")
    image = need("matplotlib.image", "verify")
    assert main(["eval", str(SEEDS), "--out", str(tmp_path)]) == 0
    with Browser(width=1400, height=1000) as browser:
        browser.open(tmp_path / "report.html")
        plots = browser.evaluate(
            "Array.from(document.querySelectorAll('img.plot')).map(i => {const r = i.getBoundingClientRect();"
            " return {id: i.id, complete: i.complete, natural: i.naturalWidth,"
            " x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height}})")
        dpr = browser.evaluate("devicePixelRatio")
        shot = image.imread(browser.screenshot(tmp_path / "shot.png"))
        urls = browser.requested_urls()
    assert [p["id"] for p in plots] == ["pr-curves", "score-histograms", "confusion"]
    for p in plots:
        assert p["complete"] and p["natural"] > 0 and p["w"] > 300 and p["h"] > 300, p
        box = shot[int(p["y"] * dpr):int((p["y"] + p["h"]) * dpr), int(p["x"] * dpr):int((p["x"] + p["w"]) * dpr), :3]
        colours = np.unique((box * 255).astype(np.uint8).reshape(-1, 3), axis=0)
        assert len(colours) > 20, (p["id"], len(colours))  # drawn: lines, bars, text; not a blank box
    assert all(u.startswith(("file:", "data:")) for u in urls), [u[:40] for u in urls]
