"""In a real browser: authors stop their own program, see their own rows, and the operator
console follows the queue in place (issue 9), against the real runner and gunicorn."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

QUEUE_WAIT_MS = 40_000
LAB_UA = "Mozilla/5.0 (X11; Linux x86_64) LabImage/1.0"  # every machine in the room says this
HOLD = """\
import time
while True:
    setLEDs([(200, 0, 200, 60)] * getLEDCount())
    time.sleep(0.05)
"""


@contextmanager
def _lab_page(browser: Browser, stack: Any) -> Iterator[Page]:
    """A fresh browser on one of the lab's identical machines (same IP, same User-Agent)."""
    context = browser.new_context(base_url=stack.base_url, user_agent=LAB_UA)
    try:
        yield context.new_page()
    finally:
        context.close()


def _run_from_editor(page: Page, title: str, line: str) -> None:
    page.goto("/editor")
    page.fill("#title", title)
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(line)
    page.click("#run-button")
    expect(page.locator("#follow-facts")).to_be_visible()


def test_author_stops_their_running_program_from_the_editor(page: Page, stack: Any) -> None:
    _run_from_editor(page, "stop me", "while True: setLEDs([RED] * getLEDCount())")
    stop = page.locator("#follow-stop")
    expect(stop).to_be_visible()
    expect(stop).to_have_text("■ Stop", timeout=QUEUE_WAIT_MS)  # it is running now
    stop.click()
    expect(page.locator("#follow-status")).to_have_text("cancelled")
    expect(page.locator("#follow-reason")).to_have_text("author")
    expect(stop).to_be_hidden()


def test_two_identical_machines_each_see_only_their_own_rows(browser: Browser, stack: Any) -> None:
    with stack.paused(), _lab_page(browser, stack) as alice, _lab_page(browser, stack) as bob:
        _run_from_editor(alice, "alice's", "setLEDs([GREEN] * getLEDCount())")
        _run_from_editor(bob, "bob's", "setLEDs([BLUE] * getLEDCount())")
        for me, mine, theirs in ((alice, "alice's", "bob's"), (bob, "bob's", "alice's")):
            me.goto("/queue")
            own = me.locator("#pending-list li", has_text=mine)
            other = me.locator("#pending-list li", has_text=theirs)
            expect(own).to_have_class(re.compile(r"\bmine\b"))
            expect(own.locator("button.cancel")).to_have_count(1)
            expect(other).not_to_have_class(re.compile(r"\bmine\b"))
            expect(other.locator("button")).to_have_count(0)
            assert "user_id" not in me.evaluate("fetch('/api/queue').then((r) => r.text())")
        # Bob's Cancel on his row cancels his program, not Alice's.
        bob.locator("#pending-list li.mine button.cancel").click()
        expect(bob.locator("#pending-list li", has_text="bob's")).to_have_count(0)
        expect(alice.locator("#pending-list li.mine", has_text="alice's")).to_be_visible()


def test_operator_console_follows_the_queue_in_place(page: Page, stack: Any) -> None:
    page.goto("/admin")
    page.fill("#token", stack.admin_token)
    page.click("button[type=submit]")
    expect(page.locator("#admin-blank")).to_be_visible()
    expect(page.locator("#admin-layers")).to_contain_text(
        re.compile(r"does not report its sandbox layers|Backend")
    )
    page.evaluate("window.__sameDocument = true")
    sub_id = stack.submit(HOLD, title="moderate me")
    now = page.locator(f'#admin-now [data-id="{sub_id}"]')
    expect(now).to_be_visible(timeout=QUEUE_WAIT_MS)
    assert page.evaluate("window.__sameDocument") is True  # it never reloaded itself
    page.click("#admin-stop")
    # The page after Stop already shows it: stopping, or gone to the finished list.
    expect(page.locator("#admin-now")).to_contain_text(re.compile("stopping…|Nothing running"))
    row = page.locator(f'#admin-recent li[data-id="{sub_id}"]')
    # The runner's Finished reaches the page through web's event stream: on a loaded machine
    # that can take longer than expect's default 5 s.
    # (The session's programs have a 3 s limit: on a loaded machine it can come before the
    # click; Stop's own outcome is asserted in tests/e2e and test_runner_stop_*.)
    expect(row.locator(".sub-reason")).to_have_text(
        re.compile("^(operator|time_limit)$"), timeout=QUEUE_WAIT_MS
    )
    row.locator("a", has_text="code & log").click()
    expect(page.locator("#admin-sub-source")).to_contain_text("while True:")
    expect(page.locator("#admin-sub-status")).to_have_text("cancelled")


def test_a_page_whose_script_loads_late_still_shows_the_latest_queue(
    page: Page, stack: Any
) -> None:
    """The event stream sends the queue once on connect, then only changes. A deferred script
    that registers after that (here: the console's own script, held back while the run ends)
    must still get the latest state; it used to keep "stopping…" for a run long finished."""
    page.goto("/admin")
    page.fill("#token", stack.admin_token)
    page.click("button[type=submit]")
    expect(page.locator("#admin-blank")).to_be_visible()
    sub_id = stack.submit(HOLD, title="ends while the page loads")
    _wait_for(stack, lambda q: (q.get("running") or {}).get("id") == sub_id)

    def hold_the_script_until_the_run_ended(route: Any) -> None:
        # The page's stream is open (common.js runs first) and sees the run end, while the
        # console's script has not registered yet.
        stack.admin("stop")
        _wait_for(stack, lambda q: any(s["id"] == sub_id for s in q.get("recent", [])))
        route.continue_()

    page.route("**/js/admin_page.js", hold_the_script_until_the_run_ended)
    page.reload()
    expect(page.locator("#admin-now")).to_contain_text("Nothing running")
    row = page.locator(f'#admin-recent li[data-id="{sub_id}"]')
    expect(row.locator(".sub-reason")).to_have_text(re.compile("^(operator|time_limit)$"))


def _wait_for(stack: Any, ready: Any, timeout_s: float = 40.0) -> None:
    """Poll ``/api/queue`` until ``ready(queue)`` holds."""
    deadline = time.monotonic() + timeout_s
    while not ready(stack.get_json("/api/queue")):
        if time.monotonic() > deadline:
            raise AssertionError(f"the queue never got there: {stack.get_json('/api/queue')}")
        time.sleep(0.1)
