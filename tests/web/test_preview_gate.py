"""Fair turns at the dry-run slots (``web.preview_gate``), with real threads."""

from __future__ import annotations

import threading
import time

from web.preview_gate import PER_GROUP, PreviewGate


def test_an_address_asking_again_and_again_does_not_overtake_another_one_waiting() -> None:
    gate = PreviewGate(slots=1)
    assert gate.acquire("hog-0", "hog-ip", 1.0) == "granted"
    order: list[str] = []

    def ask(user: str, group: str) -> None:
        if gate.acquire(user, group, 10.0) == "granted":
            order.append(user)
            gate.release(user)

    # Three more from the hog's address wait first, then one from a student's address.
    waiters = [threading.Thread(target=ask, args=(f"hog-{i}", "hog-ip")) for i in (1, 2, 3)]
    waiters.append(threading.Thread(target=ask, args=("student", "student-ip")))
    for t in waiters:
        t.start()
        time.sleep(0.05)  # arrival order
    assert gate.waiting == 4
    gate.release("hog-0")
    for t in waiters:
        t.join(10)
    assert order[0] == "student"  # served before the hog's second turn
    assert order[1:] == ["hog-1", "hog-2", "hog-3"]  # first come first served within one


def test_one_preview_per_user_and_a_bounded_wait() -> None:
    gate = PreviewGate(slots=1)
    assert gate.acquire("a", "ip", 1.0) == "granted"
    assert gate.acquire("a", "ip", 1.0) == "yours"
    assert gate.acquire("b", "ip", 0.05) == "timeout"
    assert gate.waiting == 0  # a request that gave up leaves no place behind
    gate.release("a")
    assert gate.acquire("b", "ip", 0.05) == "granted"


def test_one_address_cannot_take_every_waiting_place() -> None:
    gate = PreviewGate(slots=1)
    assert gate.acquire("running", "hog-ip", 1.0) == "granted"
    threads = [
        threading.Thread(target=gate.acquire, args=(f"hog-{i}", "hog-ip", 0.5))
        for i in range(PER_GROUP)
    ]
    for t in threads:
        t.start()
    time.sleep(0.1)
    assert gate.acquire("one-more", "hog-ip", 0.1) == "full"
    outcome: list[str] = []
    other = threading.Thread(target=lambda: outcome.append(gate.acquire("s", "other-ip", 5.0)))
    other.start()
    time.sleep(0.1)
    gate.release("running")
    other.join(5)
    for t in threads:
        t.join(5)
    assert outcome == ["granted"]
