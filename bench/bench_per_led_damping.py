"""Red team round seventeen: what the per-LED flash count costs on frames it holds back.

    .venv/bin/python bench/bench_per_led_damping.py [--leds 500] [--frames 400]

The real ``Protector`` (default power budget and flash limiter on), fed recorded frames 25 ms
apart (40 fps), packed as the supervisor hands them over. For each kind of frame it prints how
many frames were damped, the microseconds per frame (best batch of 100, to see past a busy
machine; and the mean and the worst single frame of the slowest run of three), and what share
of a 25 ms frame slot the mean takes. bench/bench_protect.py's kinds stay there; these are the
frames that make ``runner.protect.per_led`` bisect: each LED flickering on its own (the per-LED
count damps nearly every frame) and a theatre chase (it damps every step), against a rainbow
that passes and a full-tree strobe that only the zones damp.
"""

from __future__ import annotations

import argparse
import colorsys
import random
import time
from collections.abc import Callable

from runner.leds import Led
from runner.leds.layout import spiral_cone
from runner.protect import Protector
from runner.protect.light import pack

Frames = list[tuple[Led, ...]]
BATCH = 100
SLOT_US = 25_000.0  # one frame at 40 fps
BLACK: Led = (0, 0, 0, 100)
WHITE: Led = (255, 255, 255, 100)
WARM_WHITE: Led = (255, 180, 107, 100)


def rainbow(leds: int, frames: int) -> Frames:
    """A slowly turning rainbow: passes untouched."""
    out = []
    for k in range(frames):
        row = []
        for i in range(leds):
            r, g, b = colorsys.hsv_to_rgb((i / leds + k / 400) % 1.0, 1.0, 1.0)
            row.append((int(r * 255), int(g * 255), int(b * 255), 60))
        out.append(tuple(row))
    return out


def strobe(leds: int, frames: int) -> Frames:
    """The whole tree white and black, 10 Hz: damped by the zones."""
    on, off = tuple([WHITE] * leds), tuple([BLACK] * leds)
    return [on if (k // 2) % 2 else off for k in range(frames)]


def chase(leds: int, frames: int) -> Frames:
    """Every third LED lit, stepping every other frame: damped by the per-LED count."""
    return [
        tuple(WARM_WHITE if (i + k // 2) % 3 == 0 else BLACK for i in range(leds))
        for k in range(frames)
    ]


def candles(leds: int, frames: int) -> Frames:
    """Orange, each LED at a random brightness (70-100 %) each frame."""
    rng = random.Random(1)
    return [tuple((255, 100, 0, rng.randint(70, 100)) for _ in range(leds)) for _ in range(frames)]


def noise(leds: int, frames: int) -> Frames:
    """Each LED a random colour each frame: the most the per-LED count can be asked to do."""
    rng = random.Random(2)
    return [
        tuple(
            (rng.randrange(256), rng.randrange(256), rng.randrange(256), 100) for _ in range(leds)
        )
        for _ in range(frames)
    ]


KINDS: dict[str, Callable[[int, int], Frames]] = {
    "rainbow (passes)": rainbow,
    "strobe (zones damp)": strobe,
    "theatre chase": chase,
    "candle flicker": candles,
    "random colours": noise,
}


def measure(leds: int, frames: Frames) -> tuple[int, float, float, float]:
    """Frames damped, best batch, mean and worst frame (microseconds) of one run."""
    positions = spiral_cone(leds)
    data = [pack(f) for f in frames]
    protector = Protector(leds, max_current_ma=8000, flash_limit=True, positions=positions)
    damped = 0
    costs: list[float] = []
    for k, (frame, packed) in enumerate(zip(frames, data, strict=True)):
        start = time.perf_counter()
        _, held = protector.judge(frame, k * 0.025, packed)
        costs.append(time.perf_counter() - start)
        damped += held
    batches = [sum(costs[i : i + BATCH]) / BATCH for i in range(0, len(costs) - BATCH + 1, BATCH)]
    return damped, min(batches) * 1e6, sum(costs) / len(costs) * 1e6, max(costs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leds", type=int, default=500)
    parser.add_argument("--frames", type=int, default=400)
    args = parser.parse_args()
    print(f"Protector, {args.leds} LEDs, {args.frames} frames at 40 fps, both stages on")
    print(
        f"{'frames':22} {'damped':>7} {'best us':>9} {'mean us':>9} {'worst us':>9} "
        f"{'% of slot':>10} {'fps (mean)':>11}"
    )
    for name, make in KINDS.items():
        frames = make(args.leds, args.frames)
        runs = [measure(args.leds, frames) for _ in range(3)]
        damped = runs[0][0]
        best = min(run[1] for run in runs)
        mean = max(run[2] for run in runs)
        worst = max(run[3] for run in runs)
        print(
            f"{name:22} {damped:7d} {best:9.0f} {mean:9.0f} {worst:9.0f} "
            f"{100 * mean / SLOT_US:9.1f}% {1e6 / mean:11,.0f}"
        )


if __name__ == "__main__":
    main()
