"""Real runner + real gunicorn: submit over HTTP, watch it run, see its frames and its errors."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RED_THEN_END = """\
for i in range(30):
    setLEDs([[255, 0, 0, 100]] * getLEDCount())
print("done", getLEDCount())
"""

FAILS_ON_LINE_4 = """\
count = getLEDCount()
states = [[0, 0, 255, 100] for _ in range(count)]
setLEDs(states)
setLEDs([[0, 0, 0, 150]] * count)
"""

FOREVER = """\
import time
while True:
    setLEDs([[0, 255, 0, 100]] * getLEDCount())
"""


class EventReader:
    """Reads ``/api/events`` in a thread and keeps every event."""

    def __init__(self, url: str) -> None:
        self.events: list[tuple[str, Any]] = []
        self.resp = requests.get(f"{url}/api/events", stream=True, timeout=30)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        kind = None
        try:
            for line in self.resp.iter_lines(decode_unicode=True):
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind:
                    self.events.append((kind, json.loads(line[6:])))
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed by the test

    def close(self) -> None:
        self.resp.close()
        self.thread.join(5)


def test_program_runs_to_completion_with_frames(stack: Any) -> None:
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    assert requests.get(f"{stack.url}/api/tree", timeout=5).json()["led_count"] == 20
    viewer = EventReader(stack.url)
    try:
        session = requests.Session()
        resp = stack.submit(RED_THEN_END, session)
        assert resp.status_code == 201, resp.text
        sid = resp.json()["id"]
        done = stack.wait_finished(sid, session)
        assert (done["status"], done["reason"]) == ("completed", "ended")
        assert done["frames"] == 30 and done["log"] == "done 20\n"
        assert next(stack.uploads.glob(f"*_{sid}.py")).read_text() == RED_THEN_END

        def seen_completed() -> bool:
            return any(k == "submission" and d["id"] == sid and d["status"] == "completed"
                       for k, d in list(viewer.events))  # fmt: skip

        stack.wait_for(seen_completed, "the stream to report the result")
    finally:
        viewer.close()
    stack.wait_for(lambda: stack.health()["viewers"] == 0, "the closed stream to be noticed")
    frames = [d for k, d in viewer.events if k == "frame" and d["submission_id"] == sid]
    assert frames and all(d["leds"] == [[255, 0, 0, 100]] * 20 for d in frames)
    statuses = [d["status"] for k, d in viewer.events if k == "submission" and d["id"] == sid]
    assert statuses[0] == "pending" and statuses[-1] == "completed"


def test_failing_program_reports_its_line(stack: Any) -> None:
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    sid = stack.submit(FAILS_ON_LINE_4).json()["id"]
    done = stack.wait_finished(sid)
    assert done["status"] == "failed" and done["error"]["line"] == 4
    assert "brightness 150" in done["error"]["message"]


def test_rejected_by_the_runners_check_with_line(stack: Any) -> None:
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    resp = stack.submit("x = 1\ny = eval('2')\n")  # valid Python, refused by the policy
    assert resp.status_code == 400
    assert resp.json()["error"]["line"] == 2
    resp = stack.submit("x = 1\nif x\n")
    assert resp.status_code == 400 and resp.json()["error"]["line"] == 2
    assert not list(stack.uploads.glob("*.py"))


def test_runner_lost_mid_run_then_queue_resumes(stack: Any) -> None:
    stack.env["TREE_TIME_LIMIT"] = "60"  # the endless program must still run when we look
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    first = stack.submit(FOREVER).json()["id"]
    second = stack.submit(RED_THEN_END).json()["id"]

    def running() -> bool:
        q = requests.get(f"{stack.url}/api/queue", timeout=5).json()
        return bool(q["running"]) and q["running"]["id"] == first

    stack.wait_for(running, "first program to start")
    stack.stop_runner(signal.SIGKILL)
    lost = stack.wait_finished(first)
    assert (lost["status"], lost["reason"]) == ("failed", "runner_lost")
    stack.wait_online(False)
    q = requests.get(f"{stack.url}/api/queue", timeout=5).json()
    assert q["runner_online"] is False and [p["id"] for p in q["pending"]] == [second]
    stack.start_runner()
    done = stack.wait_finished(second)
    assert (done["status"], done["reason"]) == ("completed", "ended")


def test_pending_survives_a_web_restart(stack: Any) -> None:
    stack.start_web()  # no runner: everything waits
    ids = [stack.submit(f"print({i})\n").json()["id"] for i in range(2)]
    stack.web.send_signal(signal.SIGTERM)
    stack.web.wait(30)
    stack.start_web()
    q = requests.get(f"{stack.url}/api/queue", timeout=5).json()
    assert [p["id"] for p in q["pending"]] == ids
    stack.start_runner()
    for sid in ids:
        assert stack.wait_finished(sid)["status"] == "completed"


def test_operator_stops_and_blanks_the_tree(stack: Any) -> None:
    stack.env["TREE_ADMIN_TOKEN"] = "e2e-operator"
    stack.env["TREE_TIME_LIMIT"] = "60"
    auth = {"Authorization": "Bearer e2e-operator"}
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    sid = stack.submit(FOREVER).json()["id"]

    def running() -> bool:
        q = requests.get(f"{stack.url}/api/queue", timeout=5).json()
        return bool(q["running"]) and q["running"]["id"] == sid

    stack.wait_for(running, "the program to start")
    assert requests.post(f"{stack.url}/api/admin/stop", timeout=5).status_code == 401
    assert requests.post(f"{stack.url}/api/admin/stop", headers=auth, timeout=5).ok
    done = stack.wait_finished(sid)
    assert (done["status"], done["reason"]) == ("cancelled", "operator")
    assert requests.post(f"{stack.url}/api/admin/blank", headers=auth, timeout=5).ok

    def dark() -> bool:
        frame = requests.get(f"{stack.url}/api/tree", timeout=5).json()["frame"]
        return frame == [[0, 0, 0, 0]] * 20

    stack.wait_for(dark, "the tree to show the blank frame")
    assert requests.get(f"{stack.url}/api/queue", timeout=5).json()["paused"] is True


def test_healthz_shows_the_sandbox_layers_the_runner_reports(stack: Any) -> None:
    """``/healthz`` names every sandbox layer with its state, as the runner's children have it."""
    import os

    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    layers = requests.get(f"{stack.url}/healthz", timeout=5).json()["sandbox_layers"]
    assert set(layers) == {"rlimits", "netns", "no_new_privs", "landlock", "uid", "seccomp"}
    if os.geteuid() == 0:  # as root (CI) every layer holds; elsewhere uid and netns may not
        assert all(state.startswith("ok") for state in layers.values()), layers
    else:
        assert layers["seccomp"].startswith("ok") and layers["rlimits"] == "ok"
