"""Real runner + real gunicorn: a run's recording, and the operator's idle show of starred runs."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LEDS, wait_for
from web.recordings import decode

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKEN = "e2e-operator-token"
RED = [255, 0, 0, 100]
ALL_RED = """\
import time
for _ in range(30):
    setLEDs([RED] * getLEDCount())
    time.sleep(0.05)
"""
GREEN = "setLEDs([GREEN] * getLEDCount())\n"


def test_a_starred_run_plays_on_the_tree_between_programs(stack: Any) -> None:
    stack.env["TREE_ADMIN_TOKEN"] = TOKEN
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    author = requests.Session()
    sid = stack.submit(ALL_RED, author).json()["id"]
    assert stack.wait_finished(sid, author)["status"] == "completed"
    run_url = f"{stack.url}/api/submissions/{sid}"
    wait_for(lambda: author.get(run_url, timeout=5).json()["recording_url"], "the recording")
    run = author.get(run_url, timeout=5).json()

    # The recording holds what the tree showed: red, at the live-view rate.
    rec = decode(requests.get(stack.url + run["recording_url"], timeout=5).content)
    assert rec.led_count == LEDS and len(rec) >= 10 and len(rec) == run["recorded_frames"]
    assert rec.frames[-1] == bytes(RED) * LEDS
    print(f"recorded {len(rec)} frames over {rec.times_ms[-1] / 1000:.2f} s")

    admin = {"Authorization": f"Bearer {TOKEN}"}
    star = requests.post(
        f"{run_url.replace('/api/', '/api/admin/')}/star", headers=admin, timeout=5
    )
    assert star.status_code == 200 and star.json()["starred"] == [sid]

    # A program in the queue goes first; once the queue is idle again the starred run plays.
    other = stack.submit(GREEN, author).json()["id"]
    assert stack.wait_finished(other, author)["status"] == "completed"

    def tree_is(colour: list[int]) -> bool:
        frame = requests.get(f"{stack.url}/api/tree", timeout=5).json()["frame"]
        return frame == [colour] * LEDS

    wait_for(lambda: tree_is(RED), "the starred run on the tree")
    show = requests.get(f"{stack.url}/api/admin/idle-show", headers=admin, timeout=5).json()
    assert show["enabled"] is True and show["playing"] == sid

    # A new program takes the tree at once, and the show resumes after it.
    third = stack.submit(GREEN, author).json()["id"]
    assert stack.wait_finished(third, author)["status"] == "completed"
    wait_for(lambda: tree_is(RED), "the show to resume")
    assert "too_fast" not in (stack.logs / "web.log").read_text()


def _setup_show(stack: Any) -> tuple[dict[str, str], Any]:
    """Runner + web with one starred red run playing; returns the operator's auth and a probe."""
    stack.env["TREE_ADMIN_TOKEN"] = TOKEN
    stack.start_runner()
    stack.start_web()
    stack.wait_online()
    sid = stack.submit(ALL_RED).json()["id"]
    assert stack.wait_finished(sid)["status"] == "completed"
    run_url = f"{stack.url}/api/submissions/{sid}"
    wait_for(lambda: requests.get(run_url, timeout=5).json()["recording_url"], "the recording")
    admin = {"Authorization": f"Bearer {TOKEN}"}
    star = f"{run_url.replace('/api/', '/api/admin/')}/star"
    assert requests.post(star, headers=admin, timeout=5).status_code == 200

    def tree() -> list[list[int]]:
        return requests.get(f"{stack.url}/api/tree", timeout=5).json()["frame"]  # type: ignore[no-any-return]

    wait_for(lambda: tree() == [RED] * LEDS, "the starred run on the tree")
    return admin, tree


def test_switching_the_show_off_brings_back_the_runners_idle_scene(stack: Any) -> None:
    admin, tree = _setup_show(stack)
    switch = f"{stack.url}/api/admin/idle-show"
    assert requests.post(switch, headers=admin, json={"on": False}, timeout=5).ok
    seen: list[list[list[int]]] = []

    def idle_scene_moves() -> bool:
        frame = tree()
        if frame != [RED] * LEDS and frame not in seen:
            seen.append(frame)
        return len(seen) >= 2  # not red any more, and changing: the runner's own scene

    wait_for(idle_scene_moves, "the runner's idle scene after the show was switched off")
    assert requests.post(switch, headers=admin, json={"on": True}, timeout=5).ok
    wait_for(lambda: tree() == [RED] * LEDS, "the show to play again")


def test_blank_during_the_show_stays_dark(stack: Any) -> None:
    admin, tree = _setup_show(stack)
    dark = [[0, 0, 0, 0]] * LEDS
    # Each round presses Blank at a random moment of the show's 25 frames a second; a Blank
    # less than half a slot after a show frame used to be refused by the runner (too_fast),
    # leaving the show's frame on the tree (about one press in three).
    for _ in range(6):
        assert requests.post(f"{stack.url}/api/admin/blank", headers=admin, timeout=5).ok
        wait_for(lambda: tree() == dark, "the tree to go dark")
        assert requests.post(f"{stack.url}/api/admin/resume", headers=admin, timeout=5).ok
        wait_for(lambda: tree() == [RED] * LEDS, "the show to play again")
    assert requests.post(f"{stack.url}/api/admin/blank", headers=admin, timeout=5).ok
    wait_for(lambda: tree() == dark, "the tree to go dark")
    # Switching the show off and resuming the queue does not undo the operator's Blank.
    switch = f"{stack.url}/api/admin/idle-show"
    assert requests.post(switch, headers=admin, json={"on": False}, timeout=5).ok
    assert requests.post(f"{stack.url}/api/admin/resume", headers=admin, timeout=5).ok
    for _ in range(20):  # the show's settling time and more: nothing replaces the blank
        assert tree() == dark
        time.sleep(0.15)
