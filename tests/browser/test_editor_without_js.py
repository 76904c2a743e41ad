"""The editor with JavaScript off, in real Chromium: a refused Run gives the program back.

Without JavaScript the Run button posts the plain form to ``/upload``; a refusal answers with the
editor again, holding the program as typed, the nickname and title, and the reason with its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

TYPED = "n = getLEDCount()\nfor i in range(n)\n    setLEDs([RED] * n)  # mine\n"


@pytest.fixture
def no_js_page(browser: Any, stack: Any) -> Iterator[Page]:
    """A fresh page on the real stack with JavaScript disabled."""
    context = browser.new_context(base_url=stack.base_url, java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_a_refused_run_without_javascript_keeps_the_program(no_js_page: Page) -> None:
    page = no_js_page
    page.goto("/editor")
    page.fill("#source", TYPED)
    page.fill("#name", "Ada")
    page.fill("#title", "Red loop")
    with page.expect_navigation():
        page.click("#run-button")
    expect(page.locator("#follow-error")).to_contain_text("expected ':'")
    expect(page.locator("#follow-error")).to_contain_text("line 2")
    expect(page.locator("#follow-error-line")).to_have_text("for i in range(n)")
    assert page.input_value("#source").replace("\r\n", "\n") == TYPED
    assert (page.input_value("#name"), page.input_value("#title")) == ("Ada", "Red loop")
    # Fixed in place and sent again, it is queued.
    page.fill("#source", TYPED.replace("range(n)\n", "range(n):\n"))
    with page.expect_navigation():
        page.click("#run-button")
    # (The session's stack is shared: another test's program may still be ahead of it.)
    expect(page.locator("#follow-position")).to_have_text(re.compile(r"^#\d+$"))
