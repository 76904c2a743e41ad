"""Sandbox v2 benchmark: a compute-heavy 500-LED animation end to end, sandbox vs plain CPython.

Sandboxed: the real ``Supervisor`` (a fresh confined child, the record pipes, the parent's frame
check, a virtual strip as the server makes it), pacing off. Plain: the same source run by a
fresh ``python`` with real builtins whose ``setLEDs`` packs the frame to bytes and checks it (what
any LED driver must do: ``pack_frame`` + ``check_frame_bytes``). Wall time for the whole run,
median of ``--repeats``; the ratio is the price of every wall together.

    .venv/bin/python bench/bench_sandbox_vs_plain.py [--repeats 5] [--frames 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runner.config import RunnerConfig
from runner.leds import make_strip
from runner.leds.layout import spiral_cone
from runner.supervise.supervisor import Supervisor

LEDS = 500

# Held-out style: the kind of animation students write, maths per LED per frame, a class, a
# generator, fromHSV and plain tuples.
ANIMATION = """
import math
import random

n = getLEDCount()
positions = getLEDPositions()
random.seed(3)

class Spark:
    def __init__(self):
        self.z = random.random()
        self.speed = random.uniform(0.2, 0.6)

    def step(self, dt):
        self.z = (self.z + self.speed * dt) % 1.0

sparks = [Spark() for _ in range(20)]

def colours(t):
    for x, y, z in positions:
        angle = math.atan2(y, x)
        h = (angle / (2 * math.pi) + z * 0.5 + t * 0.1) % 1.0
        v = 0.3 + 0.35 * (1 + math.sin(6 * z - 3 * t + 2 * angle))
        near = min(abs(z - s.z) for s in sparks[:4])
        if near < 0.02:
            yield (255, 255, 255, 100)
        else:
            yield fromHSV(h, 0.9, min(1.0, v))

for frame in range(FRAMES):
    t = frame / 40
    for s in sparks:
        s.step(1 / 40)
    setLEDs(list(colours(t)))
"""

PLAIN_RUNNER = """
import sys, time
from runner.sandbox.colours import COLOURS, fromHSV
from runner.sandbox.frames import check_frame_bytes, pack_frame
from runner.leds.layout import spiral_cone
LEDS = {leds}
positions = [tuple(p) for p in spiral_cone(LEDS)]
def setLEDs(states):
    check_frame_bytes(pack_frame(states, LEDS), LEDS)
env = dict(getLEDCount=lambda: LEDS, getLEDPositions=lambda: list(positions), setLEDs=setLEDs,
           fromHSV=fromHSV, **COLOURS)
code = compile(open(sys.argv[1]).read(), "<program>", "exec")
start = time.perf_counter()
exec(code, env)
print(time.perf_counter() - start)
"""


def sandboxed(source: str, tmp: Path) -> float:
    config = RunnerConfig(
        socket_path=str(tmp / "s.sock"), led_count=LEDS, fps=0.0, time_limit_s=600, view_fps=25
    )
    strip = make_strip("virtual", LEDS, config)
    with Supervisor(config, strip, spiral_cone(LEDS), prestart=True) as supervisor:
        # As the server runs it: a prestarted child waits, confined, for the next program, so
        # the child's start is not timed (it happens while the previous program still runs).
        supervisor.run("warm", "setLEDs([OFF] * getLEDCount())")
        time.sleep(0.5)  # the spare has confined itself and waits for its program
        start = time.perf_counter()
        result = supervisor.run("bench", source)
        elapsed = time.perf_counter() - start
    assert result.status == "completed", (result.reason, result.error)
    return elapsed


def plain(source: str, tmp: Path) -> float:
    program = tmp / "program.py"
    program.write_text(source)
    out = subprocess.run(
        [sys.executable, "-c", PLAIN_RUNNER.format(leds=LEDS), str(program)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    source = ANIMATION.replace("FRAMES", str(args.frames))
    with tempfile.TemporaryDirectory() as tmp:
        plain_times, sandbox_times = [], []
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            plain_times.append(plain(source, Path(tmp)))
            sandbox_times.append(sandboxed(source, Path(tmp)))
    p, s = statistics.median(plain_times), statistics.median(sandbox_times)
    # Each pair ran back to back: the median of the pairs' ratios shrugs off a burst of load
    # from elsewhere on a shared machine better than the ratio of the two medians.
    pairs = statistics.median(b / a for a, b in zip(plain_times, sandbox_times, strict=True))
    print(f"{args.frames} frames of {LEDS} LEDs, median of {args.repeats} (wall seconds)")
    print(f"  plain CPython (setLEDs packs and checks): {p:.3f} s ({args.frames / p:.0f} fps)")
    print(f"  sandbox (child, pipes, parent check):    {s:.3f} s ({args.frames / s:.0f} fps)")
    print(f"  ratio sandbox/plain: {s / p:.2f}x (goal <= 1.3x)")
    print(f"  median of the {args.repeats} back-to-back pairs' ratios: {pairs:.2f}x")


if __name__ == "__main__":
    main()
