"""Benchmark of issue 12: what protecting the room costs per 500-LED frame.

    .venv/bin/python bench/bench_protect.py [--leds 500] [--frames 2000]

Part 1, the pure pipeline (``Protector.apply``, times passed in, no processes): microseconds
per frame for the power stage alone, the flash stage alone and both, on four kinds of frame,
and the frames/s of both together (goal: >= 2,000 at 500 LEDs). The supervisor hands ``apply``
the frame's packed bytes it already has; the tuple-only call (packing itself) is shown too.

Part 2, end to end: frames/s from ``setLEDs`` in the sandbox child to the ``VirtualStrip``
(pacing off), protection off and on, for a rotating rainbow and a worst-case strobe.
"""

from __future__ import annotations

import argparse
import colorsys
import random
import time
from collections.abc import Callable

from runner.config import RunnerConfig
from runner.leds import Led
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.protect import Protector
from runner.protect.light import pack
from runner.supervise.supervisor import Supervisor

Frames = list[tuple[Led, ...]]


def rainbow(leds: int, frames: int, level: int = 40) -> Frames:
    """A rotating rainbow at one brightness, within the budget: nothing to change."""
    out = []
    for k in range(frames):
        row = []
        for i in range(leds):
            r, g, b = colorsys.hsv_to_rgb((i / leds + k / frames) % 1.0, 1.0, 1.0)
            row.append((int(r * 255), int(g * 255), int(b * 255), level))
        out.append(tuple(row))
    return out


def twinkle(leds: int, frames: int) -> Frames:
    """Warm white at a different brightness per LED (the mixed-brightness path)."""
    rng = random.Random(1)
    return [tuple((255, 180, 100, rng.randint(0, 60)) for _ in range(leds)) for _ in range(frames)]


def white(leds: int, frames: int) -> Frames:
    """Full white: over the budget on every frame, so every frame is scaled."""
    return [tuple([(255, 255, 255, 100)] * leds)] * frames


def strobe(leds: int, frames: int) -> Frames:
    """Full-tree white/black every frame, as fast as frames come: damped most of the time."""
    on, off = tuple([(255, 255, 255, 100)] * leds), tuple([(0, 0, 0, 100)] * leds)
    return [on if (k // 2) % 2 else off for k in range(frames)]


BATCH = 100  # frames per timed batch: short batches, best one, to see past a busy machine


def per_frame_us(make: Callable[[], Protector], frames: Frames, packed: bool) -> float:
    """Microseconds per ``apply`` (best batch), frames 25 ms apart (40 fps)."""
    data = [pack(f) for f in frames]
    protector = make()
    best = float("inf")
    for first in range(0, len(frames) - BATCH + 1, BATCH):
        batch = range(first, first + BATCH)
        start = time.perf_counter()
        if packed:
            for k in batch:
                protector.apply(frames[k], k * 0.025, packed=data[k])
        else:
            for k in batch:
                protector.apply(frames[k], k * 0.025)
        best = min(best, (time.perf_counter() - start) / BATCH)
    return best * 1e6


def pure_pipeline(leds: int, count: int) -> None:
    """Part 1."""
    kinds = {
        "rainbow (passes)": rainbow(leds, count),
        "twinkle (mixed L)": twinkle(leds, count),
        "full white (scaled)": white(leds, count),
        "strobe (damped)": strobe(leds, count),
    }
    stages: dict[str, Callable[[], Protector]] = {
        "power": lambda: Protector(leds, max_current_ma=8000),
        "flash": lambda: Protector(leds, flash_limit=True),
        "both": lambda: Protector(leds, max_current_ma=8000, flash_limit=True),
    }
    print(f"pure pipeline, {leds} LEDs, us per frame (best batch of {BATCH} of {count} frames)")
    print(
        f"{'frames':22} {'power':>8} {'flash':>8} {'both':>8} {'both fps':>10} {'tuples only':>12}"
    )
    for name, frames in kinds.items():
        cost = {stage: per_frame_us(make, frames, packed=True) for stage, make in stages.items()}
        plain = per_frame_us(stages["both"], frames, packed=False)
        print(
            f"{name:22} {cost['power']:8.1f} {cost['flash']:8.1f} {cost['both']:8.1f} "
            f"{1e6 / cost['both']:10,.0f} {1e6 / plain:9,.0f} fps"
        )


# Frames are made before the loop, so the figure is the pipeline's, not the program's.
RAINBOW = """
n = getLEDCount()
frames = [[fromHSV(i / n + k / 40, 1, 1, 40) for i in range(n)] for k in range(40)]
for i in range(COUNT):
    setLEDs(frames[i % 40])
"""
STROBE = """
frames = [[WHITE] * getLEDCount(), [BLACK] * getLEDCount()]
for i in range(COUNT):
    setLEDs(frames[i // 2 % 2])
"""


def end_to_end(leds: int, count: int, program: str, protect: bool) -> float:
    """Part 2: frames/s shown, first to last, through the real sandbox and supervisor."""
    config = RunnerConfig(
        led_count=leds,
        fps=0.0,
        time_limit_s=60.0,
        cpu_limit_s=70,
        max_current_ma=8000 if protect else 0,
        flash_limit=protect,
    )
    source = program.replace("COUNT", str(count))
    strip = VirtualStrip(leds, history=count + 10)
    with Supervisor(config, strip, spiral_cone(leds)) as supervisor:
        result = supervisor.run("bench", source)
    assert result.status == "completed", result
    shown = strip.frames
    return (len(shown) - 1) / (shown[-1].at - shown[0].at)


def main() -> None:
    """Print both parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leds", type=int, default=500)
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()
    pure_pipeline(args.leds, args.frames)
    print(
        f"\nend to end, {args.leds} LEDs, sandbox child -> VirtualStrip, pacing off, "
        "frames/s (best of 3)"
    )
    for name, program in (("rainbow", RAINBOW), ("strobe", STROBE)):
        # Alternated and best of three: a shared machine's load swings more than the difference.
        off = on = 0.0
        for _ in range(3):
            off = max(off, end_to_end(args.leds, args.frames, program, protect=False))
            on = max(on, end_to_end(args.leds, args.frames, program, protect=True))
        print(f"{name:10} protection off {off:8,.0f}   on {on:8,.0f}")


if __name__ == "__main__":
    main()
