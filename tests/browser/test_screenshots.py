"""A screenshot of every page with a busy queue, saved to artifacts/screenshots/ to look at."""

from __future__ import annotations

import time
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
        page.wait_for_load_state("networkidle") if path == "/docs" else page.wait_for_timeout(700)
        out = screenshots / f"{name}.png"
        page.screenshot(path=str(out), full_page=True)
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
    deadline = time.monotonic() + 40
    while stack.get_json("/api/queue")["running"] is None:
        assert time.monotonic() < deadline, "nothing started running"
        time.sleep(0.1)
    page.goto("/admin")
    page.screenshot(path=str(screenshots / "admin.png"), full_page=True)
