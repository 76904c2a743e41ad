"""Connections one address may hold (SPEC §9): live-view streams and request bodies.

The single gevent worker serves at most ``TREE_WORKER_CONNECTIONS`` connections at once and
then stops accepting, so anything that lets one client hold connections for long is a way to
shut everyone else out (red team web round four, findings 1 and 2):

* ``/api/events`` streams never end on their own. One address may hold ``TREE_STREAMS_PER_IP``
  of them (default: a quarter of the connections, room for a lab behind one NAT address); the
  next gets 429 with a sentence. A stream whose client stops reading is dropped once a write
  has waited ``SEND_DEADLINE_S`` (EventSource reconnects by itself when it is alive after all).
* A request body is read in full here, before any view or guard sees it, within
  ``TREE_BODY_TIMEOUT`` seconds (408 otherwise); gunicorn's own deadline covers the headers
  only. One address may be sending ``TREE_BODIES_PER_IP`` bodies at once (429 beyond), and the
  whole worker ``BODIES_AT_ONCE``, so bodies in memory stay below ``BODIES_AT_ONCE`` times the
  1 MiB request limit whoever sends them, far under web's ``mem_limit``.

Deadlines need gevent (the production worker): under plain threads (tests, Flask's dev server)
a read blocks only its own thread, and the caps still apply.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, cast

from flask import Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import ClientDisconnected

from web.config import WebConfig
from web.security import refusal

SEND_DEADLINE_S = 20.0  # a stream write blocked this long: the viewer stopped reading
STREAM_SEND_BUFFER = 64 * 1024  # bytes; a second or so of frames at 500 LEDs
BODIES_AT_ONCE = 64  # request bodies being received at once, all addresses together
BUSY_RETRY_S = 5


class PerKeyCap:
    """At most ``limit`` holders per key (and ``total`` in all); thread- and greenlet-safe."""

    def __init__(self, limit: int, total: int | None = None) -> None:
        self.limit = limit
        self.total = total
        self._held: dict[str, int] = {}
        self._count = 0
        self._lock = threading.Lock()

    def acquire(self, key: str) -> bool:
        """Take a place for ``key``; False when its places (or all places) are taken."""
        with self._lock:
            if self._held.get(key, 0) >= self.limit:
                return False
            if self.total is not None and self._count >= self.total:
                return False
            self._held[key] = self._held.get(key, 0) + 1
            self._count += 1
            return True

    def release(self, key: str) -> None:
        """Give back a place taken by ``acquire``."""
        with self._lock:
            left = self._held.get(key, 0) - 1
            if left > 0:
                self._held[key] = left
            else:
                self._held.pop(key, None)
            self._count = max(0, self._count - 1)

    def held(self, key: str) -> int:
        """Places ``key`` holds now."""
        with self._lock:
            return self._held.get(key, 0)


class SendStalled(OSError):
    """A stream's write waited too long: its viewer stopped reading (ends it like EPIPE)."""

    def __init__(self) -> None:
        super().__init__(errno.EPIPE, "the viewer stopped reading its event stream")


class BodyLate(Exception):
    """A request's body did not arrive within ``TREE_BODY_TIMEOUT``."""


def deadline(seconds: float, exc: BaseException) -> AbstractContextManager[object]:
    """Raise ``exc`` in this greenlet if the block takes longer than ``seconds`` (gevent only)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("socket"):
        return contextlib.nullcontext()
    gevent = importlib.import_module("gevent")  # present wherever the socket is patched
    return cast("AbstractContextManager[object]", gevent.Timeout(seconds, exc))


def guarded_stream(chunks: Iterator[bytes], send_deadline_s: float) -> Iterator[bytes]:
    """``chunks``, each of which the server must manage to send within ``send_deadline_s``.

    The server writes a chunk between our ``yield`` and the next request for one, in this same
    greenlet: a write still blocked at the deadline raises ``SendStalled`` there, and gunicorn
    closes the connection as it does for a viewer that went away.
    """
    try:
        for chunk in chunks:
            with deadline(send_deadline_s, SendStalled()):
                yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def stream_cap() -> PerKeyCap:
    """This app's cap on live-view streams per address."""
    return cast("PerKeyCap", current_app.extensions["stream_cap"])


def stream_response(make: Callable[[], Iterator[bytes]], **kwargs: Any) -> ResponseReturnValue:
    """An event stream for this request's address, or 429 with a sentence when the address
    holds its ``TREE_STREAMS_PER_IP`` streams already. Its place is given back when the
    server closes the response, however the stream ended."""
    cap, key = stream_cap(), g.ip_id
    if not cap.acquire(key):
        message = (
            f"Your network already has {cap.limit} live views open, the most allowed at once; "
            "close some tabs or try again in a minute."
        )
        return refusal(429, "too_many_streams", message, retry_after=60)
    sock = request.environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        # A small send buffer (no autotuning up to megabytes): a viewer that stops reading
        # blocks our writes within seconds, so the deadline can tell; a slow one lags less.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SEND_BUFFER)
    response = Response(guarded_stream(make(), SEND_DEADLINE_S), **kwargs)
    response.call_on_close(lambda: cap.release(key))
    return response


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _read_body(config: WebConfig, bodies: PerKeyCap) -> ResponseReturnValue | None:
    """Read the whole body now, within the deadline and the per-address cap (a before_request)."""
    if not _has_body():
        return None
    key = g.ip_id
    if not bodies.acquire(key):
        who = "Your network is" if bodies.held(key) >= bodies.limit else "Too many people are"
        message = f"{who} sending requests at once; please wait a moment and try again."
        return refusal(429, "busy", message, retry_after=BUSY_RETRY_S)
    late = BodyLate()
    try:
        with deadline(config.body_timeout, late):
            # Cached for the view; a form is parsed here so its fields are read in full too.
            request.get_data(cache=True, parse_form_data=True)
    except BodyLate as exc:
        if exc is not late:
            raise
        message = (
            f"The request did not arrive in full within {config.body_timeout:g} s, "
            "so it was dropped; please try again."
        )
        return refusal(408, "request_timeout", message)
    except ClientDisconnected:
        return refusal(400, "bad_request", "The request ended before its body was complete.")
    finally:
        bodies.release(key)
    return None


def init_app(app: Flask, config: WebConfig) -> None:
    """Install the body intake (before every other reader of the body) and the stream cap."""
    bodies = PerKeyCap(config.bodies_per_ip, total=BODIES_AT_ONCE)
    app.extensions["body_cap"] = bodies
    app.extensions["stream_cap"] = PerKeyCap(config.stream_cap)

    @app.before_request
    def read_body() -> ResponseReturnValue | None:
        return _read_body(config, bodies)
