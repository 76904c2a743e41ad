"""``POST /api/preview`` over the real runner and real gunicorn: what the dry run predicts."""

from __future__ import annotations

import requests

from tests.e2e.conftest import LEDS, Stack

RED = """\
import time
for _ in range(20):
    setLEDs([[255, 0, 0, 100]] * getLEDCount())
    time.sleep(0.1)
"""

FAILS_AT_LINE_5 = """\
import time
setLEDs([[0, 0, 255, 100]] * getLEDCount())
time.sleep(2)
x = 0
print(1 / x)
"""


def _preview(stack: Stack, source: str) -> requests.Response:
    return requests.post(f"{stack.url}/api/preview", json={"source": source}, timeout=60)


def test_preview_of_an_all_red_program_is_red(stack: Stack) -> None:
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    resp = _preview(stack, RED)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "completed" and body["error"] is None
    assert body["led_count"] == LEDS
    assert 1.9 <= body["duration_s"] <= 2.2  # 20 sleeps of 0.1 s on the virtual clock
    assert body["frames_data"], body
    assert all(led == [255, 0, 0, 100] for frame in body["frames_data"] for led in frame)
    # A preview never reaches the queue or the tree.
    assert requests.get(f"{stack.url}/api/queue", timeout=5).json()["recent"] == []


def test_a_program_failing_at_line_5_is_reported_with_that_line(stack: Stack) -> None:
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    body = _preview(stack, FAILS_AT_LINE_5).json()
    assert body["status"] == "failed" and body["reason"] == "error"
    assert body["error"]["type"] == "ZeroDivisionError" and body["error"]["line"] == 5
    assert 1.9 <= body["duration_s"] <= 2.5


def test_preview_with_the_runner_offline_says_so(stack: Stack) -> None:
    stack.start_web()
    resp = _preview(stack, RED)
    assert resp.status_code == 503
    assert "offline" in resp.json()["error"]["message"]


def test_a_queued_program_s_dry_run_predicts_its_failure(stack: Stack) -> None:
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    session = requests.Session()
    blocker = "import time\nsetLEDs([[0, 9, 0, 50]] * getLEDCount())\ntime.sleep(4)\n"
    first = stack.submit(blocker, session).json()
    sid = stack.submit(FAILS_AT_LINE_5, session).json()["id"]
    box: dict[str, object] = {}

    def predicted() -> bool:
        box.update(session.get(f"{stack.url}/api/submissions/{sid}", timeout=5).json())
        return box["predicted_s"] is not None

    stack.wait_for(predicted, "the dry run of the queued program")
    assert box["predicted_error"] == "fails at line 5 after 2.0 s: ZeroDivisionError"
    assert box["predicted_error_line"] == 5
    blocker_state = session.get(f"{stack.url}/api/submissions/{first['id']}", timeout=5).json()
    assert 3.9 <= blocker_state["predicted_s"] <= 4.2  # 4 s of sleep on the virtual clock
