"""``python -m runner``: serve the tree on a Unix socket (SPEC §5).

One thread accepts connections (``runner.server.clients``); each connection has a reader and a
writer thread (``runner.server.connection``). A program runs in a worker thread through
``Supervisor.run``; its events go to every greeted client. Between programs a frame loop shows
the idle scene (``runner.server.display``). Nothing a client sends can stop the server: bad
messages get an ``Error``, oversized ones drop that connection. SIGTERM/SIGINT stop the running
program, blank the LEDs and remove the socket (``runner.server.main``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from protocol.messages import (
    PROTOCOL_VERSION,
    Check,
    CheckResult,
    Error,
    Finished,
    Hello,
    Idle,
    Message,
    Ping,
    Pong,
    Preview,
    ProgramError,
    ReleaseFrame,
    Run,
    SetFrame,
    Stop,
    Welcome,
)
from runner.config import RunnerConfig
from runner.leds import Strip
from runner.protect import Protector
from runner.server.clients import ClientHub
from runner.server.connection import Connection
from runner.server.display import HOLD_AFTER_RUN_S, TreeDisplay, idle_loop
from runner.server.socket_file import bind_socket, remove_socket

if TYPE_CHECKING:
    from runner.supervise.preview import PreviewReport

logger = logging.getLogger(__name__)

MAX_WAITING_CHECKS = 8  # checks queued or running at once; more are answered "busy"
SHUTDOWN_REASON = "runner_lost"  # what a program cut short by a runner shutdown ends as
JOIN_TIMEOUT_S = 10.0


class RunnerServer:
    """The runner's socket server; ``serve_forever`` in one thread, ``shutdown`` from another."""

    def __init__(
        self,
        config: RunnerConfig,
        strip: Strip,
        positions: Sequence[tuple[float, float, float]] | None = None,
        hold_after_run_s: float = HOLD_AFTER_RUN_S,
        required_layers: Collection[str] | None = None,
    ) -> None:
        """``required_layers``: the sandbox layers every child (run, dry run, check) must
        report in force before it gets a program; the start-up check's finding (default:
        ``runner.supervise.spawn.required_layers``)."""
        from runner.leds.layout import load_positions
        from runner.supervise.check import Checker
        from runner.supervise.preview import Previewer
        from runner.supervise.supervisor import Supervisor

        self.config = config
        self.strip = strip
        self.positions = list(positions) if positions is not None else load_positions(config)
        required = required_layers
        # PROTECT: one for the tree, programs and idle show alike (one flash window).
        protector = Protector.from_config(config, len(strip), self.positions)
        self.supervisor = Supervisor(
            config, strip, self.positions, prestart=True, required=required, protector=protector
        )
        self.checker = Checker(config, required=required)
        self.previewer = Previewer(
            config, self.positions, led_count=len(strip), prestart=True, required=required
        )
        self.ready = threading.Event()  # set once the socket listens
        self.listener: socket.socket | None = None  # pre-bound by main(); else bound on serve
        self._done = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.RLock()  # guards the strip between programs, busy state, clients
        self._clients = ClientHub(self._lock, self._handle)
        self._display = TreeDisplay(
            strip, self.positions, self.broadcast, hold_after_run_s, protector
        )
        self._busy_with: str | None = None
        self._next_set_frame = 0.0
        # Checks compile in confined children; they run here, never on a connection's reader
        # thread, so a Stop on the same connection is never queued behind them.
        self._checks = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="check")
        self._checks_waiting = threading.BoundedSemaphore(MAX_WAITING_CHECKS)
        self._worker: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    # --- lifecycle -------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Listen and serve until ``shutdown``; then blank the LEDs and remove the socket."""
        listener = self.listener or bind_socket(self.config)
        idle = threading.Thread(
            target=idle_loop,
            args=(self.run_once, self.config.fps, self._stopping),
            name="idle-scene",
            daemon=True,
        )
        try:
            idle.start()
            self.ready.set()
            logger.info("serving %d LEDs (%s) on %s", len(self.strip), self.strip.name,
                        self.config.socket_path)  # fmt: skip
            self._clients.accept_loop(listener, self._wake_r, self._stopping)
            logger.info("stopping: ending any program, blanking the LEDs")
        finally:
            self._stopping.set()
            idle.join(JOIN_TIMEOUT_S)
            self._cleanup(listener)

    def request_stop(self) -> None:
        """Ask ``serve_forever`` to finish (safe from a signal handler)."""
        self._stopping.set()
        if self._done.is_set():
            return  # the wake pipe is closed; its fd numbers may belong to something else now
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop serving and wait until the server has cleaned up."""
        self.request_stop()
        if self.ready.is_set() and not self._done.wait(timeout):
            raise RuntimeError("runner server did not stop")

    def _cleanup(self, listener: socket.socket) -> None:
        try:
            # Hang up first: a run cut short by shutdown is the web's "runner_lost", not a result.
            with self._lock:  # _stopping is set: no new run can start after this
                clients, worker = self._clients.connections(), self._worker
            for conn in clients:
                conn.abort()
            self.supervisor.stop(SHUTDOWN_REASON)
            self.previewer.close(JOIN_TIMEOUT_S)
            if worker is not None:
                worker.join(JOIN_TIMEOUT_S)
            for conn in clients:
                conn.join(JOIN_TIMEOUT_S)
            self._checks.shutdown(wait=False, cancel_futures=True)
            self.supervisor.close()  # reaps the prestarted child
            with self._lock:
                self._display.blank_and_close()
        finally:
            listener.close()
            remove_socket(self.config.socket_path)
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._done.set()
            logger.info("runner stopped; LEDs blank")

    # --- messages --------------------------------------------------------------------------

    def _handle(self, conn: Connection, msg: Message) -> bool:
        try:
            if isinstance(msg, Ping):
                conn.send(Pong())
            elif isinstance(msg, Hello):
                return self._hello(conn, msg)
            elif not conn.greeted:
                conn.send(Error(code="bad_message", message="send hello first"))
            elif isinstance(msg, Check):
                self._queue_check(conn, msg)
            elif isinstance(msg, Run):
                self._run(conn, msg)
            elif isinstance(msg, Stop):
                self._stop(conn, msg)
            elif isinstance(msg, SetFrame):
                self._set_frame(conn, msg)
            elif isinstance(msg, ReleaseFrame):
                with self._lock:
                    self._display.release()
            elif isinstance(msg, Preview):
                self._preview(conn, msg)
            else:
                conn.send(Error(code="bad_message", message=f"a runner does not take {msg.kind}"))
        except Exception:  # our own bug: answer and keep the connection
            logger.exception("handling %s failed", msg.kind)
            conn.send(Error(code="internal", message=f"the runner failed to handle {msg.kind}"))
        return True

    def _hello(self, conn: Connection, msg: Hello) -> bool:
        if msg.version != PROTOCOL_VERSION:
            text = (
                f"protocol version mismatch: this runner speaks version {PROTOCOL_VERSION}, "
                f"{msg.client} sent version {msg.version}; deploy web and runner together"
            )
            conn.send(Error(code="version_mismatch", message=text))
            return False
        with self._lock:  # Welcome first, then events: no frame can overtake the handshake
            conn.send(
                Welcome(
                    version=PROTOCOL_VERSION,
                    led_count=len(self.strip),
                    positions=self.positions,
                    fps=self.config.fps,
                    backend=self.strip.name,
                    busy_with=self._busy_with,
                    layers=dict(self.supervisor.layers) or None,
                )
            )
            if self._busy_with is None:
                conn.send(Idle())
            conn.greeted = True
        return True

    def _run(self, conn: Connection, msg: Run) -> None:
        with self._lock:
            if self._stopping.is_set():
                conn.send(Error(code="busy", message="the runner is shutting down"))
                return
            if self._busy_with is not None:
                conn.send(_busy(self._busy_with, msg.submission_id))
                return
            self._busy_with = msg.submission_id
            self._display.program_started()
            self._worker = threading.Thread(
                target=self._work, args=(msg,), name=f"run-{msg.submission_id}", daemon=True
            )
            self._worker.start()

    def _work(self, msg: Run) -> None:
        started = time.monotonic()
        # The runner's own TREE_TIME_LIMIT bounds every run, whatever the client asks for.
        limit = min(msg.time_limit_s, self.config.time_limit_s)
        try:
            result = self.supervisor.run(
                msg.submission_id, msg.source, limit, on_event=self.broadcast
            )
            finished = result.to_message(msg.submission_id)
        except Exception as exc:  # the supervisor's bug: still a result, and the server lives
            logger.exception("running %s failed", msg.submission_id)
            finished = Finished(
                submission_id=msg.submission_id,
                status="failed",
                reason="crashed",
                error=ProgramError(type=type(exc).__name__, message="the runner failed"),
                duration_s=round(time.monotonic() - started, 3),
                frames=0,
            )
        with self._lock:
            self._busy_with = None
            self._display.program_ended(time.monotonic())
            self.broadcast(finished)
            self.broadcast(Idle())

    def _stop(self, conn: Connection, msg: Stop) -> None:
        with self._lock:
            busy = self._busy_with
        if busy is None or (msg.submission_id is not None and msg.submission_id != busy):
            wanted = msg.submission_id or "a program"
            conn.send(Error(code="not_running", message=f"{wanted} is not running"))
            return
        self.supervisor.stop(msg.reason)

    def _set_frame(self, conn: Connection, msg: SetFrame) -> None:
        from runner.sandbox.frames import validate_frame

        try:
            frame = validate_frame(msg.leds, len(self.strip))
        except (ValueError, TypeError) as exc:
            conn.send(
                Error(code="invalid_frame", message=str(exc)[:1000], request_id=msg.request_id)
            )
            return
        with self._lock:
            if self.strip.closed:
                return  # shutting down: the LEDs are blank and stay so
            if self._busy_with is not None:
                conn.send(_busy(self._busy_with, msg.request_id))
                return
            now = time.monotonic()
            if now < self._next_set_frame:
                # A socket peer may not strobe the tree faster than a program may: frames
                # closer than half a slot at TREE_FPS are refused, not queued.
                text = f"frames come faster than the {self.config.fps:g} fps cap"
                conn.send(Error(code="too_fast", message=text, request_id=msg.request_id))
                return
            if self.config.fps > 0:
                self._next_set_frame = now + 0.5 / self.config.fps
            self._display.hold(frame)

    def _queue_check(self, conn: Connection, msg: Check) -> None:
        if not self._checks_waiting.acquire(blocking=False):
            text = "the runner is busy checking other programs; try again"
            conn.send(Error(code="busy", message=text, request_id=msg.request_id))
            return

        def work() -> None:
            try:
                conn.send(self._check(msg))
            finally:
                self._checks_waiting.release()

        self._checks.submit(work)

    def _preview(self, conn: Connection, msg: Preview) -> None:
        """Dry-run a program beside whatever runs on the tree; the answer comes from the dry
        run's own thread, so this connection (and its Stop) is never held up."""
        if self._stopping.is_set():
            conn.send(Error(code="busy", message="the runner is shutting down",
                            request_id=msg.request_id))  # fmt: skip
            return

        def answer(report: PreviewReport) -> None:
            conn.send(report.to_message(msg.request_id))

        started = self.previewer.try_start(msg.source, msg.time_limit_s, answer)
        if not started:
            slots = self.config.preview_slots
            text = f"all {slots} dry-run slots are busy; try again in a moment"
            conn.send(Error(code="busy", message=text, request_id=msg.request_id))

    def _check(self, msg: Check) -> CheckResult:
        """The policy's verdict on a program, compiled in a confined child, never here."""
        try:
            errors = self.checker.check(msg.source)
        except Exception as exc:  # the checker promises not to raise; a rejection if it does
            logger.exception("checking a program failed")
            errors = [
                ProgramError(type=type(exc).__name__, message="the program cannot be checked")
            ]
        return CheckResult(request_id=msg.request_id, ok=not errors, errors=errors)

    def broadcast(self, msg: Message) -> None:
        """Send one event to every greeted client."""
        self._clients.broadcast(msg)

    # --- the idle scene --------------------------------------------------------------------

    def run_once(self, now: float) -> bool:
        """Show the idle scene's frame for monotonic ``now`` unless something else owns the LEDs.

        A running program, a frame set directly, or a program's last frame (for
        ``hold_after_run_s``) keeps the idle scene off.
        """
        with self._lock:
            return self._display.run_once(now, busy=self._busy_with is not None)


def _busy(running: str, request_id: str | None) -> Error:
    text = f"the tree is busy running {running}; one program at a time"
    return Error(code="busy", message=text, request_id=request_id)
