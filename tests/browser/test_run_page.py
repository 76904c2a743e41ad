"""The run page in Debian's Chromium: report, log, error line and replay survive a reload."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

QUEUE_WAIT_MS = 40_000
CRASH_AT_5 = """\
import time
print("hello from the tree")
for _ in range(20):
    setLEDs([RED] * getLEDCount()); time.sleep(0.05)
x = 1 / 0
"""

# Two animation frames after the replay drew a frame, the colour at every LED's centre.
_READ_LED_PIXELS = """
() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => {
  const canvas = document.getElementById('tree-canvas');
  const ctx = canvas.getContext('2d');
  resolve(window.ledtreeView.points.map((p) =>
    Array.from(ctx.getImageData(Math.round(p.x), Math.round(p.y), 1, 1).data.slice(0, 3))));
})))
"""


def _submit_as_this_browser(page: Page, source: str) -> str:
    page.goto("/docs")  # the identity cookie and the form token
    answer = page.evaluate(
        """(source) => window.Ledtree.api("POST", "/api/submissions",
             {source, title: "red then crash", name: "tester"})""",
        source,
    )
    assert answer["status"] == 201, answer
    return str(answer["data"]["id"])


def test_the_run_page_shows_log_error_line_and_replay_after_a_reload(
    page: Page, stack: Any
) -> None:
    sid = _submit_as_this_browser(page, CRASH_AT_5)
    page.goto(f"/runs/{sid}")
    # The page follows the run and reloads itself with the report when it ends.
    expect(page.locator("#run-status")).to_have_text("failed", timeout=QUEUE_WAIT_MS)
    # Wait for the page's own reload to finish before reloading by hand: a reload asked for
    # while the page is mid-navigation fails with "Not attached to an active page".
    expect(page.locator("#run-outcome")).to_have_text(
        "This run crashed at line 5.", timeout=QUEUE_WAIT_MS
    )
    page.wait_for_load_state("load")
    page.reload()
    expect(page.locator("#run-outcome")).to_have_text("This run crashed at line 5.")
    expect(page.locator("#run-log")).to_contain_text("hello from the tree")
    expect(page.locator("#run-error")).to_contain_text("ZeroDivisionError")
    marked = page.locator("#run-source .error-line")
    expect(marked).to_have_count(1)
    expect(marked).to_have_attribute("data-line", "5")
    expect(marked).to_have_text("x = 1 / 0")
    # The replay plays the recording on the 3D view: every LED red, as on the tree.
    page.wait_for_function(
        "() => Number(document.getElementById('tree-canvas').dataset.replayFrames || 0) > 5",
        timeout=QUEUE_WAIT_MS,
    )
    expected = page.evaluate("window.ledtreeColour([255, 0, 0, 100])")
    pixels = page.evaluate(_READ_LED_PIXELS)
    assert len(pixels) == 60
    for rgb in pixels:
        assert all(abs(a - b) <= 2 for a, b in zip(rgb, expected, strict=True)), pixels
    # Pause and scrub: the timeline moves the replay.
    page.click("#replay-play")
    expect(page.locator("#replay-play")).to_have_text("▶ Play")
    page.locator("#replay-time").fill("0")
    expect(page.locator("#tree-canvas")).to_have_attribute("data-replay-index", "0")


def test_someone_else_sees_the_report_and_replay_but_not_the_log(
    page: Page, browser: Any, stack: Any
) -> None:
    sid = _submit_as_this_browser(page, CRASH_AT_5)
    page.goto(f"/runs/{sid}")
    expect(page.locator("#run-status")).to_have_text("failed", timeout=QUEUE_WAIT_MS)
    stranger = browser.new_context(base_url=stack.base_url, user_agent="Stranger/1.0")
    try:
        other = stranger.new_page()
        other.goto(f"/runs/{sid}")
        expect(other.locator("#run-outcome")).to_have_text("This run crashed at line 5.")
        expect(other.locator("#run-private")).to_be_visible()
        expect(other.locator("#run-log")).to_have_count(0)
        other.wait_for_function(
            "() => Number(document.getElementById('tree-canvas').dataset.replayFrames || 0) > 5",
            timeout=QUEUE_WAIT_MS,
        )
    finally:
        stranger.close()


def test_screenshot_the_run_page(page: Page, stack: Any, screenshots: Any) -> None:
    """The run page on a desktop and a 390 px phone, saved to look at."""
    sid = _submit_as_this_browser(page, CRASH_AT_5)
    page.goto(f"/runs/{sid}")
    expect(page.locator("#run-status")).to_have_text("failed", timeout=QUEUE_WAIT_MS)
    page.wait_for_function(
        "() => Number(document.getElementById('tree-canvas').dataset.replayFrames || 0) > 5",
        timeout=QUEUE_WAIT_MS,
    )
    page.screenshot(path=str(screenshots / "run-page.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#run-outcome")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the run page scrolls sideways on a phone ({width} px)"
    page.screenshot(path=str(screenshots / "run-page-phone.png"), full_page=True)
