"""The big screen by the tree (/queue?kiosk=1) and the queue rows' wording, in a real browser.

Screenshots go to artifacts/screenshots/; the ones in docs/screenshots/ are copies of them.
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

QUEUE_WAIT_MS = 40_000

# Keeps a rainbow climbing the tree until the time limit ends it.
RAINBOW = """\
import time
pos = getLEDPositions()
t = 0.0
while True:
    setLEDs([fromHSV((z * 0.8 - t) % 1.0, 1.0, 1.0) for x, y, z in pos])
    t += 0.02
    time.sleep(0.04)
"""


@pytest.fixture
def kiosk_page(browser: Browser, stack: Any) -> Iterator[Page]:
    """A page the size of the kiosk's 1920x1080 screen."""
    context = browser.new_context(base_url=stack.base_url, viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return box


def _cancel_pending(stack: Any, ids: list[str]) -> None:
    """Cancel those still waiting, so later tests do not queue behind them."""
    for sub_id in ids:
        req = urllib.request.Request(
            f"{stack.base_url}/api/submissions/{sub_id}",
            headers={"User-Agent": "stack-helper"},  # the submitter's identity (Stack.submit)
            method="DELETE",
        )
        try:
            urllib.request.urlopen(req, timeout=5).close()
        except urllib.error.HTTPError as exc:
            assert exc.code == 409, exc  # it already ran or is running: fine


def _admin(stack: Any, action: str) -> None:
    """POST an operator action (pause/resume) with the bearer token."""
    req = urllib.request.Request(
        f"{stack.base_url}/api/admin/{action}",
        data=b"",
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as response:
        json.loads(response.read())


def test_kiosk_shows_the_live_tree_beside_the_queue(
    kiosk_page: Page, stack: Any, screenshots: Path
) -> None:
    """At 1920x1080 the live tree sits left of the lists, in large type, and nothing scrolls."""
    page = kiosk_page
    for i in range(3):  # quick ones, so "Recently finished" has rows too
        stack.submit("print(1)\n", name="quick", title=f"quick {i}")
    names = ["grace", "linus", "margaret", "ada", "alan", "barbara", "dennis", "ken", "edsger"]
    ids = [stack.submit(RAINBOW, name=who, title=f"{who}'s rainbow") for who in names]
    try:
        page.goto("/queue?kiosk=1")
        expect(page.locator("#now-playing .np-title")).to_contain_text(
            "rainbow", timeout=QUEUE_WAIT_MS
        )
        page.wait_for_function(
            "() => Number(document.getElementById('tree-canvas').dataset.frameCount || 0) > 5"
        )
        assert page.evaluate(_LIT_LEDS) > 0, "the kiosk's tree canvas drew no lit LED"
        expect(page.locator("#pending-list .sub-row")).to_have_count(6)
        expect(page.locator("#more-waiting")).to_contain_text("more waiting")
        expect(page.locator("#recent-list .sub-row")).to_have_count(3)
        expect(page.locator("#now-playing .np-left")).to_have_text(re.compile(r"^\d+ s$"))
        tree, lists = _box(page, "#tree-canvas"), _box(page, "#now-playing")
        qr = _box(page, "#kiosk-qr")
        assert tree["x"] + tree["width"] <= lists["x"], "the tree is not beside the lists"
        assert lists["x"] + lists["width"] <= qr["x"], "the QR code is not beside the lists"
        assert tree["height"] > 700, "the tree is too small for a big screen"
        assert qr["width"] >= 300, f"a {qr['width']}px QR code is hard to scan from a few metres"
        for selector in ["#recent-list", "#kiosk-qr", "#kiosk-url"]:
            box = _box(page, selector)
            assert box["y"] + box["height"] <= 1080, f"{selector} is cut off the screen"
        assert page.evaluate("document.scrollingElement.scrollHeight") <= 1080, "it scrolls"
        assert _font_px(page, "#pending-list .sub-title") >= 24, "pending titles too small"
        assert _font_px(page, "#now-playing .sub-title") >= 44, "now playing is not large"
        assert _font_px(page, "#now-playing .np-left") >= 40, "time left is not large"
        expect(page.locator("#pending-list .badge")).to_have_count(6)
        assert page.locator("#pending-list .badge").first.is_hidden(), "redundant PENDING badge"
        page.screenshot(path=str(screenshots / "kiosk-desktop.png"))
    finally:
        _cancel_pending(stack, ids)


def _font_px(page: Page, selector: str) -> float:
    return float(
        page.evaluate(
            "(s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)", selector
        )
    )


def test_kiosk_qr_code_decodes_to_the_public_address(kiosk_page: Page, stack: Any) -> None:
    """The QR code as the screen shows it decodes to TREE_PUBLIC_URL; the address is in text."""
    kiosk_page.goto("/queue?kiosk=1")
    expect(kiosk_page.locator("#kiosk-url")).to_have_text("tree.example.org:8000")
    image = Image.open(io.BytesIO(kiosk_page.locator("#kiosk-qr").screenshot()))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [stack.public_url]


# Counts LEDs whose canvas pixel (at their last drawn point) is clearly lit.
_LIT_LEDS = """
() => new Promise((resolve) => requestAnimationFrame(() => {
  const ctx = document.getElementById('tree-canvas').getContext('2d');
  resolve(window.ledtreeView.points.filter((p) => {
    const d = ctx.getImageData(Math.round(p.x), Math.round(p.y), 1, 1).data;
    return d[0] + d[1] + d[2] > 200;
  }).length);
}))
"""


def test_home_counts_the_others_waiting_live(offline_page: Page, web_only: Any) -> None:
    """The home page lists five and says "and N more waiting", updated by SSE without reload."""
    page = offline_page
    page.goto("/")
    page.wait_for_function("() => Number(document.body.dataset.queueVersion || 0) > 0")
    page.evaluate("window.__sameDocument = true")
    before = len(web_only.get_json("/api/queue")["pending"])
    for i in range(7 - before):
        web_only.submit("print(1)\n", name="queuer", title=f"waiting {i}")
    expect(page.locator("#pending-list .sub-row")).to_have_count(5)
    expect(page.locator("#more-waiting")).to_have_text("and 2 more waiting")
    expect(page.locator("#more-waiting")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True


def test_offline_rows_wait_for_the_tree(offline_page: Page, web_only: Any) -> None:
    """Runner away: pending rows on / and /queue say "waits for the tree", not "in ~0 s"."""
    web_only.submit("print(1)\n", name="queuer", title="patient")
    for path in ["/", "/queue"]:
        offline_page.goto(path)
        offline_page.wait_for_function("() => Number(document.body.dataset.queueVersion || 0) > 0")
        etas = offline_page.locator("#pending-list .sub-eta")
        expect(etas.first).to_have_text("waits for the tree")
        assert set(etas.all_text_contents()) == {"waits for the tree"}
    assert web_only.get_json("/api/queue")["pending"][0]["eta_seconds"] == 0  # API unchanged


def test_paused_rows_wait_then_show_an_eta_on_resume(page: Page, stack: Any) -> None:
    """Paused by the operator, rows wait for the tree; on resume it runs, without a reload."""
    _admin(stack, "pause")
    try:
        sub_id = stack.submit("print(1)\n", name="pauser", title="held back")
        page.goto("/queue")
        row = page.locator(f'#pending-list li[data-id="{sub_id}"] .sub-eta')
        expect(row).to_have_text("waits for the tree")
        page.evaluate("window.__sameDocument = true")
    finally:
        _admin(stack, "resume")
    expect(page.locator(f'#recent-list li[data-id="{sub_id}"]')).to_be_visible(
        timeout=QUEUE_WAIT_MS
    )
    assert page.evaluate("window.__sameDocument") is True
