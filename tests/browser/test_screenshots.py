"""A screenshot of every page with a busy queue, saved to artifacts/screenshots/ to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

RAINBOW = """\
\"\"\"A rainbow climbing the tree.\"\"\"
import time
n = getLEDCount()
pos = getLEDPositions()
t = 0.0
while True:
    setLEDs([fromHSV((z * 0.8 - t) % 1.0, 1.0, 1.0) for x, y, z in pos])
    t += 0.02
    time.sleep(0.04)
"""

PAGES = [
    ("home", "/"),
    ("editor", "/editor"),
    ("upload", "/upload"),
    ("queue", "/queue"),
    ("queue-kiosk", "/queue?kiosk=1"),
    ("tree", "/tree"),
    ("docs", "/docs"),
]


def test_screenshot_every_page(page: Page, stack: Any, screenshots: Path) -> None:
    """Every page renders with a program running and others waiting; each is saved as a PNG."""
    stack.submit("setLEDs([RED] * getLEDCount())\n", name="ada", title="all red")
    for who, title in [("grace", "rainbow climb"), ("linus", "candy cane"), ("margaret", "snow")]:
        stack.submit(RAINBOW, name=who, title=title)
    page.goto("/queue")
    expect(page.locator("#now-playing .np-title")).to_contain_text("rainbow climb", timeout=40_000)
    for name, path in PAGES:
        page.goto(path)
        page.wait_for_timeout(700)  # let the live widgets draw (tree canvas, queue countdown)
        out = screenshots / f"{name}.png"
        page.screenshot(path=str(out))  # what a visitor sees first
        page.screenshot(path=str(screenshots / f"{name}-full.png"), full_page=True)
        assert out.stat().st_size > 10_000, f"{name} screenshot looks empty"


def test_screenshot_admin(page: Page, stack: Any, screenshots: Path) -> None:
    """The operator logs in with the token and sees every control."""
    page.goto("/admin")
    page.screenshot(path=str(screenshots / "admin-login.png"), full_page=True)
    page.fill("#token", stack.admin_token)
    page.click("button[type=submit]")
    expect(page.locator("#admin-blank")).to_be_visible()
    for who in ["ada", "grace", "linus"]:
        stack.submit(RAINBOW, name=who, title=f"{who}'s lights")
    # The console reloads itself when the queue changes: Stop comes alive by itself.
    expect(page.locator("#admin-stop")).to_be_enabled(timeout=40_000)
    expect(page.locator("#admin-pending .sub-row").first).to_be_visible()
    page.screenshot(path=str(screenshots / "admin.png"), full_page=True)


def test_screenshot_editor_following_a_run(page: Page, stack: Any, screenshots: Path) -> None:
    """The editor after Run: an example picked, then a failing line marked with its error."""
    page.goto("/editor")
    page.select_option("#example-picker", index=1)
    page.fill("#name", "ada")
    page.click("#run-button")
    expect(page.locator("#follow-status")).to_have_text("completed", timeout=60_000)
    page.screenshot(path=str(screenshots / "editor-run.png"))
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    for line in ['print("warming up")', "n = getLEDCount()", "setLEDs([(255, 0, 0, 150)] * n)"]:
        page.keyboard.type(line)
        page.keyboard.press("Enter")
    page.click("#run-button")
    expect(page.locator(".cm-error-line")).to_have_count(1, timeout=60_000)
    page.screenshot(path=str(screenshots / "editor-error.png"))
