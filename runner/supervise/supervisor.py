"""Run one program at a time in a fresh, confined child and turn whatever happens into a result.

The supervisor is the trust boundary: it re-checks every frame the child sends before it reaches
the strip, paces frames, caps the log, enforces the wall clock by killing the child's whole
process group, and always reaps it. A crashed or hostile child is a ``RunResult``, never an
exception out of ``run``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from protocol.limits import MAX_LOG_CHARS
from protocol.messages import Finished, Log, Message, ProgramError, Started
from runner.config import RunnerConfig
from runner.exc import FrameInvalid
from runner.leds import Strip
from runner.protect import Protector, ProtectStats
from runner.sandbox.confine import OK
from runner.sandbox.frames import check_frame_bytes
from runner.sandbox.wire import ACK, END, FRAME, LOG, PROGRAM, READY
from runner.supervise.pacing import Pacer, ViewerFeed
from runner.supervise.pipes import ChildIO, ChildProtocolError, Exit, Outcome
from runner.supervise.spawn import CHILD_COMMAND, child_limits, discard_child, spawn_child

logger = logging.getLogger(__name__)

_warned_layers: set[str] = set()  # each unavailable sandbox layer is logged once per runner
_warned_lock = threading.Lock()

EventCallback = Callable[[Message], None]
# Time a child may take to start and confine itself, before the program's own time limit starts.
STARTUP_LIMIT_S = 10.0


@dataclass(frozen=True)
class RunResult:
    """How a run ended (SPEC §3), with what it showed and printed."""

    status: str
    reason: str
    error: ProgramError | None
    duration_s: float
    frames: int
    log: str
    # Protection report (issue 12): what the power budget and the flash limiter changed.
    frames_scaled: int = 0
    power_scale_min: float = 1.0
    frames_damped: int = 0

    def to_message(self, submission_id: str) -> Finished:
        """The protocol message announcing this result."""
        return Finished(
            submission_id=submission_id,
            status=self.status,  # type: ignore[arg-type]
            reason=self.reason,
            error=self.error,
            duration_s=round(self.duration_s, 3),
            frames=self.frames,
            log=self.log,
            frames_scaled=self.frames_scaled,
            power_scale_min=round(self.power_scale_min, 4),
            frames_damped=self.frames_damped,
        )


class Supervisor:
    """Runs programs one at a time on ``strip``; ``stop`` may be called from any thread."""

    def __init__(
        self,
        config: RunnerConfig,
        strip: Strip,
        positions: Sequence[tuple[float, float, float]],
        *,
        prestart: bool = False,
        child_command: Sequence[str] | None = None,
    ) -> None:
        """``prestart`` keeps one fresh, confined child waiting for the next program (it cuts
        the start latency to a few ms; each child still runs exactly one program).
        ``child_command`` replaces ``python -m runner.sandbox.child`` (tests use it to play a
        hostile child that bypasses the child's own checks)."""
        self.config = config
        self.strip = strip
        self.positions = [tuple(float(c) for c in p) for p in positions]
        self.layers: dict[str, str] = {}  # what the last child reported per sandbox layer
        self.last_child_pid: int | None = None
        self._run_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._io: ChildIO | None = None
        self._stop_reason: str | None = None
        self._command = list(child_command or CHILD_COMMAND) + [
            json.dumps(child_limits(config).to_dict())
        ]
        self._prestart = prestart
        # Finished.log holds at most MAX_LOG_CHARS, the truncation note included.
        self._log_limit = max(0, min(config.log_limit_bytes, MAX_LOG_CHARS - 200))
        self._closed = False
        # The spare is started after each run, not here: a supervisor that never runs anything
        # never leaves a process behind.
        self._spare: subprocess.Popen[bytes] | None = None
        # PROTECT: each run gets a fresh Protector (flash window, statistics) in _run.
        self._protector = Protector.from_config(config, len(strip))

    def close(self) -> None:
        """Stop any run and discard the waiting child; the supervisor runs nothing after this."""
        self._closed = True
        self.stop("shutdown")
        with self._run_lock:
            spare, self._spare = self._spare, None
            if spare is not None:
                discard_child(spare)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def busy(self) -> bool:
        """True while a program runs."""
        return self._run_lock.locked()

    def stop(self, reason: str = "operator") -> bool:
        """Cancel the running program (thread-safe); False when nothing was running."""
        with self._state_lock:
            if not self._run_lock.locked():
                return False
            self._stop_reason = self._stop_reason or reason
            if self._io is not None:
                self._io.kill()
            return True

    def run(
        self,
        submission_id: str,
        source: str,
        time_limit_s: float | None = None,
        on_event: EventCallback | None = None,
    ) -> RunResult:
        """Run ``source`` to its end, the time limit or ``stop``; block until it is reaped."""
        with self._run_lock:
            with self._state_lock:
                self._stop_reason = None
            limit = self.config.time_limit_s if time_limit_s is None else time_limit_s
            return self._run(submission_id, source, limit, _guarded(on_event or _ignore))

    def _run(self, submission_id: str, source: str, limit: float, emit: EventCallback) -> RunResult:
        started = time.monotonic()
        self._protector = Protector.from_config(self.config, len(self.strip))  # PROTECT
        io = ChildIO(self._take_child(), started + STARTUP_LIMIT_S)
        self.last_child_pid = io.pid
        with self._state_lock:
            self._io = io
            if self._stop_reason is not None:
                io.kill()
        try:
            outcome = self._drive(io, submission_id, source, limit, emit)
        except ChildProtocolError as exc:
            io.kill()
            outcome = Outcome().fail_protocol(f"the sandbox broke its protocol: {exc}")
        except Exception:  # our own bug: log it, but the run still ends as a result
            logger.exception("supervising %s failed", submission_id)
            io.kill()
            outcome = Outcome().fail_protocol("the runner failed while supervising this program")
        finally:
            exit = io.close()
            with self._state_lock:
                self._io = None
            if self._prestart and not self._closed:
                self._spare = self._spawn_spare()
        result = self._result(outcome, exit, io.timed_out, time.monotonic() - started)
        if result.reason == "crashed":
            tail = io.stderr_tail.decode("utf-8", "replace")
            logger.error("sandbox child crashed (%s); stderr: %s", exit.returncode, tail)
        return result

    def _spawn_spare(self) -> subprocess.Popen[bytes] | None:
        try:
            return self._spawn()
        except OSError:  # the next run simply starts a child itself
            logger.exception("could not prestart a sandbox child")
            return None

    def _take_child(self) -> subprocess.Popen[bytes]:
        if self._closed:
            raise RuntimeError("the supervisor is closed")
        spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            return spare
        if spare is not None:
            discard_child(spare)
        return self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return spawn_child(self._command)

    def _drive(
        self, io: ChildIO, submission_id: str, source: str, limit: float, emit: EventCallback
    ) -> Outcome:
        out = Outcome()
        kind, payload = io.next_record(max_size=65536)
        if kind != READY:
            return out if kind is None else out.fail_protocol("expected READY")
        self._note_layers(json.loads(payload))
        io.deadline = time.monotonic() + limit  # the program's time starts now
        out.ready = True
        program = {
            "source": source,
            "led_count": len(self.strip),
            "positions": self.positions,
            "log_limit": self._log_limit,
            "time_limit": limit,
        }
        io.send(PROGRAM, json.dumps(program).encode())
        emit(Started(submission_id=submission_id))
        return self._stream(io, submission_id, emit, out)

    def _stream(
        self, io: ChildIO, submission_id: str, emit: EventCallback, out: Outcome
    ) -> Outcome:
        """Show the child's frames and pass on its log until its output ends."""
        pacer = Pacer(self.config.fps)
        viewer = ViewerFeed(submission_id, self.config.view_fps, emit)
        count = len(self.strip)
        while True:
            kind, payload = io.next_record(max_size=max(4 * count, 65536), wake_at=viewer.due)
            viewer.flush_if_due(time.monotonic())
            if kind is None:
                if io.eof:
                    break
                continue
            if kind == FRAME:
                try:
                    leds = check_frame_bytes(payload, count)
                except FrameInvalid as exc:
                    io.kill()
                    return out.fail_frame(str(exc))
                pacer.wait(io)
                # Taken: the child may compute its next frame while this one is shown.
                io.send_raw(ACK)
                # PROTECT: power budget and flash limiter, after validation and before the LEDs,
                # so the LEDs and the live view (viewer.shown below) get the same frame.
                leds = self._protector.apply(leds, time.monotonic(), packed=payload)
                self.strip.show(leds)
                out.frames += 1
                viewer.shown(leds, time.monotonic())
            elif kind == LOG:
                text = out.add_log(payload, self._log_limit)
                if text:
                    emit(Log(submission_id=submission_id, text=text))
            elif kind == END:
                out.end = json.loads(payload)
            else:
                io.kill()
                return out.fail_protocol(f"unknown record {kind!r}")
        viewer.flush(time.monotonic())
        return out

    def _note_layers(self, report: dict[str, str]) -> None:
        self.layers = {str(k): str(v) for k, v in report.items()}
        for layer, state in self.layers.items():
            if state == OK or state.startswith(("not root", "already unprivileged")):
                continue
            with _warned_lock:
                if layer in _warned_layers:
                    continue
                _warned_layers.add(layer)
            logger.warning("sandbox layer %s is not in force: %s", layer, state)

    def _result(self, out: Outcome, exit: Exit, timed_out: bool, duration: float) -> RunResult:
        with self._state_lock:
            stop_reason = self._stop_reason
        status_name, reason, error = out.verdict(
            stop_reason, exit, timed_out, cpu_limit=self.config.cpu_seconds()
        )
        stats: ProtectStats = self._protector.stats  # PROTECT
        return RunResult(
            status_name,
            reason,
            error,
            duration,
            out.frames,
            out.log_text(),
            frames_scaled=stats.frames_scaled,
            power_scale_min=stats.power_scale_min,
            frames_damped=stats.frames_damped,
        )


def _ignore(_: Message) -> None:
    return None


def _guarded(on_event: EventCallback) -> EventCallback:
    """A failing listener (a viewer gone away) must not end the program's run."""

    def emit(msg: Message) -> None:
        try:
            on_event(msg)
        except Exception:
            logger.exception("event listener failed on %s", msg.kind)

    return emit
