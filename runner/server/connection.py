"""One client connection of the runner's socket server: a reader thread and a writer thread.

The reader turns bytes into messages (bounded by ``max_bytes``) and hands each to the server;
the writer drains a bounded outbox, so a client that stops reading can never block the program
that is running or make the runner buffer without limit: when its outbox is full it is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
from collections.abc import Callable

from protocol.framing import MAX_MESSAGE_BYTES, ProtocolError, encode_message, read_message
from protocol.messages import Error, Message

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 2000  # messages; frames are capped at view_fps, so this is over a minute of backlog
# Bytes queued for one client at most: with 5,000 LEDs a frame is ~90 KB, so a count alone would
# let 32 stalled clients pin gigabytes. A client this far behind is dropped.
OUTBOX_BYTES = 8 * 1024 * 1024
FLUSH_TIMEOUT_S = 2.0

# handle(connection, message) -> False to hang up after what it queued has been sent.
Handler = Callable[["Connection", Message], bool]


class Connection:
    """A connected client; ``send`` never blocks, ``abort`` may be called from any thread."""

    def __init__(
        self,
        sock: socket.socket,
        number: int,
        handle: Handler,
        on_closed: Callable[[Connection], None],
        max_bytes: int = MAX_MESSAGE_BYTES,
        outbox_limit: int = OUTBOX_LIMIT,
    ) -> None:
        self.number = number
        self.greeted = False  # set by the server after a successful Hello
        self._sock = sock
        self._handle = handle
        self._on_closed = on_closed
        self._max_bytes = max_bytes
        self._outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=outbox_limit)
        self._queued_bytes = 0
        self._bytes_lock = threading.Lock()
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name=f"conn-{number}-read")
        self._writer = threading.Thread(target=self._write_loop, name=f"conn-{number}-write")
        self._reader.daemon = self._writer.daemon = True

    def start(self) -> None:
        """Start serving this connection."""
        self._writer.start()
        self._reader.start()

    def send(self, msg: Message) -> None:
        """Queue a message; a client too slow to keep up is dropped instead of waited for."""
        if self._closing.is_set():
            return
        data = encode_message(msg)
        with self._bytes_lock:
            over = self._queued_bytes + len(data) > OUTBOX_BYTES
            if not over:
                self._queued_bytes += len(data)
        try:
            if over:
                raise queue.Full
            self._outbox.put_nowait(data)
        except queue.Full:
            logger.warning("connection %d is not reading; dropping it", self.number)
            self.abort()

    def abort(self) -> None:
        """Hang up now, without flushing (server shutdown, slow client)."""
        self._closing.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        # Wake a writer idle on an empty outbox; a full one means it is busy and will notice.
        with contextlib.suppress(queue.Full):
            self._outbox.put_nowait(None)

    @property
    def closing(self) -> bool:
        """True once the connection is being (or has been) hung up."""
        return self._closing.is_set()

    def join(self, timeout: float) -> None:
        """Wait for both threads to finish."""
        self._reader.join(timeout)
        self._writer.join(timeout)

    def _read_loop(self) -> None:
        stream = self._sock.makefile("rb")
        try:
            while not self._closing.is_set() and self._read_one(stream):
                pass
        except Exception:  # our own bug: drop this connection, never the runner
            logger.exception("connection %d failed", self.number)
        finally:
            stream.close()
            self._finish()

    def _read_one(self, stream: socket.SocketIO | object) -> bool:
        try:
            msg = read_message(stream, self._max_bytes)  # type: ignore[arg-type]
        except ProtocolError as exc:
            self.send(Error(code=exc.code, message=str(exc)[:1000]))
            return not exc.fatal
        except (OSError, ValueError):
            return False  # reset by peer, or closed under us by abort()
        if msg is None:
            return False
        return self._handle(self, msg)

    def _write_loop(self) -> None:
        while True:
            data = self._outbox.get()
            if data is None or self._closing.is_set():
                return
            with self._bytes_lock:
                self._queued_bytes -= len(data)
            try:
                self._sock.sendall(data)
            except OSError:
                self.abort()
                return

    def _finish(self) -> None:
        # Let the writer flush what was queued (e.g. a version-mismatch Error), then hang up.
        try:
            self._outbox.put(None, timeout=FLUSH_TIMEOUT_S)
        except queue.Full:
            self._closing.set()
        self._writer.join(FLUSH_TIMEOUT_S)
        self.abort()
        self._writer.join(FLUSH_TIMEOUT_S)
        self._sock.close()
        self._on_closed(self)
