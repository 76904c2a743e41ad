"""The pages in a real browser against the real runner and gunicorn (SPEC §4 acceptance)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "runner" / "examples"

# Bounded waits for things that depend on the queue moving (runs last up to 3 s each).
QUEUE_WAIT_MS = 40_000

# A program that keeps one distinctive colour up until the time limit ends it.
HOLD_COLOUR = """\
import time
while True:
    setLEDs([(10, 200, 30, 50)] * getLEDCount())
    time.sleep(0.05)
"""


def wait_for(condition: Callable[[], bool], timeout_s: float = QUEUE_WAIT_MS / 1000) -> None:
    """Poll ``condition`` until it holds (a bounded wait for the queue, not a speed check)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.1)


def _type_program(page: Page, lines: list[str]) -> None:
    """Replace the editor's text by typing, as a person would (no indentation: see below)."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # CodeMirror auto-indents after Enter, so typed lines start at column 0 and carry no indent.
    for i, line in enumerate(lines):
        if i:
            page.keyboard.press("Enter")
        page.keyboard.type(line)


def test_editor_run_reaches_completed(page: Page, stack: Any) -> None:
    """Type a program, click Run: the panel follows it to `completed`, with its log."""
    page.goto("/editor")
    _type_program(page, ['print("hello tree")', "setLEDs([GREEN] * getLEDCount())"])
    page.click("#run-button")
    expect(page.locator("#follow-facts")).to_be_visible()
    expect(page.locator("#follow-status")).to_have_text("completed", timeout=QUEUE_WAIT_MS)
    expect(page.locator("#follow-log")).to_contain_text("hello tree")
    assert page.locator("#follow-frames").inner_text() == "1"


def test_editor_draft_survives_reload(page: Page, stack: Any) -> None:
    """What was typed is still in the editor after a reload."""
    page.goto("/editor")
    _type_program(page, ["# my draft 42", "setLEDs([RED] * getLEDCount())"])
    page.wait_for_timeout(600)  # the draft is saved a moment after the last keystroke
    page.reload()
    expect(page.locator(".cm-content")).to_contain_text("# my draft 42")


def test_syntax_error_is_marked_on_its_line(page: Page, stack: Any) -> None:
    """A program that does not compile is refused, its line highlighted in the editor."""
    page.goto("/editor")
    _type_program(page, ["n = getLEDCount()", "x = 1", "y = = 2", "setLEDs([RED] * n)"])
    page.click("#run-button")
    expect(page.locator("#follow-error")).to_contain_text("line 3")
    marked = page.locator(".cm-line.cm-error-line")
    expect(marked).to_have_count(1)
    expect(marked).to_have_text("y = = 2")
    assert page.locator("#follow-facts").is_hidden()


def test_upload_shows_position(page: Page, stack: Any) -> None:
    """Uploading a file while another program runs answers with a queue position and ETA."""
    for _ in range(2):  # two 3 s runs ahead: the upload surely waits
        stack.submit(HOLD_COLOUR, title="keeps the tree busy")
    page.goto("/upload")
    page.set_input_files(
        "#file",
        files=[{"name": "sparkle.py", "mimeType": "text/x-python",
                "buffer": b"setLEDs([BLUE] * getLEDCount())\n"}],
    )  # fmt: skip
    expect(page.locator("#dz-text")).to_contain_text("sparkle.py")
    page.click("#upload-button")
    expect(page.locator("#follow-position")).to_have_text(re.compile(r"^#\d+$"))
    expect(page.locator("#follow-eta")).to_have_text(re.compile(r"^~\d"))


def test_upload_rejects_a_non_python_file(page: Page, stack: Any) -> None:
    """A file that is not .py gets the error, not a place in the queue."""
    page.goto("/upload")
    page.set_input_files(
        "#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}]
    )
    page.click("#upload-button")
    expect(page.locator("#follow-error")).to_contain_text(".py")
    assert page.locator("#follow-facts").is_hidden()


def test_queue_updates_without_reload(page: Page, stack: Any) -> None:
    """/queue shows a program moving to recently finished while the page stays loaded."""
    page.goto("/queue")
    page.evaluate("window.__sameDocument = true")
    sub_id = stack.submit("setLEDs([WHITE] * getLEDCount())\n", title="short and sweet")
    row = page.locator(f'#recent-list li[data-id="{sub_id}"]')
    expect(row).to_be_visible(timeout=QUEUE_WAIT_MS)
    expect(row.locator(".badge")).to_have_text("completed")
    expect(row).to_contain_text("short and sweet")
    assert page.evaluate("window.__sameDocument") is True


def test_tree_shows_the_colours_the_runner_showed(page: Page, stack: Any) -> None:
    """The canvas draws each LED in the colour of the frame the runner showed (L applied).

    The colour is the LED's light with the hardware's gamma, exposed for the screen
    (docs/runner.md, "Live view colours"): green 200 at L = 50 lights the LED to 12.7 % and
    draws as 197, clearly lit, as the real LED looks; the hue is kept.
    """
    page.goto("/tree")
    stack.submit(HOLD_COLOUR, title="green at half brightness")
    page.wait_for_function(
        "() => JSON.stringify((window.ledtreeLastFrame || [])[0]) === '[10,200,30,50]'",
        timeout=QUEUE_WAIT_MS,
    )
    shown = stack.get_json("/api/tree")["frame"]
    assert shown is not None and shown[0] == [10, 200, 30, 50]
    pixels = page.evaluate(_READ_LED_PIXELS)
    assert len(pixels) == 60
    expected = [10, 197, 30]  # window.ledtreeColour([10, 200, 30, 50])
    assert page.evaluate("window.ledtreeColour([10, 200, 30, 50])") == expected
    for rgb in pixels:
        assert all(abs(a - b) <= 2 for a, b in zip(rgb, expected, strict=True)), pixels


# Wait for two animation frames (so the canvas was drawn with the frame), then read the pixel
# at the centre of every LED's last drawn position.
_READ_LED_PIXELS = """
() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => {
  const canvas = document.getElementById('tree-canvas');
  const ctx = canvas.getContext('2d');
  resolve(window.ledtreeView.points.map((p) =>
    Array.from(ctx.getImageData(Math.round(p.x), Math.round(p.y), 1, 1).data.slice(0, 3))));
})))
"""


def test_operator_stops_the_running_program(page: Page, stack: Any) -> None:
    """Logged in, the operator stops what runs with one click; it ends cancelled/operator."""
    page.goto("/admin")
    page.fill("#token", stack.admin_token)
    page.click("button[type=submit]")
    expect(page.locator("#admin-blank")).to_be_visible()
    sub_id = stack.submit(HOLD_COLOUR, title="too bright")
    wait_for(lambda: stack.get_json(f"/api/submissions/{sub_id}")["status"] == "running")
    # No reload by hand: the console follows the queue and enables Stop by itself.
    expect(page.locator("#admin-stop")).to_be_enabled()
    page.click("#admin-stop")
    expect(page.locator(".flash")).to_contain_text("Stopping")
    wait_for(lambda: stack.get_json(f"/api/submissions/{sub_id}")["status"] != "running")
    sub = stack.get_json(f"/api/submissions/{sub_id}")
    assert (sub["status"], sub["reason"]) == ("cancelled", "operator")


def test_tree_says_offline_when_the_runner_is_away(offline_page: Page) -> None:
    """Without a runner, /tree shows "tree offline", and the editor still queues programs."""
    offline_page.goto("/tree")
    expect(offline_page.locator("#tree-offline")).to_be_visible()
    expect(offline_page.locator("#runner-status")).to_have_text("tree offline")
    offline_page.goto("/editor")
    offline_page.click("#run-button")
    expect(offline_page.locator("#follow-status")).to_have_text("pending")
    expect(offline_page.locator("#follow-position")).to_have_text("#1")


def test_queue_says_the_pending_wait_for_the_tree(offline_page: Page) -> None:
    """Without a runner, /queue shows each pending row's status and why the queue waits."""
    offline_page.goto("/editor")
    offline_page.click("#run-button")
    expect(offline_page.locator("#follow-status")).to_have_text("pending")
    offline_page.goto("/queue")
    offline_page.wait_for_function("() => Number(document.body.dataset.queueVersion || 0) > 0")
    expect(offline_page.locator("#pending-list li .badge").first).to_have_text("pending")
    expect(offline_page.locator("#queue-note")).to_have_text(
        "Tree offline: the queue waits until it is back."
    )


def test_example_picker_loads_an_example(page: Page, stack: Any) -> None:
    """Choosing an example puts its source in the editor and its title in the form."""
    page.goto("/editor")
    options = page.locator("#example-picker option")
    assert options.count() > 1
    slug = options.nth(1).get_attribute("value")
    page.select_option("#example-picker", index=1)
    source = (EXAMPLES / f"{slug}.py").read_text()
    first_line = source.strip().splitlines()[0]
    expect(page.locator(".cm-content")).to_contain_text(first_line)
    expect(page.locator("#title")).to_have_value(options.nth(1).inner_text())


def test_own_pending_submission_can_be_cancelled(page: Page, stack: Any) -> None:
    """On /queue the author's waiting program is highlighted with Cancel; others' are not.
    Cancelled before it ran, it is kept like any finished one: its page shows its code."""
    stack.submit(HOLD_COLOUR, title="someone else's")
    theirs = stack.submit(HOLD_COLOUR, title="theirs")  # ours waits >= 3 s behind these two
    page.goto("/editor")
    page.fill("#title", "mine to cancel")
    _type_program(page, ["print('mine')"])
    page.keyboard.press("Control+Enter")  # the editor's Run shortcut
    expect(page.locator("#follow-status")).to_have_text("pending")
    page.goto("/queue")
    mine = page.locator("#pending-list li.mine", has_text="mine to cancel")
    expect(mine).to_be_visible()
    expect(page.locator(f'#pending-list li[data-id="{theirs}"] button')).to_have_count(0)
    mine.locator("button.cancel").click()
    expect(mine).to_have_count(0)
    cancelled = page.locator("#recent-list li.mine", has_text="mine to cancel")
    expect(cancelled.locator(".badge")).to_have_text("cancelled")
    cancelled.locator("a.run-link").click()
    expect(page.locator("#run-source")).to_contain_text("print('mine')")


def test_upload_by_drag_and_drop(page: Page, stack: Any) -> None:
    """A .py file dropped on the drop zone is queued."""
    page.goto("/upload")
    page.evaluate(
        """() => {
          const data = new DataTransfer();
          data.items.add(new File(["setLEDs([PINK] * getLEDCount())\\n"], "dropped.py"));
          const zone = document.getElementById("dropzone");
          zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true}));
          zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }"""
    )
    expect(page.locator("#dz-text")).to_contain_text("dropped.py")
    page.click("#upload-button")
    expect(page.locator("#follow-status")).to_have_text(re.compile("pending|running|completed"))
    wait_for(lambda: any(s["title"] == "dropped.py" for s in _all(stack)))


def _all(stack: Any) -> list[dict[str, Any]]:
    queue = stack.get_json("/api/queue")
    return [*([queue["running"]] if queue["running"] else []), *queue["pending"], *queue["recent"]]


def test_docs_example_opens_in_the_editor(page: Page, stack: Any) -> None:
    """A code sample in /docs opens in the editor, ready to run."""
    page.goto("/docs")
    sample = page.locator("#docs-body pre:has(button.open-in-editor)").first
    first_line = sample.locator("code").inner_text().strip().splitlines()[0]
    sample.locator("button.open-in-editor").click()
    page.wait_for_url("**/editor")
    expect(page.locator(".cm-content")).to_contain_text(first_line)
