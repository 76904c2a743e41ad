"""The web side of the runner socket (SPEC §5): connect with back-off, handshake, read events.

One background thread owns the connection: it connects, sends ``Hello``, waits for ``Welcome``
and then reads messages, handing each to the listener (the scheduler). Requests from request
threads (``check``, ``preview``, ``run``, ``stop``, ``set_frame``, ``release_frame``) write
under a lock; ``check`` and ``preview`` wait for the answer carrying their ``request_id``. When
the connection breaks the listener hears ``on_runner_offline`` and the thread reconnects with
back-off.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from typing import BinaryIO, Protocol

from protocol.framing import ProtocolError, read_message, write_message
from protocol.messages import (
    PROTOCOL_VERSION,
    Check,
    CheckResult,
    Error,
    Frame,
    Hello,
    Message,
    Preview,
    PreviewResult,
    ProgramError,
    ReleaseFrame,
    Run,
    SetFrame,
    Stop,
    StopReason,
    Welcome,
)

logger = logging.getLogger(__name__)


class RunnerUnavailable(ConnectionError):
    """The runner is not connected, so the request could not be sent."""


class RunnerBusy(RuntimeError):
    """The runner refused a dry run: every ``TREE_PREVIEW_SLOTS`` slot is taken."""


class RunnerListener(Protocol):
    """What the runner client tells (the scheduler implements it)."""

    def on_runner_online(self, welcome: Welcome) -> None:
        """The handshake succeeded."""

    def on_runner_offline(self) -> None:
        """The connection is gone."""

    def on_runner_message(self, msg: Message) -> None:
        """Any other message from the runner."""


class RunnerLink(Protocol):
    """The interface the scheduler uses; ``RunnerClient`` is the real one."""

    @property
    def online(self) -> bool:
        """True while a handshaken connection is up."""

    def check(self, source: str, timeout: float = 2.0) -> list[ProgramError] | None:
        """Errors of ``source`` under the runner's policy, or None when there was no answer."""

    def preview(
        self, source: str, time_limit_s: float | None = None, timeout: float = 30.0
    ) -> PreviewResult | None:
        """A dry run's result, or None when there was no answer within ``timeout``.

        Raises:
            RunnerUnavailable: the runner is offline. RunnerBusy: all dry-run slots are taken.
        """

    def run(self, submission_id: str, source: str, time_limit_s: float) -> None:
        """Ask the runner to run a program."""

    def stop(self, submission_id: str | None = None, reason: StopReason = "operator") -> None:
        """Ask the runner to stop the running program."""

    def set_frame(self, leds: list[list[int]], request_id: str | None = None) -> None:
        """Show one frame directly; it stays until the next program or ``release_frame``."""

    def release_frame(self) -> None:
        """Let the runner's idle scene take over from a frame set directly."""


class RunnerClient:
    """A reconnecting client of the runner's Unix socket."""

    def __init__(
        self,
        socket_path: str,
        listener: RunnerListener | None = None,
        *,
        backoff_s: tuple[float, float] = (0.1, 2.0),
        handshake_timeout_s: float = 5.0,
    ) -> None:
        self.socket_path = socket_path
        self.listener = listener
        self.backoff_s = backoff_s
        self.handshake_timeout_s = handshake_timeout_s
        self.welcome: Welcome | None = None
        self.last_error: str | None = None
        self._sock: socket.socket | None = None
        self._wfile: BinaryIO | None = None
        self._write_lock = threading.Lock()
        self._checks: dict[str, tuple[threading.Event, list[CheckResult]]] = {}
        self._previews: dict[str, tuple[threading.Event, list[PreviewResult | Error]]] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def online(self) -> bool:
        """True while a handshaken connection is up."""
        return self.welcome is not None and self._sock is not None

    def start(self) -> None:
        """Start the connection thread (daemon: it must never keep the process alive)."""
        self._thread = threading.Thread(target=self._loop, name="runner-client", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop reconnecting, drop the connection and join the thread."""
        self._stopping.set()
        self._drop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("runner client thread did not stop")

    # --- requests ------------------------------------------------------------------------

    def check(self, source: str, timeout: float = 2.0) -> list[ProgramError] | None:
        """Errors of ``source`` under the runner's policy, or None when there was no answer."""
        request_id = uuid.uuid4().hex
        done = threading.Event()
        box: list[CheckResult] = []
        self._checks[request_id] = (done, box)
        try:
            self._send(Check(request_id=request_id, source=source))
            if not done.wait(timeout) or not box:
                return None
            return list(box[0].errors)
        except RunnerUnavailable:
            return None
        finally:
            self._checks.pop(request_id, None)

    def preview(
        self, source: str, time_limit_s: float | None = None, timeout: float = 30.0
    ) -> PreviewResult | None:
        """A dry run's result, or None when there was no answer within ``timeout``.

        Raises:
            RunnerUnavailable: the runner is offline. RunnerBusy: all dry-run slots are taken.
        """
        request_id = uuid.uuid4().hex
        done = threading.Event()
        box: list[PreviewResult | Error] = []
        self._previews[request_id] = (done, box)
        try:
            self._send(Preview(request_id=request_id, source=source, time_limit_s=time_limit_s))
            answered = done.wait(timeout) and box
        finally:
            self._previews.pop(request_id, None)
        if not answered:
            if not self.online:  # the connection dropped while it ran
                raise RunnerUnavailable("the tree went offline during the dry run")
            return None
        answer = box[0]
        if isinstance(answer, Error):
            if answer.code == "busy":
                raise RunnerBusy(answer.message)
            raise RunnerUnavailable(f"the runner refused the dry run: {answer.message}")
        return answer

    def run(self, submission_id: str, source: str, time_limit_s: float) -> None:
        """Ask the runner to run a program; answered by Started ... Finished events."""
        self._send(Run(submission_id=submission_id, source=source, time_limit_s=time_limit_s))

    def stop(self, submission_id: str | None = None, reason: StopReason = "operator") -> None:
        """Ask the runner to stop the running program."""
        self._send(Stop(submission_id=submission_id, reason=reason))

    def set_frame(self, leds: list[list[int]], request_id: str | None = None) -> None:
        """Show one frame directly (blanking, the idle show); it stays until the next program
        or ``release_frame``. A refusal comes as an ``Error`` event carrying ``request_id``."""
        self._send(SetFrame(leds=leds, request_id=request_id))

    def release_frame(self) -> None:
        """Let the runner's idle scene take over from a frame set directly (no answer)."""
        self._send(ReleaseFrame())

    def _send(self, msg: Message) -> None:
        with self._write_lock:
            wfile = self._wfile
            if wfile is None or self.welcome is None:
                raise RunnerUnavailable("the tree is offline")
            try:
                write_message(wfile, msg)
            except (OSError, ValueError) as exc:
                raise RunnerUnavailable(f"the tree is offline ({exc})") from None

    # --- connection thread -----------------------------------------------------------------

    def _loop(self) -> None:
        delay = self.backoff_s[0]
        while not self._stopping.is_set():
            try:
                sock = self._connect()
            except OSError as exc:
                self.last_error = str(exc)
                self._stopping.wait(delay)
                delay = min(delay * 2, self.backoff_s[1])
                continue
            try:
                self._serve(sock)
            except Exception:  # a bug here must not end reconnection
                if not self._stopping.is_set():  # closing cancels the read: not a failure
                    logger.exception("runner connection failed")
            finally:
                was_online = self.welcome is not None
                self._drop()
                # A refused handshake (version mismatch) keeps backing off; a lost runner is
                # retried soon.
                delay = self.backoff_s[0] if was_online else min(delay * 2, self.backoff_s[1])
                if was_online and self.listener is not None:
                    try:
                        self.listener.on_runner_offline()
                    except Exception:
                        logger.exception("runner listener failed")
            self._stopping.wait(delay)

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.handshake_timeout_s)
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        return sock

    def _serve(self, sock: socket.socket) -> None:
        rfile = sock.makefile("rb")
        wfile = sock.makefile("wb")
        with self._write_lock:
            self._sock, self._wfile = sock, wfile
        try:
            self._handshake_and_read(sock, rfile, wfile)
        finally:
            rfile.close()

    def _handshake_and_read(self, sock: socket.socket, rfile: BinaryIO, wfile: BinaryIO) -> None:
        write_message(wfile, Hello(version=PROTOCOL_VERSION))
        first = read_message(rfile)
        if isinstance(first, Error):
            self.last_error = f"runner refused the handshake: {first.message}"
            logger.error("%s", self.last_error)
            return
        if not isinstance(first, Welcome):
            self.last_error = f"unexpected handshake answer: {first!r}"
            return
        sock.settimeout(None)
        self.welcome = first
        self.last_error = None
        logger.info("runner online: %d LEDs, backend %s", first.led_count, first.backend)
        if self.listener is not None:
            self.listener.on_runner_online(first)
        while not self._stopping.is_set():
            try:
                msg = read_message(rfile)
            except ProtocolError as exc:
                logger.warning("bad message from runner: %s", exc)
                if exc.fatal:
                    return
                continue
            if msg is None:
                return
            self._dispatch(msg)
            if isinstance(msg, Frame):
                # Let the viewers woken by this frame send it before the next buffered one is
                # read and replaces it (under gevent this yields to them; with threads it is
                # a GIL hand-off).
                time.sleep(0)

    def _dispatch(self, msg: Message) -> None:
        if isinstance(msg, CheckResult):
            waiter = self._checks.get(msg.request_id)
            if waiter is not None:
                waiter[1].append(msg)
                waiter[0].set()
            return
        if isinstance(msg, PreviewResult | Error):
            preview = self._previews.get(msg.request_id or "")
            if preview is not None:
                preview[1].append(msg)
                preview[0].set()
                return
            if isinstance(msg, PreviewResult):  # its asker gave up waiting
                return
        if self.listener is not None:
            try:
                self.listener.on_runner_message(msg)
            except Exception:  # the listener's bug must not drop the connection
                logger.exception("runner listener failed on %s", msg.kind)

    def _drop(self) -> None:
        with self._write_lock:
            sock, wfile = self._sock, self._wfile
            self._sock, self._wfile, self.welcome = None, None, None
        for done, _box in list(self._previews.values()):  # nobody will answer them now
            done.set()
        if wfile is not None:
            with contextlib.suppress(OSError):  # unflushed bytes to a dead peer
                wfile.close()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
