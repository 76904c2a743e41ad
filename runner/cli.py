"""``python -m runner run FILE``: try a program locally in the real sandbox on a virtual tree.

Exit status: 0 the run completed, 1 it failed (or was interrupted), 2 the program was rejected
before running (or could not be read, or a setting or the layout file is invalid). ``--json``
prints the outcome as one JSON object (SPEC §9); ``--record`` writes every frame the LEDs showed
as JSON lines; ``--show`` draws the LEDs in a truecolour terminal. The report says what the
power budget and the flash limiter changed; ``--no-power-limit`` and ``--no-flash-limit`` switch
them off (docs/protection.md).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import IO

from protocol.limits import MAX_LEDS
from protocol.messages import Frame, Log, Message, ProgramError
from runner.config import RunnerConfig
from runner.leds import LedFrame
from runner.leds.layout import load_positions
from runner.leds.virtual import VirtualStrip
from runner.supervise.check import Checker
from runner.supervise.supervisor import RunResult, Supervisor

EXIT_COMPLETED, EXIT_FAILED, EXIT_REJECTED = 0, 1, 2


class RecordingStrip(VirtualStrip):
    """A virtual strip that also writes each shown frame as a JSON line."""

    def __init__(self, led_count: int, record: IO[str] | None) -> None:
        super().__init__(led_count, history=1)
        self._record = record
        self._t0 = time.monotonic()

    def start_clock(self) -> None:
        """Count ``t`` from now (the start of the run)."""
        self._t0 = time.monotonic()

    def stop_recording(self) -> None:
        """Record nothing more."""
        self._record = None

    def _write(self, frame: LedFrame) -> None:
        super()._write(frame)
        if self._record is not None:
            t = round(time.monotonic() - self._t0, 4)
            line = json.dumps({"t": t, "leds": [list(led) for led in frame]}, separators=(",", ":"))
            self._record.write(line + "\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``run`` command's arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m runner run", description="Run a tree program in the sandbox locally."
    )
    parser.add_argument("file", help="the program (.py)")
    parser.add_argument("--leds", type=_led_count, help="number of LEDs (default: TREE_LED_COUNT)")
    parser.add_argument("--time-limit", type=_seconds, help="seconds (default: TREE_TIME_LIMIT)")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--record", metavar="FRAMES.jsonl", help="write every shown frame")
    parser.add_argument("--show", action="store_true", help="draw the LEDs in the terminal")
    parser.add_argument(
        "--no-power-limit",
        action="store_true",
        help="show frames over the power budget unscaled (TREE_MAX_CURRENT_MA=0)",
    )
    parser.add_argument(
        "--no-flash-limit",
        action="store_true",
        help="let the program flash more than 3 times a second (TREE_FLASH_LIMIT=off)",
    )
    return parser


def _led_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LEDS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {MAX_LEDS}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def main(argv: Sequence[str] | None = None, raw: bool = False) -> int:
    """Run one program and report; return the exit status.

    ``raw`` (``python -m runner.audit raw``) skips the policy: the file runs as plain Python
    with real builtins in the same confined child, under the same supervisor.
    """
    parser = build_parser()
    if raw:
        parser.prog = "python -m runner.audit raw"
        parser.description = "Run raw Python (no language layer) in the fully confined child."
    args = parser.parse_args(argv)
    source = _read_source(args.file, args.json)
    if source is None:
        return EXIT_REJECTED
    overrides: dict[str, object] = {}
    if args.leds is not None:
        overrides["led_count"] = args.leds
    if args.time_limit is not None:
        overrides["time_limit_s"] = args.time_limit
    if args.no_power_limit:
        overrides["max_current_ma"] = 0.0
    if args.no_flash_limit:
        overrides["flash_limit"] = False
    try:
        config = RunnerConfig.from_environ(None, **overrides)
        positions = load_positions(config)
    except ValueError as exc:  # a bad TREE_* setting or layout file (LayoutError)
        print(f"cannot run: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    errors = [] if raw else Checker(config).check(source)
    if errors:
        _report_rejection(errors, args.json)
        return EXIT_REJECTED
    try:
        record = open(args.record, "w", encoding="utf-8") if args.record else None  # noqa: SIM115
    except OSError as exc:
        print(f"cannot write {args.record}: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    try:
        result = _run(config, positions, source, record, args, raw)
    finally:
        if record is not None:
            record.close()
    _report(result, args.json)
    return EXIT_COMPLETED if result.status == "completed" else EXIT_FAILED


def _read_source(path: str, as_json: bool) -> str | None:
    """The program's text, or None after reporting why it cannot be read."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        return data.decode("utf-8")
    except OSError as exc:
        error = ProgramError(type=type(exc).__name__, message=f"cannot read {path}: {exc}")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"{path} is not UTF-8 text (byte {exc.start})"
        error = ProgramError(type="UnicodeDecodeError", message=message, line=line)
    _report_rejection([error], as_json)
    return None


def _run(
    config: RunnerConfig,
    positions: list[tuple[float, float, float]],
    source: str,
    record: IO[str] | None,
    args: argparse.Namespace,
    raw: bool = False,
) -> RunResult:
    strip = RecordingStrip(config.led_count, record)
    supervisor = Supervisor(config, strip, positions, raw=raw)
    view = _TerminalView(config.led_count) if args.show else None

    def on_event(msg: Message) -> None:
        if isinstance(msg, Log) and not args.json:
            sys.stdout.write(msg.text)
            sys.stdout.flush()
        elif isinstance(msg, Frame) and view is not None:
            view.draw(msg.leds)

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # stop() takes a lock the interrupted main thread may hold: call it from a thread.
        threading.Thread(target=supervisor.stop, args=("operator",), daemon=True).start()

    # SIGTERM too: the run still ends as a reported result and the child is reaped.
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        strip.start_clock()
        return supervisor.run("local", source, on_event=on_event)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        strip.stop_recording()  # the blanking at close is not one of the program's frames
        strip.close()


def _error_json(error: ProgramError | None) -> dict[str, object] | None:
    if error is None:
        return None
    return {"type": error.type, "message": error.message, "line": error.line}


def _report(result: RunResult, as_json: bool) -> None:
    if as_json:
        out = {
            "status": result.status,
            "reason": result.reason,
            "error": _error_json(result.error),
            "frames": result.frames,
            "duration_s": round(result.duration_s, 3),
            "log": result.log,
            "frames_scaled": result.frames_scaled,
            "power_scale_min": round(result.power_scale_min, 4),
            "frames_damped": result.frames_damped,
        }
        print(json.dumps(out))
        return
    plural = "" if result.frames == 1 else "s"
    summary = f"{result.status} ({result.reason}) after {result.duration_s:.2f} s, "
    print(f"{summary}{result.frames} frame{plural}", file=sys.stderr)
    for line in protection_summary(result):
        print(line, file=sys.stderr)
    if result.error is not None:
        where = f"line {result.error.line}: " if result.error.line else ""
        print(f"{where}{result.error.type}: {result.error.message}", file=sys.stderr)


def protection_summary(result: RunResult) -> list[str]:
    """What the power budget and the flash limiter changed, one line each (none: nothing)."""
    lines = []
    if result.frames_scaled:
        lines.append(
            f"power budget: {result.frames_scaled} frame(s) dimmed to stay within "
            f"TREE_MAX_CURRENT_MA, down to {result.power_scale_min:.0%} of their light at most"
        )
    if result.frames_damped:
        lines.append(
            f"flash limiter: {result.frames_damped} frame(s) damped to keep the tree at 3 "
            "flashes a second or fewer"
        )
    return lines


def _report_rejection(errors: list[ProgramError], as_json: bool) -> None:
    lines = []
    for error in errors:
        where = f"line {error.line}" if error.line else ""
        where += f", column {error.col}" if error.line and error.col else ""
        lines.append(f"rejected: {where + ': ' if where else ''}{error.message}")
    if as_json:
        # Exactly the shape of a run's outcome (SPEC §9); every error is listed in the log.
        out = {
            "status": "rejected",
            "reason": "rejected",
            "error": _error_json(errors[0]),
            "frames": 0,
            "duration_s": 0.0,
            "log": "".join(line + "\n" for line in lines),
            "frames_scaled": 0,
            "power_scale_min": 1.0,
            "frames_damped": 0,
        }
        print(json.dumps(out))
        return
    for line in lines:
        print(line, file=sys.stderr)


class _TerminalView:
    """Truecolour blocks, one per LED, redrawn in place."""

    def __init__(self, led_count: int) -> None:
        self._rows = 0
        self._width = 50

    def draw(self, leds: list[list[int]]) -> None:
        cells = []
        for r, g, b, level in leds:
            k = level / 100
            cells.append(f"\x1b[38;2;{int(r * k)};{int(g * k)};{int(b * k)}m\u2588\u2588")
        rows = [
            "".join(cells[i : i + self._width]) + "\x1b[0m"
            for i in range(0, len(cells), self._width)
        ]
        up = f"\x1b[{self._rows}F" if self._rows else ""
        sys.stderr.write(up + "\n".join(rows) + "\n")
        sys.stderr.flush()
        self._rows = len(rows)
