"""Fault injection with the real processes: kill -9 each piece, break the disk, squat the socket.

Every test starts the real runner (``python -m runner``, virtual tree) and real gunicorn on a
temporary socket, uploads folder and free port (``bench/load_sim.py``'s ``Stack``), then breaks
something and checks that nothing a user submitted is lost and the queue goes on. Waits use
generous bounds; nothing here asserts on speed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LONG = "import time\nn = getLEDCount()\nwhile True:\n    setLEDs([RED] * n)\n    time.sleep(0.05)\n"
SHORT = "setLEDs([GREEN] * getLEDCount())\nprint('short one ran')\n"
FINAL = {"completed", "failed", "cancelled"}


def is_final(sub: dict[str, Any]) -> bool:
    return sub.get("status") in FINAL


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc), e.g. the runner's sandbox children."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tids = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for tid in tids:
            try:
                text = Path(f"/proc/{current}/task/{tid}/children").read_text()
            except FileNotFoundError:
                continue
            for child in map(int, text.split()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_gone(pids: set[int], timeout: float = 30.0) -> set[int]:
    """Wait until none of ``pids`` is alive; return those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return {p for p in pids if alive(p)}


def queue(client: Any) -> dict[str, Any]:
    status, _, body = client.call("GET", "/api/queue")
    assert status == 200, (status, body)
    return body  # type: ignore[no-any-return]


class BusyTree(NamedTuple):
    """A stack where alice's endless program runs and bob's short one waits behind it."""

    stack: Any
    alice: Any
    bob: Any
    running: dict[str, Any]
    waiting: dict[str, Any]
    children: set[int]  # the runner's sandbox processes while alice's program runs


def busy_tree(
    make_stack: Callable[..., Any], client_for: Callable[..., Any], suffix: str
) -> BusyTree:
    """Start a stack, run alice's endless program and queue bob's short one behind it."""
    stack = make_stack({"TREE_TIME_LIMIT": "20", "TREE_FPS": "40"}).start()
    alice, bob = client_for(stack, f"alice/{suffix}"), client_for(stack, f"bob/{suffix}")
    running = alice.submit(LONG)
    alice.wait_for(running["id"], lambda s: s["status"] == "running")
    waiting = bob.submit(SHORT)
    return BusyTree(stack, alice, bob, running, waiting, descendants(stack.runner.pid))


def test_runner_killed_mid_run_fails_that_run_pauses_then_resumes(
    make_stack: Callable[..., Any], client_for: Callable[..., Any]
) -> None:
    stack, alice, bob, a, b, children = busy_tree(make_stack, client_for, "1")

    stack.kill("runner")

    lost = alice.wait_for(a["id"], is_final)
    assert (lost["status"], lost["reason"]) == ("failed", "runner_lost")
    # The queue waits while the tree is offline: bob's program is still pending.
    for _ in range(10):
        q = queue(bob)
        assert q["runner_online"] is False
        assert bob.get(b["id"])["status"] == "pending"
        time.sleep(0.1)
    health = stack.health()
    assert health is not None and not health.get("runner_online")
    # The sandbox child of the killed runner does not outlive its time limit.
    assert not wait_gone(children, timeout=40), "a sandbox child outlived its runner"

    stack.start_runner()
    done = bob.wait_for(b["id"], is_final)
    assert (done["status"], done["reason"]) == ("completed", "ended")
    assert queue(bob)["runner_online"] is True


def test_web_killed_mid_run_loses_nothing_and_keeps_order(
    make_stack: Callable[..., Any], client_for: Callable[..., Any]
) -> None:
    stack = make_stack({"TREE_TIME_LIMIT": "3", "TREE_FPS": "40"}).start()
    people = [client_for(stack, f"person-{i}/1") for i in range(4)]
    first = people[0].submit(LONG)
    people[0].wait_for(first["id"], lambda s: s["status"] == "running")
    waiting = [p.submit(SHORT) for p in people[1:]]
    ids = [s["id"] for s in waiting]
    assert [s["id"] for s in queue(people[0])["pending"]] == ids

    stack.kill("web")
    stack.start_web()
    stack.wait_until("web")

    pending = [s["id"] for s in queue(people[0])["pending"]]
    assert [i for i in pending if i in ids] == ids, "pending order changed across the restart"
    assert set(pending) - set(ids) <= {first["id"]}
    interrupted = people[0].get(first["id"])
    assert interrupted["status"] in {"pending", "running", *FINAL}
    if interrupted["status"] == "pending":
        assert pending[0] == first["id"], "the interrupted run was re-queued behind later ones"

    results = [
        p.wait_for(s["id"], is_final, timeout=90)
        for p, s in zip(people, [first, *waiting], strict=True)
    ]
    for sub in results[1:]:
        assert (sub["status"], sub["reason"]) == ("completed", "ended"), sub
    starts = [sub["started_at"] for sub in results[1:]]
    assert starts == sorted(starts), "FCFS order broken after the restart"


def test_sandbox_child_killed_fails_that_run_and_the_next_starts(
    make_stack: Callable[..., Any], client_for: Callable[..., Any]
) -> None:
    stack, alice, bob, a, b, children = busy_tree(make_stack, client_for, "2")
    assert children, "no sandbox child found under the runner"
    for pid in children:
        os.kill(pid, signal.SIGKILL)

    killed = alice.wait_for(a["id"], is_final)
    assert (killed["status"], killed["reason"]) == ("failed", "killed")
    started = bob.wait_for(b["id"], lambda s: s.get("started_at") is not None)
    done = bob.wait_for(b["id"], is_final)
    assert (done["status"], done["reason"]) == ("completed", "ended")
    print(f"next program started {started['started_at']} after the kill at {killed['finished_at']}")
    assert stack.runner.poll() is None, "the runner died with its child"


def test_read_only_uploads_give_a_clear_5xx_and_store_nothing(
    make_stack: Callable[..., Any], client_for: Callable[..., Any]
) -> None:
    # Web runs as nobody, as in its container: root would ignore the folder's permissions.
    stack = make_stack({"TREE_TIME_LIMIT": "5"}, web_user="65534").start()
    alice = client_for(stack, "alice/3")
    ok = alice.submit(SHORT)
    assert alice.wait_for(ok["id"], is_final)["status"] == "completed"
    before = sorted(os.listdir(stack.uploads))

    stack.uploads.chmod(0o555)
    try:
        status, _, body = alice.call("POST", "/api/submissions", {"source": SHORT})
        assert 500 <= status < 600, (status, body)
        assert isinstance(body, dict) and body["error"]["message"], body
        assert "Traceback" not in str(body)
        assert sorted(os.listdir(stack.uploads)) == before, "something was half-written"
        assert queue(alice)["pending"] == []
    finally:
        stack.uploads.chmod(0o777)

    again = alice.submit(SHORT)
    assert alice.wait_for(again["id"], is_final)["status"] == "completed"
    assert alice.get(ok["id"])["status"] == "completed"


def _runner(stack: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runner"],
        env=stack.env,
        cwd=stack.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_stale_socket_file_is_replaced(
    make_stack: Callable[..., Any], client_for: Callable[..., Any]
) -> None:
    stack = make_stack()
    Path(stack.socket).parent.mkdir(parents=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(stack.socket)  # bound, never listening, then closed: what a killed runner leaves
    dead.close()
    assert Path(stack.socket).exists()
    stack.start()
    alice = client_for(stack, "alice/4")
    sub = alice.submit(SHORT)
    assert alice.wait_for(sub["id"], is_final)["status"] == "completed"


def test_second_runner_on_a_live_socket_refuses_and_the_first_serves_on(
    make_stack: Callable[..., Any], client_for: Callable[..., Any]
) -> None:
    stack = make_stack().start()
    second = _runner(stack)
    out, _ = second.communicate(timeout=60)
    assert second.returncode != 0
    assert "another runner" in out and "Traceback" not in out, out
    alice = client_for(stack, "alice/5")
    sub = alice.submit(SHORT)
    assert alice.wait_for(sub["id"], is_final)["status"] == "completed"


def test_regular_file_at_socket_path_is_refused_and_kept(make_stack: Callable[..., Any]) -> None:
    stack = make_stack()
    path = Path(stack.socket)
    path.parent.mkdir(parents=True)
    path.write_text("not a socket: someone's file")
    runner = _runner(stack)
    out, _ = runner.communicate(timeout=60)
    assert runner.returncode != 0
    assert "not a socket" in out and "Traceback" not in out, out
    assert path.read_text() == "not a socket: someone's file"
