"""Run one program at a time in a fresh, confined child and turn whatever happens into a result.

The supervisor is the trust boundary: it re-checks every frame the child sends before it reaches
the strip, paces frames, caps the log, enforces the wall clock by killing the child's whole
process group, and always reaps it. A crashed or hostile child is a ``RunResult``, never an
exception out of ``run``.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from protocol.limits import MAX_LOG_CHARS
from protocol.messages import Finished, Message, ProgramError, Started
from runner.config import RunnerConfig
from runner.exc import FrameInvalid
from runner.leds import Led, Strip
from runner.protect import Protector, ProtectStats
from runner.sandbox.confine import in_force
from runner.sandbox.frames import check_frame_bytes
from runner.sandbox.grid import Pacer
from runner.sandbox.wire import ACK, END, FRAME, PROGRAM, READY
from runner.supervise.outcome import Outcome
from runner.supervise.pacing import LogFeed, ViewerFeed
from runner.supervise.pipes import ChildIO, ChildProtocolError, Exit
from runner.supervise.spawn import (
    CHILD_COMMAND,
    RAW_PRELOAD,
    SPARE_MAX_AGE_S,
    STARTUP_LIMIT_S,
    Child,
    child_limits,
    confinement_failure,
    discard_child,
    required_layers,
    spawn_child,
)

logger = logging.getLogger(__name__)

_warned_layers: set[str] = set()  # each unavailable sandbox layer is logged once per runner
_warned_lock = threading.Lock()

EventCallback = Callable[[Message], None]
MAX_READY = 16384
MAX_END = 1 << 15  # a real END is a few hundred bytes (an error message is at most 2,000 chars)
END_GRACE_S = 1.0  # a child that reported its end has this long to exit


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
            reason=self.reason,  # type: ignore[arg-type]
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
        raw: bool = False,
        required: Collection[str] | None = None,
        protector: Protector | None = None,
    ) -> None:
        """``prestart`` keeps one fresh, confined child waiting for the next program (it cuts
        the start latency to a few ms; each child still runs exactly one program).
        ``child_command`` replaces ``python -m runner.sandbox.child`` (tests use it to play a
        hostile child that bypasses the child's own checks). ``raw`` runs programs as plain
        Python with real builtins in the same confined child: only ``runner.audit`` sets it,
        to show what holds once the language layer is gone; the server never does.
        ``required`` are the sandbox layers a child must report in force or get no program
        (default: ``spawn.required_layers``). ``protector`` is the tree's protection, shared
        with whatever else shows frames on ``strip`` (default: one of this supervisor's own,
        kept across runs)."""
        self.config = config
        self.strip = strip
        self.positions = [tuple(float(c) for c in p) for p in positions]
        self.layers: dict[str, str] = {}  # what the last child reported per sandbox layer
        self.required = frozenset(required_layers(config) if required is None else required)
        self.last_child_pid: int | None = None
        self._run_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._io: ChildIO | None = None
        self._stop_reason: str | None = None
        self._mode = "raw" if raw else "restricted"
        limits = child_limits(config, preload=RAW_PRELOAD if raw else ())
        self._command = list(child_command or CHILD_COMMAND) + [json.dumps(limits.to_dict())]
        self._prestart = prestart
        # Finished.log holds at most MAX_LOG_CHARS, the truncation note included.
        self._log_limit = max(0, min(config.log_limit_bytes, MAX_LOG_CHARS - 200))
        self._closed = False
        # The spare is started after each run, not here: a supervisor that never runs anything
        # never leaves a process behind.
        self._spare: Child | None = None
        self._spare_born = 0.0
        # PROTECT: one for the tree's life (its flash window spans program boundaries); each
        # run's report counts from the run's start.
        self._protector = protector or Protector.from_config(config, len(strip), self.positions)

    def close(self) -> None:
        """Stop any run and discard the waiting child; the supervisor runs nothing after this."""
        self._closed = True
        self.stop("runner_lost")
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
        self._protector.reset_stats()  # PROTECT: the window goes on, the report starts anew
        io = ChildIO(self._take_child(), started + STARTUP_LIMIT_S)
        self.last_child_pid = io.pid
        with self._state_lock:
            self._io = io
            if self._stop_reason is not None:
                io.kill()
        # Kept whatever happens: the log read before a protocol break is the run's (red team
        # round twenty-eight: a fresh one here lost it).
        outcome = Outcome()
        try:
            self._drive(io, outcome, submission_id, source, limit, emit)
        except ChildProtocolError as exc:
            io.kill()
            outcome.fail_protocol(f"the sandbox broke its protocol: {exc}")
        except Exception:  # our own bug: log it, but the run still ends as a result
            logger.exception("supervising %s failed", submission_id)
            io.kill()
            outcome.fail_protocol("the runner failed while supervising this program")
        finally:
            exit = io.close()
            with self._state_lock:
                self._io = None
            if self._prestart and not self._closed:
                self._spare = self._spawn_spare()
        try:
            result = self._result(outcome, exit, io.timed_out, time.monotonic() - started)
        except Exception:  # our own bug, or something the child wrote that we did not foresee
            logger.exception("judging the run of %s failed", submission_id)
            error = ProgramError(type="RunnerError", message="the runner could not judge the run")
            result = RunResult("failed", "crashed", error, time.monotonic() - started, 0, "")
        if result.reason == "crashed":
            # The child wrote these bytes: escaped, so they cannot forge log lines or drive
            # the operator's terminal.
            logger.error(
                "sandbox child crashed (%s); stderr: %r", exit.returncode, io.stderr_text()
            )
        return result

    def _spawn_spare(self) -> Child | None:
        try:
            return self._spawn()
        except OSError:  # the next run simply starts a child itself
            logger.exception("could not prestart a sandbox child")
            return None

    def _take_child(self) -> Child:
        if self._closed:
            raise RuntimeError("the supervisor is closed")
        spare, self._spare = self._spare, None
        fresh = time.monotonic() - self._spare_born < SPARE_MAX_AGE_S
        if spare is not None and spare.proc.poll() is None and fresh:
            return spare
        if spare is not None:  # dead, or too old for its kill timer to leave a whole run
            discard_child(spare)
        return self._spawn()

    def _spawn(self) -> Child:
        self._spare_born = time.monotonic()
        return spawn_child(self._command)

    def _drive(
        self,
        io: ChildIO,
        out: Outcome,
        submission_id: str,
        source: str,
        limit: float,
        emit: EventCallback,
    ) -> Outcome:
        kind, payload = io.next_record(max_size=MAX_READY)
        if kind != READY:
            return out if kind is None else out.fail_protocol("expected READY")
        try:
            report = json.loads(payload)
        except ValueError:
            report = None
        if not isinstance(report, dict):
            return out.fail_protocol("the sandbox sent a malformed READY")
        self._note_layers(report)
        refused = confinement_failure(report, self.required)
        if refused is not None:  # fail closed: no program code runs in this child
            io.kill()
            logger.error("%s: not running %s", refused, submission_id)
            return out.fail_protocol(refused)
        io.deadline = time.monotonic() + limit  # the program's time starts now
        out.ready = True
        out.log_limit = io.fit_log(self._log_limit)
        program = {
            "source": source,
            "led_count": len(self.strip),
            "positions": self.positions,
            "log_limit": out.log_limit,
            "time_limit": limit,
            "mode": self._mode,
        }
        io.watch_log(out.log_limit, wake=True)
        io.send(PROGRAM, json.dumps(program).encode())
        emit(Started(submission_id=submission_id))
        logs = LogFeed(submission_id, emit)
        try:
            return self._stream(io, submission_id, emit, out, logs)
        finally:  # however the run ended, the log written before it reaches viewers
            io.drain_log()
            self._pass_log(io, out, logs)
            text = out.end_log()
            if text:
                logs.add(text, time.monotonic())
            logs.flush(time.monotonic())

    def _pass_log(self, io: ChildIO, out: Outcome, logs: LogFeed) -> None:
        """The printed text read from the child's log pipe, kept and sent on to viewers."""
        text = out.add_log(io.take_log())
        if text:
            logs.add(text, time.monotonic())

    def _stream(
        self,
        io: ChildIO,
        submission_id: str,
        emit: EventCallback,
        out: Outcome,
        logs: LogFeed,
    ) -> Outcome:
        """Show the child's frames and pass on its log until its output ends.

        Every step checks the deadline and Stop first; one record is read at a time, and only
        when the loop needs one; a frame is shown only in its pacing slot, before the deadline
        and unless stopped; after END only EOF may follow.
        """
        pacer = Pacer(self.config.fps)
        viewer = ViewerFeed(submission_id, self.config.view_fps, emit)
        count = len(self.strip)
        # Each kind its own bound: an END is small in a real child, and JSON of empty objects
        # grows ~24x when parsed, so a 1 MiB END would cost the parent ~28 MB. Printed text
        # comes on its own pipe (``ChildIO.watch_log``), never as a record.
        record_limits = {FRAME: 4 * count, END: MAX_END}
        while not self._over(io):
            wake = min(viewer.due or math.inf, logs.due or math.inf)
            if out.end is not None:  # after END: EOF, within a grace period
                wake = min(wake, out.end_seen + END_GRACE_S)
            kind, payload = io.next_record(
                max_size=record_limits, wake_at=None if wake == math.inf else wake
            )
            self._pass_log(io, out, logs)
            viewer.flush_if_due(time.monotonic())
            logs.flush_if_due(time.monotonic())
            if kind is None:
                if io.eof:
                    break
                if out.end is not None and time.monotonic() >= out.end_seen + END_GRACE_S:
                    break  # reported its end but did not exit: killed by close()
                continue
            if out.end is not None:
                return self._end_protocol(io, out, f"record {kind!r} after END")
            if kind == FRAME:
                if len(payload) != 4 * count:
                    return self._end_protocol(io, out, f"frame of {len(payload)} bytes")
                try:
                    leds = check_frame_bytes(payload, count)
                except FrameInvalid as exc:
                    io.kill()
                    return out.fail_frame(str(exc))
                shown = self._show_in_slot(io, pacer, leds, payload, (out, logs))
                if shown is None:
                    break
                leds = shown
                out.frames += 1
                viewer.shown(leds, time.monotonic())
            elif kind == END:
                out.take_end(payload)
                out.end_seen = time.monotonic()
                if out.crashed is not None:
                    io.kill()
                    return out
            else:
                return self._end_protocol(io, out, f"unknown record {kind!r}")
        viewer.flush(time.monotonic())
        return out

    def _over(self, io: ChildIO) -> bool:
        """The deadline has passed or the run was stopped (the child is killed either way)."""
        with self._state_lock:
            stopped = self._stop_reason is not None
        if stopped:
            io.kill()
        return io.expired(time.monotonic()) or stopped

    def _show_in_slot(
        self,
        io: ChildIO,
        pacer: Pacer,
        leds: tuple[Led, ...],
        packed: bytes,
        log: tuple[Outcome, LogFeed],
    ) -> tuple[Led, ...] | None:
        """Wait for the frame's slot, then show it unless the deadline passed or Stop came.

        Returns the frame as shown: after the power budget and the flash limiter, which come
        after validation and right before the LEDs, so the LEDs and the live view agree.
        """
        slot = pacer.due(time.monotonic())
        while True:  # returns early at the deadline, on kill, and with printed text
            io.sleep_until(slot)
            self._pass_log(io, *log)  # viewers get it now, not a slot later (at a low fps)
            if io.killed or io.expired(time.monotonic()) or time.monotonic() >= slot:
                break
        if io.killed or io.expired(time.monotonic()):
            return None  # a frame waiting at the deadline is neither protected nor shown
        # Taken (its slot has come): the child computes its next frame while this one is
        # protected and shown. The ACK promises the child nothing; what was shown is counted
        # here, and the next frame still waits for its own slot.
        io.send_raw(ACK)
        # The protection stage takes milliseconds on a big tree: the deadline and Stop are
        # checked after it, and the pacer counts from when the frame was really shown.
        # Stamped with when it will show (a late frame's slot can lie a whole pause earlier,
        # which would let an extra flash through the limiter's window).
        # Counted in the flash window only once shown: a frame the deadline or Stop keeps from
        # the LEDs must not be taken for what they show (committed below).
        when = max(slot, time.monotonic())
        leds = self._protector.apply(leds, when, packed=packed, commit=False)
        with self._state_lock:  # stop() takes this lock: no frame is shown after it returns
            if self._stop_reason is not None or io.expired(time.monotonic()):
                return None
            self.strip.show(leds)
            shown_at = time.monotonic()
            self._protector.shown(shown_at)
        pacer.shown(shown_at)
        return leds

    @staticmethod
    def _end_protocol(io: ChildIO, out: Outcome, what: str) -> Outcome:
        io.kill()
        return out.fail_protocol(f"the sandbox broke its protocol: {what}")

    def _note_layers(self, report: dict[str, str]) -> None:
        self.layers = {str(k): str(v) for k, v in report.items()}
        for layer, state in self.layers.items():
            if in_force(state):
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
