"""Benchmarks (a), (b) and (d) of issue 2: frame throughput, start latency, memory.

Everything is real: the Supervisor starts a fresh confined ``runner.sandbox.child`` per run and
frames cross the pipes to a ``VirtualStrip``. Prints a table; the figures belong in the README.

    .venv/bin/python bench/bench_runner.py [--frames 3000] [--starts 20]

(a) frames/s from ``setLEDs`` in the child to the backend, pacing off, 100/500/1000 LEDs (the
    program strobes the whole tree red and blue: the flash limiter damps it, which is part of
    the figure), and at 500 LEDs with the flash limiter off;
(b) start latency, ``run`` called -> first frame shown (median), cold and with a prestarted child;
(d) RSS of an idle ``python -m runner`` and of a child running a program.
"""

from __future__ import annotations

import argparse
import compileall
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import runner
from protocol.messages import Frame, Message
from runner.config import RunnerConfig
from runner.leds import LedFrame
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

THROUGHPUT = """
frame = [BLUE] * getLEDCount()
other = [RED] * getLEDCount()
for i in range(FRAMES):
    setLEDs(frame if i % 2 else other)
"""


def config(leds: int, **overrides: object) -> RunnerConfig:
    """Pacing off, generous time limit."""
    return RunnerConfig(led_count=leds, fps=0.0, time_limit_s=60.0, cpu_limit_s=70, **overrides)  # type: ignore[arg-type]


class TimedStrip(VirtualStrip):
    """The server's virtual strip (its last 5 frames, ``runner.leds.make_strip``), which also
    notes when each frame was shown: a history of every frame's 500 LEDs would cost the parent
    a garbage-collection pass over millions of tuples that the server never makes."""

    def __init__(self, led_count: int) -> None:
        super().__init__(led_count, history=5)
        self.times: list[float] = []

    def _write(self, frame: LedFrame) -> None:
        super()._write(frame)
        self.times.append(time.monotonic())


def throughput(leds: int, frames: int, flash_limit: bool = True) -> float:
    """Frames per second shown, first frame to last. The program strobes the whole tree, so the
    flash limiter (on by default) damps it from its fourth flash on: the figure includes what
    that costs; ``flash_limit`` False gives the sandbox and pipes alone."""
    strip = TimedStrip(leds)
    with Supervisor(config(leds, flash_limit=flash_limit), strip, spiral_cone(leds)) as sup:
        result = sup.run("bench", THROUGHPUT.replace("FRAMES", str(frames)))
    assert result.status == "completed" and result.frames == frames, result
    return (len(strip.times) - 1) / (strip.times[-1] - strip.times[0])


def start_latency(starts: int, prestart: bool) -> list[float]:
    """Milliseconds from ``run`` to the first frame shown, one fresh child per run."""
    strip = VirtualStrip(100)
    samples = []
    with Supervisor(config(100), strip, spiral_cone(100), prestart=prestart) as sup:
        for _ in range(starts):
            # Idle between programs: the server holds the last frame 5 s, ample for a spare to boot.
            time.sleep(1.0 if prestart else 0.3)
            strip.clear_history()
            begin = time.monotonic()
            result = sup.run("bench", "setLEDs([BLUE] * getLEDCount())")
            assert result.status == "completed", result
            samples.append((strip.frames[0].at - begin) * 1000)
    return samples


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def child_rss() -> int:
    """RSS of a child while its program runs (measured at its first frame)."""
    sizes: list[int] = []
    strip = VirtualStrip(500)
    with Supervisor(config(500), strip, spiral_cone(500)) as sup:

        def on_event(msg: Message) -> None:
            if isinstance(msg, Frame) and not sizes and sup.last_child_pid:
                sizes.append(rss_kib(sup.last_child_pid))

        source = "import time\nsetLEDs([BLUE] * getLEDCount())\ntime.sleep(0.5)\n"
        sup.run("bench", source, on_event=on_event)
    return sizes[0]


def runner_rss(frames: int = 0) -> int:
    """RSS of ``python -m runner`` serving on a temporary socket: idle, or after a program
    showed ``frames`` frames of 500 LEDs (pacing off) through the real socket protocol."""
    from protocol.framing import read_message, write_message
    from protocol.messages import PROTOCOL_VERSION, Finished, Hello, Run

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TREE_SOCKET=os.path.join(tmp, "runner.sock"), TREE_LED_COUNT="500",
                   TREE_FPS="0", TREE_TIME_LIMIT="600")  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-m", "runner"], env=env, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(env["TREE_SOCKET"]) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)
            if frames:
                source = (
                    "import math\nn = getLEDCount()\n"
                    f"for f in range({frames}):\n"
                    "    setLEDs([(f % 256, (f * 7) % 256, i % 256, 60) for i in range(n)])\n"
                )
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.connect(env["TREE_SOCKET"])
                    stream = sock.makefile("rwb")
                    write_message(stream, Hello(version=PROTOCOL_VERSION, client="bench"))
                    write_message(stream, Run(submission_id="rss", source=source, time_limit_s=600))
                    while not isinstance(read_message(stream), Finished):
                        pass
            return rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
            if proc.stderr:
                proc.stderr.close()


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--starts", type=int, default=20)
    args = parser.parse_args()
    # Children run with -B and cannot write bytecode: after an edit, a stale __pycache__ makes
    # every child compile the changed modules again (~7 ms for guards.py). The runner image
    # compiles at install; do the same here, so the figures are the product's.
    compileall.compile_dir(str(Path(runner.__file__).parent), quiet=1)
    print(f"{'measure':52} {'value':>12}")
    for leds in (100, 500, 1000):
        fps = throughput(leds, args.frames)
        print(f"{f'(a) frames/s, {leds} LEDs, pacing off':52} {fps:>12,.0f}")
    fps = throughput(500, args.frames, flash_limit=False)
    print(f"{'    500 LEDs, pacing and flash limiter off':52} {fps:>12,.0f}")
    for prestart in (False, True):
        samples = start_latency(args.starts, prestart)
        label = "prestarted child" if prestart else "cold child"
        median, worst = statistics.median(samples), max(samples)
        print(f"{f'(b) start latency ms, median of {len(samples)}, {label}':52} {median:>12.1f}")
        print(f"{f'    max ms, {label}':52} {worst:>12.1f}")
    idle = runner_rss() / 1024
    print(f"{'(d) runner idle RSS (python -m runner, 500 LEDs), MiB':52} {idle:>12.1f}")
    after = runner_rss(frames=12_000) / 1024
    print(f"{'(d) runner RSS after 12,000 frames of 500 LEDs, MiB':52} {after:>12.1f}")
    print(f"{'(d) child RSS while running, MiB':52} {child_rss() / 1024:>12.1f}")


if __name__ == "__main__":
    main()
