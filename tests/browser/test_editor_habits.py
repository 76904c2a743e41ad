"""The editor as people use it (issue 11, item 7), in Debian's Chromium against the real runner
and gunicorn: Tab indents, a changed draft is never silently replaced, a new run starts clean,
the frame count and the log move during a run, following survives leaving the page, and your
turn is announced."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

QUEUE_WAIT_MS = 40_000
ON_TREE_TITLE = "▶ Your program is on the tree · ledtree"
FAILS_AT_3 = 'print("old run says hi")\nx = 0\nprint(1 / x)\n'
ANIMATION = """\
import time
for i in range(100):
    setLEDs([(2 * i, 0, 100, 100)] * getLEDCount())
    time.sleep(0.025)
"""


def _open_editor(page: Page, path: str = "/editor") -> None:
    page.goto(path)
    page.wait_for_function("() => document.body.dataset.draftSettled === 'true'")


def _text(page: Page) -> str:
    return str(page.evaluate("window.ledtreeEditor.getText()"))


def _set_program(page: Page, source: str) -> None:
    page.evaluate("(source) => window.ledtreeEditor.setText(source)", source)


def _change_draft(page: Page, line: str) -> None:
    """Type a line at the end of the draft, as a person would, and wait until it is saved."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(line)
    page.wait_for_function(
        "(line) => (localStorage.getItem('ledtree.draft') || '').includes(line)", arg=line
    )


class Dialogs:
    """Answers the page's confirm() questions as told, and keeps what they asked."""

    def __init__(self, page: Page) -> None:
        self.asked: list[str] = []
        self.accept = False
        page.on("dialog", self._answer)

    def _answer(self, dialog: Dialog) -> None:
        self.asked.append(dialog.message)
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()


def _example(page: Page, index: int) -> tuple[str, str]:
    """(slug, source) of the picker's option ``index``."""
    slug = page.locator("#example-picker option").nth(index).get_attribute("value") or ""
    source = page.evaluate(
        "(slug) => JSON.parse(document.getElementById('examples-data').textContent)"
        ".find((e) => e.slug === slug).source",
        slug,
    )
    return slug, str(source)


# 1. Tab


def test_tab_indents(page: Page, stack: Any) -> None:
    _open_editor(page)
    _set_program(page, "for i in range(3):\nprint(i)\n")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert _text(page) == "for i in range(3):\n    print(i)\n"
    expect(page.locator(".cm-content")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    assert _text(page) == "for i in range(3):\nprint(i)\n"


def test_esc_then_tab_leaves_the_editor(page: Page, stack: Any) -> None:
    _open_editor(page)
    _set_program(page, "x = 1\n")
    page.locator(".cm-content").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    inside = page.evaluate("() => Boolean(document.activeElement.closest('.cm-content'))")
    assert inside is False
    assert _text(page) == "x = 1\n"  # the Tab moved focus on; it did not indent


# 2. A changed draft is never silently replaced


def test_example_does_not_silently_replace_a_changed_draft(page: Page, stack: Any) -> None:
    dialogs = Dialogs(page)
    _open_editor(page)
    _change_draft(page, "# my own idea")
    draft = _text(page)
    slug, source = _example(page, 1)

    page.select_option("#example-picker", index=1)  # ... and Cancel
    assert len(dialogs.asked) == 1
    assert "Replace it?" in dialogs.asked[0]
    assert _text(page) == draft
    expect(page.locator("#example-picker")).to_have_value("")

    dialogs.accept = True
    page.select_option("#example-picker", index=1)  # ... and OK
    assert len(dialogs.asked) == 2
    assert _text(page) == source
    expect(page.locator("#example-picker")).to_have_value(slug)

    # The replace is an edit like any other: Ctrl+Z brings the draft back.
    page.locator(".cm-content").click()
    page.keyboard.press("Control+z")
    assert _text(page) == draft


def test_an_unchanged_draft_is_replaced_without_asking(page: Page, stack: Any) -> None:
    dialogs = Dialogs(page)
    _open_editor(page)
    _, first = _example(page, 1)
    _, second = _example(page, 2)
    page.select_option("#example-picker", index=1)
    assert _text(page) == first
    page.select_option("#example-picker", index=2)
    assert _text(page) == second
    assert dialogs.asked == []


def test_a_reload_after_editing_an_example_keeps_the_draft(page: Page, stack: Any) -> None:
    """The picker puts ?example= in the address; reloading must not swap the edits for it."""
    dialogs = Dialogs(page)
    _open_editor(page)
    page.select_option("#example-picker", index=1)
    _change_draft(page, "# edited after choosing")
    draft = _text(page)
    page.reload()
    page.wait_for_function("() => document.body.dataset.draftSettled === 'true'")
    assert _text(page) == draft
    assert dialogs.asked == []


def test_open_in_editor_does_not_silently_replace_a_changed_draft(page: Page, stack: Any) -> None:
    dialogs = Dialogs(page)
    _open_editor(page)
    _change_draft(page, "# mine, not the docs'")
    draft = _text(page)

    page.goto("/docs")
    sample = page.locator("#docs-body pre:has(button.open-in-editor)").first
    offered = sample.locator("code").inner_text()
    sample.locator("button.open-in-editor").click()  # ... and Cancel
    page.wait_for_url("**/editor")
    page.wait_for_function("() => document.body.dataset.draftSettled === 'true'")
    assert len(dialogs.asked) == 1
    assert "the program from the docs" in dialogs.asked[0]
    assert _text(page) == draft
    # Taken once: coming back later does not ask again.
    _open_editor(page)
    assert len(dialogs.asked) == 1

    dialogs.accept = True
    page.goto("/docs")
    page.locator("#docs-body pre:has(button.open-in-editor) button.open-in-editor").first.click()
    page.wait_for_url("**/editor")
    page.wait_for_function("() => document.body.dataset.draftSettled === 'true'")
    assert len(dialogs.asked) == 2
    assert _text(page).strip() == offered.strip()

    # The examples listed on /docs (links to /editor?example=...) ask the same way.
    _change_draft(page, "# changed again")
    changed = _text(page)
    dialogs.accept = False
    page.goto("/docs")
    page.locator(".example-links a").first.click()
    page.wait_for_function("() => document.body.dataset.draftSettled === 'true'")
    assert len(dialogs.asked) == 3
    assert _text(page) == changed
    expect(page.locator("#example-picker")).to_have_value("")


def test_open_in_editor_replaces_an_unchanged_draft_without_asking(page: Page, stack: Any) -> None:
    dialogs = Dialogs(page)
    _open_editor(page)  # the starter program, untouched
    page.goto("/docs")
    sample = page.locator("#docs-body pre:has(button.open-in-editor)").first
    offered = sample.locator("code").inner_text()
    sample.locator("button.open-in-editor").click()
    page.wait_for_url("**/editor")
    page.wait_for_function("() => document.body.dataset.draftSettled === 'true'")
    assert _text(page).strip() == offered.strip()
    assert dialogs.asked == []


# 3. A new run starts clean


def test_a_new_run_clears_the_old_log_and_error_marks(page: Page, stack: Any) -> None:
    _open_editor(page)
    _set_program(page, FAILS_AT_3)
    page.click("#run-button")
    expect(page.locator("#follow-status")).to_have_text("failed", timeout=QUEUE_WAIT_MS)
    expect(page.locator("#follow-error")).to_contain_text("ZeroDivisionError")
    expect(page.locator(".cm-line.cm-error-line")).to_have_text("print(1 / x)")
    expect(page.locator("#follow-log")).to_contain_text("old run says hi")

    # The fixed program waits in a held queue: nothing of the old run may still show.
    _set_program(page, 'print("new run")\nx = 1\nprint(1 / x)\n')
    with stack.paused():
        page.click("#run-button")
        expect(page.locator("#follow-status")).to_have_text("pending")
        expect(page.locator("#follow-error")).to_be_hidden()
        expect(page.locator(".cm-error-line")).to_have_count(0)
        expect(page.locator("#follow-log")).to_have_text("")
        expect(page.locator("#follow-frames")).to_have_text("–")
    expect(page.locator("#follow-status")).to_have_text("completed", timeout=QUEUE_WAIT_MS)
    expect(page.locator("#follow-log")).to_contain_text("new run")
    expect(page.locator("#follow-log")).not_to_contain_text("old run says hi")
    expect(page.locator("#follow-error")).to_be_hidden()


# 4. The frame count moves during the run

# Every change of the Frames cell, with the status shown at that moment.
_WATCH_FRAMES = """() => {
  window.framesSeen = [];
  const cell = document.getElementById('follow-frames');
  new MutationObserver(() => window.framesSeen.push(
    [document.getElementById('follow-status').textContent, cell.textContent]
  )).observe(cell, {childList: true, characterData: true, subtree: true});
}"""


def test_the_frame_count_moves_during_the_run(page: Page, stack: Any) -> None:
    _open_editor(page)
    _set_program(page, ANIMATION)
    page.evaluate(_WATCH_FRAMES)
    page.click("#run-button")
    expect(page.locator("#follow-status")).to_have_text("completed", timeout=QUEUE_WAIT_MS)
    seen = page.evaluate("window.framesSeen")
    while_running = [int(text) for status, text in seen if status == "running" and text != "–"]
    distinct = sorted(set(while_running))
    assert len(distinct) >= 3, seen  # it moved while the program ran, not just at the end
    assert while_running == sorted(while_running), "the count never goes back"
    final = int(page.locator("#follow-frames").inner_text())
    assert final >= distinct[-1]
    sub_id = page.evaluate("document.body.dataset.following")
    assert final == stack.get_json(f"/api/submissions/{sub_id}")["frames"]


# 5. The log follows its newest line

_AT_BOTTOM = """() => {
  const log = document.getElementById('follow-log');
  return [log.scrollHeight > log.clientHeight, log.scrollHeight - log.scrollTop - log.clientHeight];
}"""


def test_the_log_follows_its_newest_line(page: Page, stack: Any) -> None:
    _open_editor(page)
    _set_program(page, 'for i in range(200):\n    print(f"line {i}")\n')
    page.click("#run-button")
    expect(page.locator("#follow-status")).to_have_text("completed", timeout=QUEUE_WAIT_MS)
    expect(page.locator("#follow-log")).to_contain_text("line 199")
    scrolls, gap = page.evaluate(_AT_BOTTOM)
    assert scrolls, "200 lines overflow the log box"
    assert gap <= 2, f"the log is {gap}px above its newest line"


def test_the_log_stays_where_its_reader_scrolled(page: Page, stack: Any) -> None:
    """Scrolled up to read, the reader is not yanked to the bottom by new lines."""
    program = (
        "import time\n"
        'for i in range(150):\n    print(f"line {i}")\n'
        "time.sleep(2.2)\n"
        'for i in range(50):\n    print(f"more {i}")\n'
    )
    _open_editor(page)
    log = page.locator("#follow-log")
    for _attempt in range(3):
        _set_program(page, program)
        page.click("#run-button")
        expect(log).to_contain_text("line 149", timeout=QUEUE_WAIT_MS)
        if "more 0" in log.inner_text():
            continue  # the page only heard of it after the end: nothing came after scrolling up
        log.evaluate("(el) => { el.scrollTop = 0; }")
        expect(page.locator("#follow-status")).to_have_text("completed", timeout=QUEUE_WAIT_MS)
        expect(log).to_contain_text("more 49")
        assert log.evaluate("(el) => el.scrollTop") == 0
        return
    pytest.fail("the log never arrived in two parts (the page polls it every 1.5 s)")


# 6. Following survives navigation


def test_following_survives_leaving_the_page_and_coming_back(page: Page, stack: Any) -> None:
    _open_editor(page)
    _set_program(page, 'print("still followed")\nsetLEDs([GREEN] * getLEDCount())\n')
    with stack.paused():
        page.click("#run-button")
        expect(page.locator("#follow-status")).to_have_text("pending")
        sub_id = page.evaluate("document.body.dataset.following")
        page.goto("/queue")
        _open_editor(page)
        expect(page.locator("#follow-status")).to_have_text("pending")
        assert page.evaluate("document.body.dataset.following") == sub_id
        expect(page.locator("#follow-page")).to_have_attribute("href", f"/runs/{sub_id}")
    expect(page.locator("#follow-status")).to_have_text("completed", timeout=QUEUE_WAIT_MS)
    expect(page.locator("#follow-log")).to_contain_text("still followed")
    # Finished a moment ago: coming back still shows how it ended.
    page.reload()
    expect(page.locator("#follow-status")).to_have_text("completed")
    expect(page.locator("#follow-log")).to_contain_text("still followed")


# 7. Your turn is announced

# A recording stand-in for the browser's Notification (it still calls the real one).
_RECORD_NOTIFICATIONS = """
window.notified = [];
window.permissionRequests = 0;
const RealNotification = window.Notification;
class RecordingNotification extends RealNotification {
  constructor(title, options) {
    window.notified.push({title, body: options && options.body});
    super(title, options);
  }
}
RecordingNotification.requestPermission = () => {
  window.permissionRequests += 1;
  return Promise.resolve(RealNotification.permission);
};
window.Notification = RecordingNotification;
"""


def _run_and_wait(page: Page) -> None:
    """Press Run and wait until this new run (not the one before) has completed."""
    before = page.evaluate("document.body.dataset.following || ''")
    page.click("#run-button")
    page.wait_for_function(
        "(before) => (document.body.dataset.following || before) !== before", arg=before
    )
    expect(page.locator("#follow-status")).to_have_text("completed", timeout=QUEUE_WAIT_MS)


def test_your_turn_is_announced_in_the_title_and_a_notification(
    browser: Browser, stack: Any
) -> None:
    context = browser.new_context(base_url=stack.base_url)
    context.grant_permissions(["notifications"])
    context.add_init_script(_RECORD_NOTIFICATIONS)
    try:
        page = context.new_page()
        _open_editor(page)
        before = page.title()
        page.fill("#title", "blue wave")
        _set_program(page, ANIMATION)
        page.click("#run-button")
        page.wait_for_function(
            "(title) => document.title === title", arg=ON_TREE_TITLE, timeout=QUEUE_WAIT_MS
        )
        expect(page.locator("#follow-status")).to_have_text("running")
        expect(page.locator("#follow-status")).to_have_text("completed", timeout=QUEUE_WAIT_MS)
        assert page.title() == before
        told = {"title": "“blue wave” is on the tree", "body": "Look at the tree now!"}
        assert page.evaluate("window.notified") == [told]
        assert page.evaluate("window.permissionRequests") == 0  # already granted: nothing asked
    finally:
        context.close()


def test_notifications_are_asked_for_once_on_run_never_on_load(
    browser: Browser, stack: Any
) -> None:
    context = browser.new_context(base_url=stack.base_url)
    context.add_init_script(_RECORD_NOTIFICATIONS)
    try:
        page = context.new_page()
        _open_editor(page)
        assert page.evaluate("Notification.permission") == "default"
        assert page.evaluate("window.permissionRequests") == 0
        _set_program(page, "setLEDs([RED] * getLEDCount())\n")
        _run_and_wait(page)
        assert page.evaluate("window.permissionRequests") == 1
        _run_and_wait(page)
        assert page.evaluate("window.permissionRequests") == 1
        page.reload()
        _run_and_wait(page)
        assert page.evaluate("window.permissionRequests") == 0  # a new page: counted from 0
        assert page.evaluate("localStorage.getItem('ledtree.notify.asked')") == "1"
    finally:
        context.close()
