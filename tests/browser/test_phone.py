"""Pages that fit phones and students (issue 12, item 6), in a real browser at 390 px and desktop.

Screenshots go to artifacts/screenshots/ (``<page>-phone.png``, ``<page>-desktop.png``); the ones
in docs/screenshots/ are copies of them.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
QUEUE_WAIT_MS = 40_000

RAINBOW = """\
import time
pos = getLEDPositions()
t = 0.0
while True:
    setLEDs([fromHSV((z * 0.8 - t) % 1.0, 1.0, 1.0) for x, y, z in pos])
    t += 0.02
    time.sleep(0.04)
"""


def _context_page(browser: Browser, stack: Any, phone: bool) -> Iterator[Page]:
    options: dict[str, Any] = {"base_url": stack.base_url}
    if phone:
        options.update(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    else:
        options.update(viewport=DESKTOP)
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def phone(browser: Browser, stack: Any) -> Iterator[Page]:
    """A 390 px wide touch phone (an iPhone 12-15's CSS width)."""
    yield from _context_page(browser, stack, phone=True)


@pytest.fixture
def desktop(browser: Browser, stack: Any) -> Iterator[Page]:
    """A laptop-sized window."""
    yield from _context_page(browser, stack, phone=False)


def _cancel(stack: Any, ids: list[str]) -> None:
    for sub_id in ids:
        req = urllib.request.Request(
            f"{stack.base_url}/api/submissions/{sub_id}",
            headers={"User-Agent": "stack-helper"},
            method="DELETE",
        )
        try:
            urllib.request.urlopen(req, timeout=5).close()
        except urllib.error.HTTPError as exc:
            assert exc.code == 409, exc


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


@pytest.mark.parametrize(
    "path", ["/", "/docs", "/queue", "/upload", "/tree", "/queue?kiosk=1", "/no/such/page"]
)
def test_no_page_scrolls_sideways_on_a_phone(phone: Page, path: str) -> None:
    """Nothing is wider than the phone: tables and code scroll inside their own box."""
    phone.goto(path)
    phone.wait_for_timeout(300)
    assert _page_width(phone) <= PHONE["width"], f"{path} is {_page_width(phone)} px wide"


def test_phone_navigation_shows_every_link(phone: Page) -> None:
    """The bar wraps: each link is on screen at once, none hidden behind a sideways scroll."""
    phone.goto("/docs")
    links = phone.locator(".site-nav a")
    expect(links).to_have_count(6)
    for i in range(6):
        box = links.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["y"] + box["height"] <= 200, "a link is pushed far down the page"


def test_phone_docs_for_students(phone: Page, desktop: Page, screenshots: Path) -> None:
    """/docs teaches the API and limits, shows no operator settings, and fits the phone."""
    for page, name in [(phone, "docs-phone"), (desktop, "docs-desktop")]:
        page.goto("/docs")
        expect(page.locator("h1")).to_have_text("Writing programs for the tree")
        expect(page.locator("#docs-body")).to_contain_text("Limits and how a run ends")
        expect(page.locator("#docs-body")).not_to_contain_text("TREE_WS281X")
        page.screenshot(path=str(screenshots / f"{name}.png"))
    table = phone.locator("#docs-body table").first
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]


def test_phone_queue_rows_drop_the_pending_badge(
    phone: Page, desktop: Page, stack: Any, screenshots: Path
) -> None:
    """On a phone the waiting rows show position, title and ETA, not a PENDING badge each."""
    ids = [stack.submit(RAINBOW, name=who, title=f"{who}'s lights") for who in ["ada", "bob", "cy"]]
    try:
        phone.goto("/queue")
        expect(phone.locator("#now-playing .np-title")).to_contain_text(
            "lights", timeout=QUEUE_WAIT_MS
        )
        rows = phone.locator("#pending-list .sub-row")
        expect(rows.first).to_be_visible()
        assert phone.locator("#pending-list .badge").first.is_hidden()
        expect(rows.first.locator(".sub-eta")).to_be_visible()
        assert _page_width(phone) <= PHONE["width"]
        phone.screenshot(path=str(screenshots / "queue-phone.png"))
        desktop.goto("/queue")
        expect(desktop.locator("#pending-list .sub-row").first).to_be_visible()
        desktop.screenshot(path=str(screenshots / "queue-desktop.png"))
        phone.goto("/queue?kiosk=1")
        expect(phone.locator("#kiosk-qr")).to_be_visible()
        phone.wait_for_timeout(500)
        phone.screenshot(path=str(screenshots / "kiosk-phone.png"))
    finally:
        _cancel(stack, ids)


def test_styled_404_with_a_way_back(phone: Page, desktop: Page, screenshots: Path) -> None:
    """A wrong address gets the site's own page with links back, on a phone and a desktop."""
    for page, name in [(phone, "not-found-phone"), (desktop, "not-found-desktop")]:
        response = page.goto("/runs/not-a-real-run")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("This page is not on the tree")
        page.screenshot(path=str(screenshots / f"{name}.png"))
    phone.get_by_role("link", name="Back to the start").click()
    expect(phone).to_have_url(re.compile(r"/$"))


def test_phone_upload_box_says_tap_not_drop(phone: Page, desktop: Page) -> None:
    """Phones cannot drop a file, so the box says "Tap to pick"; a desktop says "Drop"."""
    phone.goto("/upload")
    assert phone.locator("#dz-text").inner_text() == "Tap to pick a .py file"  # what is shown
    desktop.goto("/upload")
    shown = desktop.locator("#dz-text").inner_text()
    assert shown == "Drop a .py file here, or click to pick one"
    for page in (phone, desktop):
        expect(page.get_by_label("Your nickname (optional)")).to_be_visible()
        expect(page.get_by_label("Title (optional)")).to_be_visible()


def _contrast(fg: str, bg: str) -> float:
    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", css)[:3]]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted([luminance(fg), luminance(bg)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_editor_comments_and_line_numbers_are_readable(desktop: Page) -> None:
    """Comments and line numbers reach WCAG AA's 4.5:1 against the editor's background."""
    page = desktop
    page.goto("/editor")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("# a comment\n")
    comment = page.locator(".cm-content .tok-comment").first
    expect(comment).to_have_text("# a comment")
    style = "(e, p) => getComputedStyle(e)[p]"
    background = page.locator(".cm-editor").evaluate(style, "backgroundColor")
    for name, locator in [("comment", comment), ("line number", page.locator(".cm-gutters"))]:
        colour = locator.evaluate(style, "color")
        ratio = _contrast(colour, background)
        assert ratio >= 4.5, f"{name} {colour} on {background} is {ratio:.2f}:1"


BLUE_AT_20 = "setLEDs([(0, 0, 255, 20)] * getLEDCount())\nimport time\ntime.sleep(2.5)\n"

# The canvas pixel at each LED's centre, where its core is drawn in its exact colour.
_LED_PIXELS = """
() => new Promise((resolve) => requestAnimationFrame(() => {
  const ctx = document.getElementById('tree-canvas').getContext('2d');
  resolve(window.ledtreeView.points.map((p) =>
    Array.from(ctx.getImageData(Math.round(p.x), Math.round(p.y), 1, 1).data.slice(0, 3))));
}))
"""


def test_live_view_draws_a_dim_led_clearly_lit(desktop: Page, stack: Any) -> None:
    """Blue at brightness 20 draws as rgb(0, 0, 126) (the exposure curve), not rgb(0, 0, 51)."""
    page = desktop
    page.goto("/tree")
    assert page.evaluate("window.ledtreeColour([0, 0, 255, 20])") == [0, 0, 126]
    assert page.evaluate("window.ledtreeColour([0, 0, 255, 100])") == [0, 0, 255]
    assert page.evaluate("window.ledtreeColour([255, 190, 100, 0])") == [0, 0, 0]
    sub_id = stack.submit(BLUE_AT_20, name="dimmer", title="dim blue")
    try:
        page.wait_for_function(
            "() => (window.ledtreeLastFrame || []).length > 0 && window.ledtreeLastFrame"
            ".every((led) => led[2] === 255 && led[3] === 20)",
            timeout=QUEUE_WAIT_MS,
        )
        deadline = time.monotonic() + 5
        pixels: list[list[int]] = []
        while time.monotonic() < deadline:
            pixels = page.evaluate(_LED_PIXELS)
            if pixels and all(abs(b - 126) <= 2 and r + g <= 4 for r, g, b in pixels):
                break
        assert pixels and all(abs(b - 126) <= 2 and r + g <= 4 for r, g, b in pixels), pixels[:5]
    finally:
        _cancel(stack, [sub_id])


@pytest.mark.parametrize(
    ("program", "shows"),
    [("setLEDs([RED] * getLEDCount())", "#follow-status"), ("x = = 1", "#follow-error")],
)
def test_phone_run_brings_its_result_into_view(
    phone: Page, desktop: Page, stack: Any, program: str, shows: str
) -> None:
    """On a phone the follow panel is below the editor: after Run the status (or why it was
    refused) comes into view; on a desktop it is beside the editor and nothing scrolls."""
    for page in (phone, desktop):
        page.goto("/editor")
        page.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(program)
        page.evaluate("window.scrollTo(0, 0)")
        page.click("#run-button")
        expect(page.locator(shows)).to_be_visible()
        expect(page.locator(shows)).to_be_in_viewport()
    assert desktop.evaluate("window.scrollY") == 0
