"""One client must not be able to take the single gunicorn worker's connections from everyone.

gunicorn's gevent worker serves at most ``worker_connections`` (``TREE_WORKER_CONNECTIONS``,
2,000 by default) connections at once; beyond that it stops accepting, and new visitors wait in
the kernel's backlog. An ``/api/events`` stream never ends on its own, and a client that never
reads it is never dropped, so one laptop opening that many streams (a loop of raw sockets, no
browser needed) takes the whole site down for the room until it lets go. Measured on the code
this was written against: 2,010 streams from one address, then ``GET /healthz`` from another
timed out after 20 s, twice. The test uses a small connection budget so it stays quick; the
attack is the same at 2,000.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.security_web.conftest import Client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONNECTIONS = 40  # TREE_WORKER_CONNECTIONS for this test's gunicorn


def open_streams(url: str, address: str, count: int) -> list[socket.socket]:
    """``count`` event streams from ``address`` that are opened and then never read."""
    host, port = url.split("//", 1)[1].split(":")
    streams = []
    for _ in range(count):
        s = socket.create_connection((host, int(port)), timeout=10, source_address=(address, 0))
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: tree\r\nAccept: text/event-stream\r\n\r\n")
        streams.append(s)
    return streams


def test_one_client_cant_take_every_connection_with_event_streams(start_stack: Any) -> None:
    stack = start_stack(TREE_WORKER_CONNECTIONS=str(CONNECTIONS))
    attacker = open_streams(stack.url, "127.0.0.2", CONNECTIONS + 5)
    try:
        visitor = Client(stack.url, "127.0.0.3", "Visitor/1.0")
        try:
            answer = visitor.request("GET", "/healthz", timeout=15)
        except TimeoutError:
            pytest.fail(
                f"one address holding {CONNECTIONS + 5} event streams kept everyone else out: "
                "GET /healthz from another address had no answer within 15 s"
            )
        assert answer.status == 200
    finally:
        for s in attacker:
            s.close()


def stall_bodies(url: str, address: str, count: int, length: int) -> list[socket.socket]:
    """``count`` JSON posts from ``address`` that announce ``length`` bytes and send one less."""
    host, port = url.split("//", 1)[1].split(":")
    head = (
        "POST /api/submissions HTTP/1.1\r\nHost: tree\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
    body = b'{"source": "setLEDs([RED] * getLEDCount())\\n", "pad": "' + b"x" * length
    stalled = []
    for _ in range(count):
        s = socket.create_connection((host, int(port)), timeout=10, source_address=(address, 0))
        s.sendall(head + body[: length - 1])
        stalled.append(s)
    return stalled


def test_one_client_cant_take_every_connection_with_unfinished_request_bodies(
    start_stack: Any,
) -> None:
    """gunicorn gives the headers 5 s (``keepalive``); the body has no deadline at all."""
    stack = start_stack(TREE_WORKER_CONNECTIONS=str(CONNECTIONS))
    attacker = stall_bodies(stack.url, "127.0.0.2", CONNECTIONS + 5, 1000)
    try:
        visitor = Client(stack.url, "127.0.0.3", "Visitor/1.0")
        try:
            answer = visitor.request("GET", "/healthz", timeout=30)
        except TimeoutError:
            pytest.fail(
                f"one address holding {CONNECTIONS + 5} posts that never finish their body kept "
                "everyone else out: GET /healthz from another address had no answer within 30 s"
            )
        assert answer.status == 200
    finally:
        for s in attacker:
            s.close()


def worker_rss_bytes(arbiter_pid: int) -> int:
    """Resident memory of gunicorn's (one) worker process."""
    children = Path(f"/proc/{arbiter_pid}/task/{arbiter_pid}/children").read_text().split()
    assert len(children) == 1, children
    for line in Path(f"/proc/{children[0]}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


CONTAINER_LIMIT = 256 * 1024 * 1024  # compose.yaml: web's mem_limit


def test_unfinished_request_bodies_cant_push_web_past_its_memory_limit(start_stack: Any) -> None:
    """Each post within the 1 MiB request limit, but none ever finishes: memory must not add up.

    Measured on the code this was written against: 200 such posts from one address took the
    worker from 78 MB to 322 MB resident, held for as long as the sockets stay open; in the
    container (``mem_limit: 256m``) the kernel kills web, which restarts with the queue rebuilt
    from disk: the program on the tree runs again from the start and every limit is forgotten.
    """
    stack = start_stack()
    before = worker_rss_bytes(stack.web.pid)
    attacker = stall_bodies(stack.url, "127.0.0.2", 200, 1024 * 1024 - 100)
    try:
        time.sleep(5)  # the worker has read what it was sent
        during = worker_rss_bytes(stack.web.pid)
    finally:
        for s in attacker:
            s.close()
    assert during < CONTAINER_LIMIT, (
        f"200 unfinished posts from one address took web from {before // 2**20} MiB to "
        f"{during // 2**20} MiB resident (its container's limit is 256 MiB)"
    )
