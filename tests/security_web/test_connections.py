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
