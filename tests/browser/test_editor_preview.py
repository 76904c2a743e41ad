"""The editor's Preview in Debian's Chromium: the dry run plays on the 3D view beside the code."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

WAIT_MS = 30_000
ALL_RED = """\
import time
for _ in range(40):
    setLEDs([[255, 0, 0, 100]] * getLEDCount())
    time.sleep(0.05)
"""
FAILS_AT_5 = """\
import time
setLEDs([[0, 0, 255, 100]] * getLEDCount())
time.sleep(1)
x = 0
print(1 / x)
"""

# Two animation frames after the preview drew a frame, the colour at every LED's centre.
_READ_LED_PIXELS = """
() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => {
  const canvas = document.getElementById('tree-canvas');
  const ctx = canvas.getContext('2d');
  resolve(window.ledtreeView.points.map((p) =>
    Array.from(ctx.getImageData(Math.round(p.x), Math.round(p.y), 1, 1).data.slice(0, 3))));
})))
"""


def _open_editor_with(page: Page, source: str) -> None:
    page.goto("/editor")
    page.wait_for_function("() => window.ledtreeEditor !== undefined")
    page.evaluate("(source) => window.ledtreeEditor.setText(source)", source)


def test_preview_of_an_all_red_program_shows_red_on_the_3d_view(page: Page, stack: Any) -> None:
    _open_editor_with(page, ALL_RED)
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Shift+Enter")
    page.wait_for_function(
        "() => Number(document.getElementById('tree-canvas').dataset.replayFrames || 0) > 5",
        timeout=WAIT_MS,
    )
    expect(page.locator("#preview-summary")).to_contain_text("finishes by itself: 2.0 s")
    expected = page.evaluate("window.ledtreeColour([255, 0, 0, 100])")
    pixels = page.evaluate(_READ_LED_PIXELS)
    assert len(pixels) == 60
    for rgb in pixels:
        assert all(abs(a - b) <= 2 for a, b in zip(rgb, expected, strict=True)), pixels
    # The shortcut previewed; it did not queue the program.
    assert page.evaluate("document.body.dataset.following") is None
    # Pause and scrub.
    page.click("#preview-play")
    expect(page.locator("#preview-play")).to_have_text("▶ Play")
    page.locator("#preview-time").fill("0")
    expect(page.locator("#tree-canvas")).to_have_attribute("data-replay-index", "0")


def test_preview_marks_the_line_where_the_program_fails(page: Page, stack: Any) -> None:
    _open_editor_with(page, FAILS_AT_5)
    page.click("#preview-button")
    expect(page.locator("#preview-error")).to_contain_text("ZeroDivisionError", timeout=WAIT_MS)
    expect(page.locator("#preview-summary")).to_contain_text("It fails after 1.0 s")
    marked = page.locator(".cm-line.cm-error-line")
    expect(marked).to_have_count(1)
    expect(marked).to_have_text("print(1 / x)")


def test_a_queued_program_s_predicted_failure_is_told_in_the_editor(page: Page, stack: Any) -> None:
    _open_editor_with(page, FAILS_AT_5)
    # Something else runs first, so the dry run's verdict arrives while ours still waits.
    blocker = "import time\nsetLEDs([[0, 9, 0, 50]] * getLEDCount())\ntime.sleep(2.5)\n"
    page.evaluate("(source) => window.Ledtree.api('POST', '/api/submissions', {source})", blocker)
    page.click("#run-button")
    warning = page.locator("#follow-predicted-error")
    expect(warning).to_contain_text(
        "fails at line 5 after 1.0 s: ZeroDivisionError", timeout=WAIT_MS
    )
    expect(page.locator("#follow-predicted")).to_have_text("1.0 s")
    expect(page.locator(".cm-line.cm-error-line")).to_have_text("print(1 / x)")
