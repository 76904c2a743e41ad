"""Benchmark (c) of issue 2: the same 500-LED animations in the sandbox vs plain CPython.

In-process on purpose: this measures only the RestrictedPython layer (the transform and its
runtime guards), not process start-up or frame transport. Pacing is off and ``setLEDs`` is a
cheap sink that checks the length and keeps the frame. Times are CPU time of the process.

    .venv/bin/python bench/bench_sandbox_overhead.py [--repeats 9] [--frames 100] [--leds 500]
"""

from __future__ import annotations

import argparse
import statistics
import time
import types
from collections.abc import Callable

from runner.sandbox import colours as api
from runner.sandbox.policy import compile_program, make_globals
from runner.sandbox.transformer import GuardedTransformer, SandboxTransformer

# Compute-heavy: trigonometry per LED, a small class, tuple unpacking, fromHSV per LED.
WAVES = """
import math
n = getLEDCount()
positions = getLEDPositions()

class Wave:
    def __init__(self, speed):
        self.speed = speed
        self.phase = 0.0

    def step(self, dt):
        self.phase += self.speed * dt

wave = Wave(0.7)
for frame in range(FRAMES):
    t = frame / 40
    wave.step(1 / 40)
    states = []
    for x, y, z in positions:
        h = (z + 0.1 * math.sin(3 * x + t) + wave.phase) % 1.0
        v = 0.5 + 0.5 * math.sin(10 * z - 4 * t + math.cos(2 * y))
        states.append(fromHSV(h, 1.0, v))
    setLEDs(states)
"""

# Compute-heavy with all the maths in the program itself: a plasma, no fromHSV.
PLASMA = """
import math
n = getLEDCount()
positions = getLEDPositions()
frame = [BLACK] * n
for f in range(FRAMES):
    t = f * 0.05
    for i in range(n):
        x, y, z = positions[i]
        v = math.sin(x * 4 + t) + math.sin(y * 3 - t) + math.sin((x + z) * 5 + t * 1.3)
        v = (v + 3) / 6
        r = int(255 * (0.5 + 0.5 * math.sin(math.pi * v)))
        g = int(255 * (0.5 + 0.5 * math.sin(math.pi * v + 2.094)))
        b = int(255 * (0.5 + 0.5 * math.sin(math.pi * v + 4.188)))
        frame[i] = (r, g, b, 100)
    setLEDs(frame)
"""

# Attribute-heavy: particles as objects, method calls and item writes into a frame buffer.
PARTICLES = """
import random
n = getLEDCount()
rng = random.Random(7)

class Particle:
    def __init__(self):
        self.pos = rng.random() * n
        self.speed = 0.5 + rng.random() * 2
        self.colour = fromHSV(rng.random(), 1, 1)
        self.age = 0

    def move(self):
        self.pos = (self.pos + self.speed) % n
        self.age += 1

particles = [Particle() for _ in range(60)]
frame_buffer = [OFF] * n
for frame in range(FRAMES):
    for i in range(n):
        r, g, b, l = frame_buffer[i]
        frame_buffer[i] = (r * 7 // 8, g * 7 // 8, b * 7 // 8, l)
    for p in particles:
        p.move()
        frame_buffer[int(p.pos)] = p.colour
    setLEDs(frame_buffer)
"""


ANIMATIONS = {"waves": WAVES, "plasma": PLASMA, "particles": PARTICLES}


class SinkAPI:
    """A ProgramAPI whose setLEDs only checks the length and keeps the frame."""

    def __init__(self, led_count: int) -> None:
        self.led_count = led_count
        self.positions = [(0.8 * (1 - i / led_count), 0.3, i / led_count) for i in range(led_count)]
        self.frames = 0
        self.last: object = None

    def get_led_count(self) -> int:
        return self.led_count

    def set_leds(self, states: object) -> None:
        if len(states) != self.led_count:  # type: ignore[arg-type]
            raise ValueError("wrong frame length")
        self.frames += 1
        self.last = states

    def get_led_positions(self) -> list[tuple[float, float, float]]:
        return list(self.positions)

    def write_log(self, text: str) -> None:
        pass


def plain_globals(sink: SinkAPI) -> dict[str, object]:
    """Unrestricted globals offering the same API names."""
    return {
        "__name__": "__main__",
        "getLEDCount": sink.get_led_count,
        "setLEDs": sink.set_leds,
        "getLEDPositions": sink.get_led_positions,
        "fromHSV": api.fromHSV,
        **api.COLOURS,
    }


Variant = tuple[str, Callable[[str], types.CodeType], Callable[[SinkAPI], dict[str, object]]]

VARIANTS: list[Variant] = [
    ("plain CPython", lambda src: compile(src, "<program>", "exec"), plain_globals),
    (
        "all runtime guards (stock)",
        lambda src: compile_program(src, transformer=GuardedTransformer),
        make_globals,
    ),
    (
        "ledtree policy",
        lambda src: compile_program(src, transformer=SandboxTransformer),
        make_globals,
    ),
]


def time_run(
    code: types.CodeType,
    make: Callable[[SinkAPI], dict[str, object]],
    args: argparse.Namespace,
) -> float:
    """CPU seconds for one run of ``code`` with fresh globals (building them is not timed)."""
    sink = SinkAPI(args.leds)
    namespace = make(sink)
    namespace["FRAMES"] = args.frames
    # CPU time of this process, not wall time: other work on a shared machine then only shows
    # up as cache effects, not as time spent waiting for a core.
    start = time.process_time()
    exec(code, namespace)
    elapsed = time.process_time() - start
    assert sink.frames == args.frames, "the animation did not show every frame"
    return elapsed


def measure(source: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """Run every variant ``args.repeats`` times, interleaved so machine noise hits all alike."""
    compiled = [(label, compile_fn(source), make) for label, compile_fn, make in VARIANTS]
    times: dict[str, list[float]] = {label: [] for label, _, _ in compiled}
    for _ in range(args.repeats + 1):  # the first round is a warm-up
        for label, code, make in compiled:
            times[label].append(time_run(code, make, args))
    return {label: values[1:] for label, values in times.items()}


def main() -> None:
    """Print a table of median times and ratios to plain CPython."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--leds", type=int, default=500)
    args = parser.parse_args()
    print(f"{args.leds} LEDs, {args.frames} frames per run, {args.repeats} interleaved runs")
    header = f"{'animation':<10} {'variant':<28} {'median ms':>10} {'min ms':>8} {'ms/frame':>9}"
    print(header + f" {'ratio':>6} {'min ratio':>9}")
    for name, source in ANIMATIONS.items():
        times = measure(source, args)
        plain = times[VARIANTS[0][0]]
        baseline, base_min = statistics.median(plain), min(plain)
        for label, values in times.items():
            median = statistics.median(values)
            print(
                f"{name:<10} {label:<28} {median * 1000:>10.1f} {min(values) * 1000:>8.1f}"
                f" {median * 1000 / args.frames:>9.3f} {median / baseline:>5.2f}x"
                f" {min(values) / base_min:>8.2f}x"
            )


if __name__ == "__main__":
    main()
