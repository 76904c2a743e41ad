"""The queue page in Debian's Chromium: pending ETAs count down between the server's updates."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]


def test_queue_etas_count_down_between_updates(page: Page, stack: Any) -> None:
    # One fixed answer of /api/queue and no event stream: any change on the page is its own
    # countdown, driven by the page's (fake) clock.
    waiting = {
        "id": "f" * 32, "status": "pending", "position": 1, "eta_seconds": 100,
        "name": "tester", "title": "later", "predicted_s": 20.0,
    }  # fmt: skip
    running = {"id": "e" * 32, "status": "running", "name": "a", "title": "now", "time_left_s": 40}
    queue = {"running": running, "pending": [waiting], "recent": [], "runner_online": True,
             "led_count": 60, "paused": False, "time_limit": 45}  # fmt: skip
    page.route("**/api/events", lambda route: route.abort())
    page.route("**/api/queue", lambda route: route.fulfill(json=queue))
    page.clock.install()
    page.goto("/queue")
    eta = page.locator("#pending-list .sub-eta")
    expect(eta).to_have_text("in ~1 min 40 s")
    page.clock.run_for(10_000)
    expect(eta).to_have_text("in ~1 min 30 s")
