"""Real runner + real gunicorn: an author stops their own running program (SPEC §4 DELETE)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FOREVER = """\
import time
while True:
    setLEDs([[0, 255, 0, 100]] * getLEDCount())
    time.sleep(0.02)
"""
# Issue 9's acceptance: a stopped program has ended within 2 s of its author's DELETE.
STOP_BOUND_S = 2.0


def test_author_stops_their_running_program(stack: Any) -> None:
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    author = requests.Session()
    author.headers["User-Agent"] = "Author/1.0"
    neighbour = requests.Session()
    neighbour.headers["User-Agent"] = "Neighbour/1.0"
    sid = stack.submit(FOREVER, author).json()["id"]
    url = f"{stack.url}/api/submissions/{sid}"
    wait_for(lambda: author.get(url, timeout=5).json()["status"] == "running", "it to run")

    assert neighbour.delete(url, timeout=5).status_code == 403
    assert author.get(url, timeout=5).json()["status"] == "running"

    asked = time.monotonic()
    resp = author.delete(url, timeout=5)
    assert resp.status_code in (200, 202), resp.text
    wait_for(
        lambda: author.get(url, timeout=5).json()["status"] != "running",
        "the program to end",
        timeout=STOP_BOUND_S,
    )
    print(f"stopped {time.monotonic() - asked:.3f} s after the author's DELETE")
    done = author.get(url, timeout=5).json()
    assert (done["status"], done["reason"]) == ("cancelled", "author")
    assert done["mine"] is True and done["duration_s"] < stack_time_limit(stack)
    # The tree is free for the next program at once.
    nxt = stack.submit("setLEDs([[0, 0, 9, 100]] * getLEDCount())\n", author).json()["id"]
    assert stack.wait_finished(nxt, author)["status"] == "completed"


def stack_time_limit(stack: Any) -> float:
    return float(stack.env["TREE_TIME_LIMIT"])
