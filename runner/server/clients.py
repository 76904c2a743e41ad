"""The runner server's open connections: accepting them (a bounded number) and broadcasting.

One thread runs ``accept_loop``; each accepted socket becomes a
``runner.server.connection.Connection`` with its own reader and writer threads. The server's
lock guards the set of connections.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time

from protocol.messages import Message
from runner.server.connection import Connection, Handler

logger = logging.getLogger(
    "runner.server.tree_server"
)  # one logger for the whole server, as before

MAX_CONNECTIONS = 32


class ClientHub:
    """Accepts connections up to MAX_CONNECTIONS and sends events to the greeted ones."""

    def __init__(self, lock: threading.RLock, handle: Handler) -> None:
        self._lock = lock
        self._handle = handle
        self._clients: set[Connection] = set()
        self._count = 0

    def accept_loop(self, listener: socket.socket, wake_fd: int, stopping: threading.Event) -> None:
        """Accept connections until ``stopping`` is set (a byte on ``wake_fd`` wakes the loop)."""
        with selectors.DefaultSelector() as sel:
            sel.register(listener, selectors.EVENT_READ)
            sel.register(wake_fd, selectors.EVENT_READ)
            while not stopping.is_set():
                for key, _ in sel.select():
                    if key.fileobj is listener:
                        self._accept(listener)

    def connections(self) -> list[Connection]:
        """The open connections now (take the lock around this to act on a stable set)."""
        with self._lock:
            return list(self._clients)

    def broadcast(self, msg: Message) -> None:
        """Send one event to every greeted client."""
        with self._lock:
            for conn in self._clients:
                if conn.greeted:
                    conn.send(msg)

    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, _ = listener.accept()
        except OSError as exc:  # e.g. out of file descriptors: keep serving the others
            logger.warning("accept failed: %s", exc)
            time.sleep(0.1)
            return
        with self._lock:
            if len(self._clients) >= MAX_CONNECTIONS:
                sock.close()
                logger.warning("refused a connection: %d already open", MAX_CONNECTIONS)
                return
            self._count += 1
            conn = Connection(sock, self._count, self._handle, self._forget)
            self._clients.add(conn)
        conn.start()

    def _forget(self, conn: Connection) -> None:
        with self._lock:
            self._clients.discard(conn)
