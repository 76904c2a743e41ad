"""``python -m runner.sandbox.child LIMITS_JSON LOG_FD``: the disposable process one user program
runs in.

It imports everything it will ever need, confines itself (``runner.sandbox.confine``), reports
which layers held, and only then reads the program from stdin (records of
``runner.sandbox.wire``). What the program prints goes to ``LOG_FD`` (``program_log``).
"""

# ruff: noqa: E402 - the collector goes off before the imports
from __future__ import annotations

import gc

# This module is only ever a child's main module. The automatic collector is off from its first
# line (the program's collections come at its own calls: ``garbage``): the imports below run
# ~4 ms faster, and their garbage is frozen with them before READY (``garbage.settle``).
gc.disable()

import faulthandler
import json
import opcode
import os
import random  # imported before confinement: the child cannot read files later
import signal
import sys
import time
import traceback
import types
import unicodedata  # noqa: F401 - the compiler imports it for non-ASCII names (größe = 1)
from collections.abc import Callable

from runner.exc import FrameInvalid, FrameTypeInvalid, ProgramRejected
from runner.sandbox import colours, cpython_fixes, garbage, policy
from runner.sandbox.confine import Limits, confine
from runner.sandbox.dryrun import VirtualClock, cpu_tick
from runner.sandbox.frames import pack_frame
from runner.sandbox.guards import make_print
from runner.sandbox.program_log import ProgramLog
from runner.sandbox.timefuncs import HEADROOM, headroom
from runner.sandbox.wire import (
    CHECK,
    END,
    EXIT_OUT_OF_MEMORY,
    FRAME,
    HEADER,
    MAX_CHECK_ERRORS,
    MAX_CHECK_RESULT,
    PROGRAM,
    PROGRAM_FILENAME,
    READY,
    RESULT,
    TFRAME,
    TIMESTAMP,
)

# What the two modes' different work before the program leaves of the allocator's state (its
# free lists, its pools, the address space) is hidden under random allocations, made in both
# modes just before the program's first line and kept for the run (red team round eight,
# findings 4 and 5): where a program's first objects go, and how much memory it has left, are
# different in every run of either mode. Seeded from the kernel before confinement.
SCATTER_PAGES = 256  # held back: 0 to 1 MiB of the address space
SCATTER_OBJECTS = (200, 2000)  # small objects of every size class, some kept, some freed
SCATTER_FLOATS = (150, 600)

UNUSED_TICK_S = 0.004  # the tick given to the clock a tree run builds and never reads

MAX_RECORD = 1 << 20  # a program record (64 KiB source + positions) fits easily
RESERVE_BYTES = 1 << 20  # freed on MemoryError so the report can be written
# Where a program's frame stands when an exception it raised itself starts there: its ``raise``,
# or a generator's suspension point (or a fresh generator) that ``throw`` raised into.
_RAISED_BY_PROGRAM = frozenset(
    opcode.opmap[name] for name in ("RAISE_VARARGS", "YIELD_VALUE", "RETURN_GENERATOR", "SEND")
)
_reserve: list[bytearray] = []


class Channel:
    """Records over the child's stdin/stdout, written and read with plain ``os`` calls."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self._rfd, self._wfd = rfd, wfd
        self.wfd = wfd  # a dry run's end writes its last record here directly
        self._buf = b""
        # A dry run's CPU timer may fire in the middle of a record: its END waits for the end.
        self.busy = False
        self.after_send: Callable[[], None] | None = None

    def send(self, kind: bytes, payload: bytes) -> None:
        """Write one record (blocks while the parent is behind: natural back-pressure)."""
        data = memoryview(HEADER.pack(kind, len(payload)) + payload)
        self.busy = True
        try:
            while data:
                data = data[os.write(self._wfd, data) :]
        except OSError:
            os._exit(0)  # the parent is gone: nothing the program does matters any more
        finally:
            self.busy = False
        if self.after_send is not None:
            action, self.after_send = self.after_send, None
            action()

    def when_idle(self, action: Callable[[], None]) -> None:
        """Run ``action`` now, or right after the record being written (signal handlers)."""
        if self.busy:
            self.after_send = action
        else:
            action()

    def read_exact(self, size: int) -> bytes:
        """Read exactly ``size`` bytes; exit quietly when the parent went away."""
        while len(self._buf) < size:
            chunk = os.read(self._rfd, max(65536, size - len(self._buf)))
            if not chunk:
                os._exit(0)  # the parent closed the pipe: the run is over
            self._buf += chunk
        data, self._buf = self._buf[:size], self._buf[size:]
        return data

    def read_record(self) -> tuple[bytes, bytes]:
        """Read one record from the parent."""
        kind, size = HEADER.unpack(self.read_exact(HEADER.size))
        if size > MAX_RECORD:
            raise ValueError(f"record of {size} bytes is too large")
        return kind, self.read_exact(size)


class ProgramApi:
    """What ``runner.sandbox.policy.make_globals`` exposes to the user's program."""

    def __init__(
        self,
        channel: Channel,
        led_count: int,
        positions: list[list[float]],
        log: ProgramLog,
        clock: VirtualClock | None = None,
    ) -> None:
        self._channel = channel
        self._clock = clock  # a dry run: frames carry virtual time and are never ACKed
        self._in_flight = 0  # frames sent whose ACK has not been read yet
        self._led_count = led_count
        self._positions = [(float(x), float(y), float(z)) for x, y, z in positions]
        self._log = log

    def get_led_count(self) -> int:
        """The number of LEDs on the tree."""
        return self._led_count

    def set_leds(self, states: object) -> None:
        """Validate and send one frame; return once the frame before it has been taken.

        One frame in flight: the program computes its next frame while the parent reads,
        checks and shows this one, instead of waiting for a round trip per frame. Pacing is
        the same (the parent ACKs a frame only in its slot, so a fast loop still waits, one
        frame ahead); a child that ignores ACKs gains nothing, the parent paces regardless.
        """
        # The same stack depth in both modes (the dry run's path is deeper): see timefuncs.
        headroom(HEADROOM)
        garbage.collect()  # before the frame is read: a finalizer may change it, harmlessly
        frame = pack_frame(states, self._led_count)
        if self._clock is not None:
            self._channel.send(TFRAME, TIMESTAMP.pack(self._clock.frame_time()) + frame)
            self._clock.frame_sent()
            return
        self._channel.send(FRAME, frame)
        self._in_flight += 1
        while self._in_flight > 1:
            self._channel.read_exact(1)
            self._in_flight -= 1

    def get_led_positions(self) -> list[tuple[float, float, float]]:
        """A fresh copy of the LED positions."""
        return list(self._positions)

    def write_log(self, text: str) -> None:
        """Add printed text to the run's log, while it is under the cap (``ProgramLog``)."""
        self._log.add(str(text))


def main(argv: list[str] | None = None) -> int:
    """Confine, report, read the program, run it, report the outcome."""
    args = sys.argv[1:] if argv is None else argv
    limits = Limits.from_dict(json.loads(args[0]))
    log_fd = int(args[1])  # the write end of the log pipe (``spawn.spawn_child``)
    _reserve.append(bytearray(RESERVE_BYTES))
    # Records get their own fd; fd 1 becomes stderr, so a stray write cannot corrupt them.
    channel = Channel(0, os.dup(1))
    os.dup2(2, 1)
    jitter_seed = os.urandom(32)  # a dry run's clock jitter, from the kernel, before confinement
    noise_seed = os.urandom(32)  # the allocations before the program (``_scatter``), likewise
    report = confine(limits)
    # Confined (RLIMIT_CPU makes the process's CPU clock move in ticks), before the program
    # comes: a dry run's time does not pay for it. Only background children (dry runs, checks)
    # measure it, ~24 ms of CPU: a tree run's start must not wait for a clock it does not use.
    began = time.thread_time()
    tick = cpu_tick() if limits.nice > 0 else None
    tick_cpu = time.thread_time() - began  # not the program's: a dry run's clock counts it out
    garbage.settle()
    channel.send(READY, json.dumps(report).encode())
    kind, payload = channel.read_record()
    if kind == CHECK:
        channel.send(RESULT, json.dumps(check_program(payload.decode("utf-8"))).encode())
        return 0
    if kind != PROGRAM:
        return 2
    program = json.loads(payload)
    # On a crash or SIGXCPU, dump the stack to stderr: the parent finds the user's line there.
    faulthandler.enable()
    faulthandler.register(signal.SIGXCPU, all_threads=False, chain=True)
    try:
        outcome = run_program(channel, program, log_fd, jitter_seed, noise_seed, tick, tick_cpu)
    except MemoryError:
        _reserve.clear()
        outcome = {"outcome": "failed", "reason": "memory_limit", "error": _memory_error()}
    try:
        channel.send(END, json.dumps(outcome).encode())
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)
    # Exit at once: an ordinary interpreter shutdown would run the program's finalizers
    # (a suspended generator's finally, __del__) after its report, and they could still print.
    os._exit(0)


def check_program(source: str) -> list[dict[str, object]]:
    """The policy's verdict on a program, compiled here, in the confined child, never in the
    runner: a compiler crash or bomb costs this disposable process only."""
    try:
        policy.compile_program(source, "<program>")
    except ProgramRejected as exc:
        return _first_errors([_error_dict(e) for e in exc.errors])
    return []


def _first_errors(errors: list[dict[str, object]]) -> list[dict[str, object]]:
    """The first errors, as many as the parent reads (``MAX_CHECK_ERRORS``, within
    ``MAX_CHECK_RESULT`` bytes of JSON), then one without a line saying how many more there
    were: a program with a rule broken on 1,500 lines is told where its first ones are."""
    shown: list[dict[str, object]] = []
    size = 4096  # room for the brackets and the last entry
    for error in errors[:MAX_CHECK_ERRORS]:
        size += len(json.dumps(error)) + 2  # ASCII (json.dumps escapes the rest), ", " after it
        if size > MAX_CHECK_RESULT:
            break
        shown.append(error)
    more = len(errors) - len(shown)
    if more:
        errors_word = "error" if more == 1 else "errors"
        message = (
            f"... and {more:,} more {errors_word} after these, not listed: "
            "fix these first, then check the program again"
        )
        shown.append({"type": "SandboxError", "message": message, "line": None, "col": None})
    return shown


def run_program(
    channel: Channel,
    program: dict[str, object],
    log_fd: int,
    jitter_seed: bytes | None = None,
    noise_seed: bytes | None = None,
    tick: float | None = None,
    tick_cpu: float = 0.0,
) -> dict[str, object]:
    """Compile and run the program under the policy; describe how it ended (``jitter_seed``
    seeds a dry run's clock jitter, ``noise_seed`` the allocations before the program; ``tick``
    is the process CPU clock's step, ``dryrun.cpu_tick``)."""
    source = str(program["source"])
    preview = program.get("mode") == "preview"
    # A tree run builds (and calibrates) the dry run's clock too, unused: the same work before
    # the program's first line in both modes leaves the allocator, its free lists and the
    # address space in nearly the same state, and ``_scatter`` hides the rest (red team round
    # eight, findings 4 and 5: where a program's objects are allocated, how much memory it has
    # left, told the two apart). The tree's skips the clock's calibration (~8 ms of reads that
    # leave nothing behind), so its start pays ~1 ms for it.
    if tick is None and not preview:  # the tree's clock is never read: any tick will do
        tick = UNUSED_TICK_S
    clock = _dry_run_clock(channel, program, jitter_seed, tick, preview, tick_cpu)
    time_functions = clock.functions()
    if preview:
        _arm(clock, channel)
    api = ProgramApi(
        channel,
        int(program["led_count"]),  # type: ignore[call-overload]
        program["positions"],  # type: ignore[arg-type]
        ProgramLog(log_fd, int(program["log_limit"])),  # type: ignore[call-overload]
        clock if preview else None,
    )
    if program.get("mode") == "raw":
        return _run_raw(api, source)
    noise = random.Random(noise_seed)
    _report_unraisable(api, source)
    outcome = _run_restricted(api, source, clock if preview else None, time_functions, noise)
    # The program's namespace and its error are gone by now, and with them every finalizer
    # they held (a suspended generator's finally) has run, still on the clock. Objects in
    # cycles would be finalized by a later collection, after the clock stops: none comes now.
    gc.disable()
    if preview:
        clock.last_frame_shown()
        clock.stop()
        outcome["virtual_s"] = clock.elapsed()  # when it ended: "fails at line 5 after 2.1 s"
    return outcome


def _run_restricted(
    api: ProgramApi,
    source: str,
    clock: VirtualClock | None,
    time_functions: dict[str, Callable[..., object]],
    noise: random.Random,
) -> dict[str, object]:
    """``time_functions``: the clock's, made in both modes; the program gets them in a dry run
    (``clock``), CPython's own on the tree. ``noise`` draws the allocations before it."""
    try:
        code = policy.compile_program(source, PROGRAM_FILENAME)
    except ProgramRejected as exc:
        errors = [_error_dict(e) for e in exc.errors]
        return {"outcome": "failed", "reason": "error", "error": errors[0] if errors else None}
    env = policy.make_globals(api, time_functions if clock is not None else None)
    cpython_fixes.install(env)  # CPython 3.11 bugs that free what is still in use
    held: list[object] = []  # kept for the run
    _scatter(held, noise)
    garbage.hand_over()
    try:
        exec(code, env)
    except BaseException as exc:  # noqa: BLE001 - any way the user's program ends is a result
        # Describing the error calls its __str__, which is the program's own code: it runs on
        # the clock, which can still end it at the limit (or at the CPU budget), as the tree's
        # deadline would. The caller stops the clock once no program code is left to run.
        return _describe_failure(api, source, exc)
    return {"outcome": "completed", "reason": "ended", "error": None}


def _scatter(held: list[object], rng: random.Random) -> None:
    """Random allocations of every small size class, some of them kept in ``held``, and a
    random number of pages held back."""
    held.append(bytearray(rng.randrange(SCATTER_PAGES) * 4096))
    made: list[object] = []
    for _ in range(rng.randrange(*SCATTER_OBJECTS)):
        kind = rng.random()
        if kind < 0.3:  # 32 and 48 bytes: ints (not the cached small ones) of 1 to 4 digits
            made.append(rng.getrandbits(rng.randrange(10, 120)) | 1024)
        elif kind < 0.4:  # the floats' free list, and 32 bytes
            made.append(rng.random())
        else:  # 48 to 512 bytes
            made.append(bytes(rng.randrange(2, 480)))
    # More floats than CPython's free list of them holds (100): what it held before is used up.
    made.extend(rng.random() for _ in range(rng.randrange(*SCATTER_FLOATS)))
    # A random share kept, the rest freed in a random order: holes all over the pools and a
    # free list of floats as no two runs have them.
    rng.shuffle(made)
    held.extend(made[: rng.randrange(len(made))])
    del made
    # And a random number of floats taken back from that free list: its length is random too.
    held.extend(rng.random() for _ in range(rng.randrange(100)))


def _dry_run_clock(
    channel: Channel,
    program: dict[str, object],
    jitter_seed: bytes | None,
    tick: float | None,
    calibrate: bool = True,
    setup_cpu: float = 0.0,
) -> VirtualClock:
    """A virtual clock that ends the run, as the tree's deadline would, at the time limit
    (once armed: ``_arm``)."""
    limit = float(program["time_limit"])  # type: ignore[arg-type]

    # The END record at the limit, built before the program runs: ending must not depend on
    # anything the program can exhaust (red team round six, finding 2: near the recursion limit
    # json.dumps raised, the error left end() into the program and the clock stayed stopped).
    at_limit = _record(END, _end_report("time_limit", limit))

    def end(reason: str) -> None:
        clock.stopped = True  # an attribute, not a call: nothing can fail before the try
        try:
            try:
                if reason == "time_limit":
                    record = at_limit
                else:
                    record = _record(END, _end_report(reason, min(clock.elapsed(), limit)))
                while record:  # under PIPE_BUF, so one write (the loop: whatever happens)
                    record = record[os.write(channel.wfd, record) :]
            finally:
                os._exit(0)  # as at the tree's deadline: the program gets no further say
        except BaseException:
            # Not even os._exit could be called (no stack left at all): the clock runs on, so
            # the next clock read or frame, a level up, ends the run at the limit after all.
            clock.stopped = False
            raise

    fps = float(program.get("fps") or 0.0)  # type: ignore[arg-type]
    clock = VirtualClock(limit, fps, end, jitter_seed, tick, calibrate, setup_cpu)
    return clock


def _report_unraisable(api: ProgramApi, source: str) -> None:
    """Python's report of an error no one can catch (a dropped generator whose ``finally``
    raises, a failing ``__del__``) goes to the program's log, as a terminal would show it, in
    both modes alike. Never to stderr: the parent reads the crash line from faulthandler's dump
    there, and a program that wrote its own text there could forge it (red team round
    twenty-five), time the parent's reads of it (rounds twenty-one and twenty-two) or make the
    parent read it (round four). Nothing of the program runs here: the names are its code's,
    the message is copied as ``str.__str__`` copies it."""

    def report(unraisable: sys.UnraisableHookArgs) -> None:
        try:
            exc = unraisable.exc_value
            if exc is None:
                return
            frames = _program_frames(unraisable.exc_traceback)
            where = unraisable.object
            if type(where) is types.GeneratorType:
                what = f"<generator object {where.__qualname__}>"
            else:
                what = f"<{_clean(type(where).__name__, 100)} object>"
            head = f"{unraisable.err_msg or 'Exception ignored in'}: {what}\n"
            type_name = _clean(type(exc).__name__, 100)
            api.write_log(head + _user_traceback(frames, source, type_name, _safe_str(exc)))
        except BaseException:  # noqa: BLE001, S110 - out of memory here: the report is lost, no more
            pass

    sys.unraisablehook = report


def _arm(clock: VirtualClock, channel: Channel) -> None:
    """A dry run's: at the CPU budget, instead of faulthandler's dump, say how far the virtual
    clock got (the hard limit, a second later, still kills a program stuck in one long C call).
    """

    def on_cpu_budget(_sig: int, _frame: object) -> None:
        # Should even the end fail here (no stack left at all), the program goes on until the
        # hard CPU limit kills it, which the parent judges as the CPU budget, as it should.
        channel.when_idle(clock.out_of_cpu)  # never in the middle of a record

    signal.signal(signal.SIGXCPU, on_cpu_budget)


def _end_report(reason: str, virtual_s: float) -> bytes:
    """A dry run's END payload, with ``%`` only (no recursion, nothing the program reaches)."""
    return b'{"outcome": "%s", "reason": "%s", "error": null, "virtual_s": %r}' % (
        reason.encode(),
        reason.encode(),
        float(virtual_s),
    )


def _record(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def _run_raw(api: ProgramApi, source: str) -> dict[str, object]:
    """``runner.audit raw``: plain Python with real builtins, in this same confined process.

    It shows what holds when the language layer has fallen; the parent never selects it for a
    program from the socket or the web.
    """
    env: dict[str, object] = {
        "__name__": "__main__",
        "getLEDCount": api.get_led_count,
        "setLEDs": api.set_leds,
        "getLEDPositions": api.get_led_positions,
        "fromHSV": colours.fromHSV,
        "CHANNEL": api._channel,  # raw payloads may forge records on the real pipe
        "LOG_FD": api._log.fd,  # and write the log pipe as they like
        "print": make_print(api.write_log),  # to the run's log, as a tree program's print
        **colours.COLOURS,
    }
    try:
        code = compile(source, PROGRAM_FILENAME, "exec")
        # The collector as a program has it (red team round forty-six): off, everything before
        # frozen, so a payload meets the process state of a program past the language layer.
        garbage.hand_over()
        exec(code, env)
    except BaseException as exc:  # noqa: BLE001 - any way the program ends is a result
        return _describe_failure(api, source, exc)
    return {"outcome": "completed", "reason": "ended", "error": None}


def _describe_failure(api: ProgramApi, source: str, exc: BaseException) -> dict[str, object]:
    frames = _program_frames(exc.__traceback__)
    if isinstance(exc, MemoryError):
        _reserve.clear()  # room to build the report
    reason = "error"
    type_name = _clean(type(exc).__name__, 100)
    if isinstance(exc, FrameInvalid | FrameTypeInvalid):
        reason = "invalid_frame"
        type_name = "ValueError" if isinstance(exc, FrameInvalid) else "TypeError"
    elif isinstance(exc, MemoryError) and not _raised_by_program(exc):
        reason = "memory_limit"
    message = _safe_str(exc)
    if reason == "memory_limit" and not message:
        message = "the program ran out of memory"
    api.write_log(_user_traceback(frames, source, type_name, message))
    line = frames[-1][1] if frames else None
    error = {"type": type_name, "message": message, "line": line}
    return {"outcome": "failed", "reason": reason, "error": error}


def _raised_by_program(exc: BaseException) -> bool:
    """Whether the program's own code raised ``exc`` (``raise MemoryError("...")``), rather than
    an allocation the interpreter could not make. Red team round twenty-five: a program that
    raised a MemoryError itself was told it "used too much memory".

    The interpreter's has no arguments. One without: the program's if the innermost frame of
    its traceback is the program's, standing at a raise or a generator's suspension (a real one
    caught and raised again keeps its innermost entry, the allocation). Left: a bare
    ``MemoryError`` thrown into a generator that has finished (round twenty-six) stops at the
    caller's call, like an allocation; it only mislabels the program's own failure."""
    if BaseException.__dict__["args"].__get__(exc):  # the slot: a subclass property is program code
        return True
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    if code.co_filename != PROGRAM_FILENAME or not 0 <= tb.tb_lasti < len(code.co_code):
        return False
    return code.co_code[tb.tb_lasti] in _RAISED_BY_PROGRAM


def _program_frames(tb: types.TracebackType | None) -> list[tuple[str, int]]:
    """The program's own frames of a traceback, outermost first: (function name, line)."""
    return [
        (frame.f_code.co_name, line)
        for frame, line in traceback.walk_tb(tb)
        if frame.f_code.co_filename == PROGRAM_FILENAME
    ]


def _user_traceback(frames: list[tuple[str, int]], source: str, type_name: str, msg: str) -> str:
    """A traceback of the user's own frames, with repeats folded as CPython does."""
    # Lines as Python numbers them: str.splitlines() also splits at form feeds, \x85, \u2028...
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = ["Traceback (most recent call last):"]
    previous, repeats = None, 0
    for name, line in frames:
        if (name, line) == previous:
            repeats += 1
            continue
        if repeats:
            out.append(f"  [previous line repeated {repeats} more times]")
        previous, repeats = (name, line), 0
        out.append(f"  line {line}, in {name}")
        if 0 < line <= len(lines):
            out.append("    " + lines[line - 1].strip())
    if repeats:
        out.append(f"  [previous line repeated {repeats} more times]")
    out.append(f"{type_name}: {msg}" if msg else type_name)
    return "\n".join(out[-60:]) + "\n"


def _safe_str(exc: BaseException) -> str:
    """The exception's message; a user-defined ``__str__`` may itself fail."""
    try:
        # A user __str__ may return a str subclass whose methods (__getitem__, encode...) are
        # the program's own code; str.__str__ copies it to a plain str without calling them.
        return _clean(str.__str__(str(exc)), 2000)
    except BaseException:  # noqa: BLE001 - a broken __str__ (even SystemExit) must not hide it
        return "(the error's message could not be shown)"


def _clean(text: str, limit: int) -> str:
    """Valid UTF-8 (no lone surrogates), at most ``limit`` characters."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def _memory_error() -> dict[str, object]:
    return {"type": "MemoryError", "message": "the program ran out of memory", "line": None}


def _error_dict(error: object) -> dict[str, object]:
    return {
        "type": _clean(str(getattr(error, "type", "SyntaxError")), 100),
        "message": _clean(str(getattr(error, "message", error)), 2000),
        "line": getattr(error, "line", None),
        "col": getattr(error, "col", None),
    }


if __name__ == "__main__":
    sys.exit(main())
