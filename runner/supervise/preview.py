"""Dry runs: a program in a confined child on a virtual clock, beside the tree, never on the LEDs.

The child is the same sandbox as a tree run (same command, policy and confinement), with a lower
CPU priority and a CPU limit of its own (``TREE_PREVIEW_CPU_S``); its clock is virtual
(``runner.sandbox.dryrun``), so a 45 s animation is predicted in well under a second. The parent
believes none of it beyond sanity: it bounds the run's wall time itself, reads one record at a
time, refuses frame times that go backwards or past the limit and more frames than the tree's
pacing allows, and keeps only the frames sampled at the live-view rate (``sampling``). Whatever
the child does, ``preview`` returns a report and never raises (``PreviewBusy`` aside).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from protocol.framing import MAX_MESSAGE_BYTES
from protocol.limits import MAX_LOG_CHARS, MAX_PREVIEW_DATA_CHARS, MAX_PREVIEW_FRAMES
from protocol.messages import PreviewResult, ProgramError
from runner.config import RunnerConfig
from runner.exc import FrameInvalid
from runner.protect import Protector
from runner.sandbox.wire import END, PROGRAM, READY, TFRAME, TIMESTAMP
from runner.supervise.outcome import Outcome, Verdict, end_verdict, exit_verdict
from runner.supervise.pipes import ChildIO, ChildProtocolError, Exit
from runner.supervise.sampling import FrameSampler, fit_frames, protect_frames
from runner.supervise.sleep_watch import SleepWatch, cpu_seconds
from runner.supervise.spawn import (
    BACKGROUND_NICE,
    CHILD_COMMAND,
    SPARE_MAX_AGE_S,
    STARTUP_LIMIT_S,
    Child,
    child_limits,
    confinement_failure,
    discard_child,
    required_layers,
    spawn_child,
)
from runner.supervise.supervisor import MAX_END

logger = logging.getLogger(__name__)

PREVIEW_NICE = BACKGROUND_NICE  # the tree program's frame rate comes first
MAX_READY = 16384
END_GRACE_S = 1.0
TIME_SLACK_S = 1e-6  # float rounding in the child's frame times
UNPACED_FRAME_CAP = 100_000  # TREE_FPS=0 (benchmarks): no pacing to bound the count by
MESSAGE_MARGIN = 32 * 1024  # the PreviewResult's other fields, an error message escaped
DEFAULT_VIEW_FPS = 25.0  # the preview's sampling rate when TREE_VIEW_FPS=0 ("every frame")
MIN_RATE_S = 1e-3  # a dry run shorter than this has no meaningful frame rate
# Every frame of a report goes through the tree's protection in the runner, at nice 0 (~6 ms a
# frame of noise at 5,000 LEDs: 7.9 s for 1,125 frames, round thirty-seven). A replay carries at
# most this many LED-frames a second: all of 25 fps up to 1,000 LEDs, 5 fps at 5,000, so the
# runner's work per dry run is at most a 1,000-LED tree's. (A bigger tree's replay could not
# carry more anyway unless it compresses well: the report's data is bounded, see fit_frames.)
REPORT_LED_FRAMES_PER_S = 25_000


def wall_bound(cpu_s: float) -> float:
    """Real seconds a dry run may take from spawn to report: start-up, then its CPU budget with
    room for a low priority on a busy machine (the child's CPU limit usually ends it first)."""
    return 5.0 + 3.0 * cpu_s


class PreviewBusy(RuntimeError):
    """Every dry-run slot (``TREE_PREVIEW_SLOTS``) is taken."""


@dataclass(frozen=True)
class PreviewReport:
    """What a dry run predicts; ``to_message`` makes the protocol's ``PreviewResult``."""

    status: str
    reason: str
    error: ProgramError | None
    duration_s: float
    frames: int
    led_count: int
    frame_interval_s: float
    frame_count: int
    frames_data: str
    log: str = ""
    cpu_s: float = 0.0  # real CPU the child used (benchmarks)
    wall_s: float = 0.0  # real seconds the dry run took

    @property
    def fps(self) -> float:
        """Mean frames per second over the predicted duration; 0 for a run too short to have
        a rate (under a millisecond: a forged END of 5e-324 s made it infinite, which JSON
        cannot carry; red team round ten)."""
        return self.frames / self.duration_s if self.duration_s >= MIN_RATE_S else 0.0

    @property
    def hits_time_limit(self) -> bool:
        """Whether the program would run until the tree's time limit ends it."""
        return self.reason == "time_limit"

    def to_message(self, request_id: str) -> PreviewResult:
        """The protocol message for this report."""
        return PreviewResult(
            request_id=request_id,
            status=self.status,  # type: ignore[arg-type]
            reason=self.reason,
            error=self.error,
            duration_s=round(self.duration_s, 3),
            frames=self.frames,
            fps=round(self.fps, 2),
            hits_time_limit=self.hits_time_limit,
            led_count=self.led_count,
            frame_interval_s=self.frame_interval_s,
            frame_count=self.frame_count,
            frames_data=self.frames_data,
            log=self.log,
        )


@dataclass
class _DryRun:
    """What the parent saw of one dry run."""

    limit: float
    sampler: FrameSampler
    out: Outcome = field(default_factory=Outcome)
    last_at: float = 0.0  # the latest (checked) frame time
    cpu_at_ready: float = 0.0


class Previewer:
    """Runs dry runs in confined children, at most ``TREE_PREVIEW_SLOTS`` at a time."""

    def __init__(
        self,
        config: RunnerConfig,
        positions: Sequence[tuple[float, float, float]],
        *,
        led_count: int | None = None,
        child_command: Sequence[str] | None = None,
        prestart: bool = False,
        required: Collection[str] | None = None,
    ) -> None:
        """``child_command`` replaces ``python -m runner.sandbox.child`` (tests play a hostile
        child with it). ``prestart`` keeps one confined child waiting for the next dry run once
        one has run (it saves the ~0.2 s start-up; each child still runs one program).
        ``required``: the sandbox layers a child must report in force (as ``Supervisor``)."""
        self.config = config
        self.positions = [tuple(float(c) for c in p) for p in positions]
        self.led_count = config.led_count if led_count is None else led_count
        # The flash limiter's neighbourhoods of these positions, found once now and kept
        # (``per_led.neighbourhoods``): no dry run's report pays for them (red team round
        # thirty-nine: about a second of the runner's CPU per dry run at 5,000 LEDs).
        Protector.from_config(config, self.led_count, self.positions)
        self.required = frozenset(required_layers(config) if required is None else required)
        self.wall_limit_s = wall_bound(config.preview_cpu_s)
        limits = child_limits(
            config,
            cpu_seconds=config.preview_cpu_s,
            nice=PREVIEW_NICE,
            # The kernel's kill timer, should this process die: start-up, a spare's wait, the
            # dry run's own bound.
            wall_limit_s=STARTUP_LIMIT_S + SPARE_MAX_AGE_S + self.wall_limit_s + 5.0,
        )
        self._command = [*(child_command or CHILD_COMMAND), json.dumps(limits.to_dict())]
        view_fps = config.view_fps if config.view_fps > 0 else DEFAULT_VIEW_FPS
        self.frame_interval_s = max(1.0 / view_fps, self.led_count / REPORT_LED_FRAMES_PER_S)
        self._log_limit = max(0, min(config.log_limit_bytes, MAX_LOG_CHARS - 200))
        self._free = config.preview_slots
        self._lock = threading.Lock()
        self._active: set[ChildIO] = set()
        self._threads: set[threading.Thread] = set()
        self._closed = False
        self._prestart = prestart
        self._spare: Child | None = None
        self._spare_born = 0.0

    # --- slots and lifecycle ---------------------------------------------------------------

    def _take_slot(self) -> bool:
        with self._lock:
            if self._closed or self._free <= 0:
                return False
            self._free -= 1
            return True

    def _give_slot(self) -> None:
        with self._lock:
            self._free += 1

    def preview(self, source: str, time_limit_s: float | None = None) -> PreviewReport:
        """Dry-run ``source`` now (blocking). Raises ``PreviewBusy`` when no slot is free."""
        if not self._take_slot():
            raise PreviewBusy(f"all {self.config.preview_slots} dry-run slots are busy")
        try:
            return self._preview(source, self._limit(time_limit_s))
        finally:
            self._give_slot()
            self._replenish()

    def try_start(
        self,
        source: str,
        time_limit_s: float | None,
        on_done: Callable[[PreviewReport], None],
    ) -> bool:
        """Dry-run ``source`` in a thread of its own and hand the report to ``on_done``;
        False (and nothing started) when every slot is taken."""
        if not self._take_slot():
            return False
        limit = self._limit(time_limit_s)

        def work() -> None:
            try:
                try:
                    report = self._preview(source, limit)
                except Exception:  # our own bug: the client still gets an answer
                    logger.exception("a dry run failed")
                    report = self._failure("the runner failed while making this dry run")
                on_done(report)
            except Exception:  # a listener gone away
                logger.exception("a dry run's report could not be delivered")
            finally:
                self._give_slot()
                self._replenish()
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=work, name="dry-run", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Kill every dry run and wait for their threads; nothing starts after this."""
        with self._lock:
            self._closed = True
            active, threads = list(self._active), list(self._threads)
        for io in active:
            io.kill()
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            discard_child(spare)

    def _spawn(self) -> Child:
        return spawn_child(self._command, nice=PREVIEW_NICE)

    def _take_child(self) -> Child:
        with self._lock:
            spare, self._spare = self._spare, None
        fresh = time.monotonic() - self._spare_born < SPARE_MAX_AGE_S  # its kill timer runs
        if spare is not None and fresh and spare.proc.poll() is None:
            return spare
        if spare is not None:
            discard_child(spare)
        return self._spawn()

    def _replenish(self) -> None:
        """Start the spare child for the next dry run, if none waits."""
        if not self._prestart:
            return
        with self._lock:
            if self._closed or self._spare is not None:
                return
            try:
                self._spare = self._spawn()
                self._spare_born = time.monotonic()
            except OSError:  # the next dry run simply starts a child itself
                logger.exception("could not prestart a dry-run child")

    def _limit(self, time_limit_s: float | None) -> float:
        # The runner's own TREE_TIME_LIMIT bounds a dry run as it bounds a run.
        if time_limit_s is None:
            return self.config.time_limit_s
        return min(float(time_limit_s), self.config.time_limit_s)

    # --- one dry run -----------------------------------------------------------------------

    def _preview(self, source: str, limit: float) -> PreviewReport:
        started = time.monotonic()
        max_samples = math.ceil(self._preview_seconds(limit) / self.frame_interval_s - 1e-9)
        max_samples = min(max_samples, MAX_PREVIEW_FRAMES)
        run = _DryRun(limit, FrameSampler(self.led_count, self.frame_interval_s, max_samples))
        try:
            proc = self._take_child()
        except OSError as exc:  # no process to be had (EAGAIN, ENOMEM): an answer, not a raise
            logger.error("could not start a dry-run child: %s", exc)
            return self._failure("the sandbox could not be started")
        io = ChildIO(proc, started + self.wall_limit_s)
        with self._lock:
            self._active.add(io)
            if self._closed:
                io.kill()
        try:
            self._drive(io, source, run)
        except ChildProtocolError as exc:
            io.kill()
            run.out.fail_protocol(f"the sandbox broke its protocol: {exc}")
        except Exception:  # our own bug: logged, and still a report
            logger.exception("a dry run failed")
            io.kill()
            run.out.fail_protocol("the runner failed while supervising this dry run")
        finally:
            exit = io.close()  # reads what is left of the log, once the child is dead
            with self._lock:
                self._active.discard(io)
        run.out.add_log(io.take_log())
        run.out.end_log()
        return self._report(run, exit, io.timed_out, time.monotonic() - started)

    def _failure(self, message: str) -> PreviewReport:
        return PreviewReport(
            status="failed",
            reason="crashed",
            error=_err("RunnerError", message),
            duration_s=0.0,
            frames=0,
            led_count=self.led_count,
            frame_interval_s=self.frame_interval_s,
            frame_count=0,
            frames_data="",
        )

    def _preview_seconds(self, limit: float) -> float:
        wanted = self.config.preview_seconds
        return limit if wanted is None else min(wanted, limit)

    def _drive(self, io: ChildIO, source: str, run: _DryRun) -> None:
        kind, payload = io.next_record(max_size=MAX_READY)
        if kind != READY:
            if kind is not None:
                run.out.fail_protocol("expected READY")
            return
        try:
            report = json.loads(payload)
        except ValueError:
            report = None
        if not isinstance(report, dict):
            run.out.fail_protocol("the sandbox sent a malformed READY")
            return
        refused = confinement_failure(report, self.required)
        if refused is not None:  # fail closed: no program code runs in this child
            io.kill()
            logger.error("%s: no dry run", refused)
            run.out.fail_protocol(refused)
            return
        run.cpu_at_ready = cpu_seconds(io.pid)
        run.out.ready = True
        run.out.log_limit = io.fit_log(self._log_limit)
        program = {
            "source": source,
            "led_count": self.led_count,
            "positions": self.positions,
            "log_limit": run.out.log_limit,
            "time_limit": run.limit,
            "mode": "preview",
            "fps": self.config.fps,
        }
        io.watch_log(run.out.log_limit)
        io.send(PROGRAM, json.dumps(program).encode())
        self._stream(io, run)

    def _stream(self, io: ChildIO, run: _DryRun) -> None:
        """Read the child's records until its output ends, checking each against the rules."""
        out, fps = run.out, self.config.fps
        frame_size = TIMESTAMP.size + 4 * self.led_count
        # The tree's pacing never shows two frames closer than half a period.
        max_frames = int(2 * run.limit * fps) + 2 if fps > 0 else UNPACED_FRAME_CAP
        # Each kind bounded by its own size (an unknown kind is refused at its header). Printed
        # text comes on its own pipe (``ChildIO.watch_log``), never as a record.
        record_limits = {TFRAME: frame_size, END: MAX_END}
        watch = SleepWatch(io.pid, io, time.monotonic(), self.config.preview_cpu_s)
        while True:
            wake = out.end_seen + END_GRACE_S if out.end is not None else None
            if watch.asleep(time.monotonic()):
                return self._broke(io, out, "the dry-run child slept (its clock is virtual)")
            if watch.over_budget:  # past the kernel's hard limit: the verdict is the exit's
                io.kill()
                return
            kind, payload = io.next_record(
                max_size=record_limits, wake_at=watch.due if wake is None else min(wake, watch.due)
            )
            if kind is None:
                if io.eof or io.killed or io.expired(time.monotonic()):
                    return
                if wake is not None and time.monotonic() >= wake:
                    return
                continue
            if out.end is not None:
                return self._broke(io, out, f"record {kind!r} after END")
            if kind == TFRAME:
                if len(payload) != frame_size:
                    return self._broke(io, out, f"frame of {len(payload)} bytes")
                (at,) = TIMESTAMP.unpack_from(payload)
                if not (math.isfinite(at) and run.last_at <= at <= run.limit + TIME_SLACK_S):
                    return self._broke(io, out, f"frame time {at!r} out of order or past the limit")
                out.frames += 1
                if out.frames > max_frames:
                    return self._broke(io, out, "more frames than the tree's pacing allows")
                run.last_at = at
                try:
                    run.sampler.add(at, payload[TIMESTAMP.size :])
                except FrameInvalid as exc:
                    io.kill()
                    out.fail_frame(str(exc))
                    return
            elif kind == END:
                out.take_end(payload)
                out.end_seen = time.monotonic()
                if out.crashed is not None:
                    io.kill()
                    return
            else:
                return self._broke(io, out, f"unknown record {kind!r}")

    @staticmethod
    def _broke(io: ChildIO, out: Outcome, what: str) -> None:
        io.kill()
        out.fail_protocol(f"the sandbox broke its protocol: {what}")

    # --- the verdict -----------------------------------------------------------------------

    def _report(self, run: _DryRun, exit: Exit, timed_out: bool, wall: float) -> PreviewReport:
        status, reason, error, duration = self._verdict(run, exit, timed_out)
        try:
            samples = run.sampler.finish(duration)
        except FrameInvalid as exc:
            status, reason, duration = "failed", "invalid_frame", run.last_at
            error, samples = ProgramError(type="ValueError", message=str(exc)[:2000]), []
        samples = protect_frames(
            samples,
            self.frame_interval_s,
            Protector.from_config(self.config, self.led_count, self.positions),
        )
        log = run.out.log_text()
        # The whole message must stay within the protocol's 1 MiB, whatever the log's escaping
        # costs (a control character takes six bytes of JSON).
        room = MAX_MESSAGE_BYTES - MESSAGE_MARGIN - len(json.dumps(log))
        data, count, interval = fit_frames(
            samples, self.frame_interval_s, min(MAX_PREVIEW_DATA_CHARS, room)
        )
        return PreviewReport(
            status=status,
            reason=reason,
            error=error,
            duration_s=duration,
            frames=run.out.frames,
            led_count=self.led_count,
            frame_interval_s=interval,
            frame_count=count,
            frames_data=data,
            log=log,
            cpu_s=exit.cpu_s,
            wall_s=wall,
        )

    def _verdict(
        self, run: _DryRun, exit: Exit, timed_out: bool
    ) -> tuple[str, str, ProgramError | None, float]:
        """Status, reason, error and predicted duration: the parent's facts before the child's
        word, every time the child gives clamped between the frames it sent and the limit."""
        out, limit = run.out, run.limit
        # Virtual time is at least the program's CPU time (from the kernel, not the child).
        reached = min(limit, max(run.last_at, exit.cpu_s - run.cpu_at_ready))
        if self._closed and out.end is None:
            return "incomplete", "shutdown", None, reached
        if out.crashed is not None:
            return (*out.verdict(None, exit, False, self.config.preview_cpu_s), reached)
        if out.invalid_frame is not None:
            return "failed", "invalid_frame", _err("ValueError", out.invalid_frame), run.last_at
        if out.end is not None:
            return self._end(out.end, run)
        if timed_out:
            if not out.ready:
                return "failed", "crashed", _err("RunnerError", "the sandbox did not start"), 0.0
            return "incomplete", "wall_budget", None, reached
        verdict: Verdict = exit_verdict(exit, self.config.preview_cpu_s)
        if verdict[1] == "cpu_limit":
            if reached >= limit:  # its CPU time alone took the virtual clock past the limit
                return "completed", "time_limit", None, limit
            return "incomplete", "cpu_budget", None, reached
        return (*verdict, reached)

    @staticmethod
    def _end(end: dict[str, object], run: _DryRun) -> tuple[str, str, ProgramError | None, float]:
        told = end.get("virtual_s")
        at = 0.0
        if isinstance(told, int | float):
            try:
                at = float(told)  # a JSON integer of 400 digits overflows (red team round ten)
            except OverflowError:
                at = math.inf
            at = at if math.isfinite(at) else 0.0
        duration = min(run.limit, max(run.last_at, at))
        # The dry run's own ends: its virtual clock reached the limit, or its CPU budget ran
        # out (SIGXCPU) before that.
        if end.get("outcome") == "time_limit" or (
            end.get("outcome") == "cpu_budget" and duration >= run.limit
        ):
            return "completed", "time_limit", None, run.limit
        if end.get("outcome") == "cpu_budget":
            return "incomplete", "cpu_budget", None, duration
        return (*end_verdict(end), duration)


def _err(type_name: str, message: str) -> ProgramError:
    return ProgramError(type=type_name, message=message[:2000])
