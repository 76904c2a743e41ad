"""Benchmark of issue 11 item 6: the size of a run's recording, and what writing one costs.

    .venv/bin/python bench/bench_recording.py [--leds 500] [--seconds 45] [--fps 25]

A recording holds the frames the runner sent at the live-view rate (``TREE_VIEW_FPS``, 25/s)
for the whole run (``web.recordings``: zlib of delta-coded RGBL bytes). SPEC §3 allows at most
1 MB per 45 s at 500 LEDs; noise that compresses worse keeps every 2nd (4th, ...) frame.
Prints, per kind of program: raw bytes, file bytes, frames kept, encode and decode time.
"""

from __future__ import annotations

import argparse
import colorsys
import random
import time
from collections.abc import Callable

from web.recordings import MAX_RECORDING_BYTES, Recording, decode, encode_bounded

Maker = Callable[[int, int, float], bytes]


def _pack(leds: list[tuple[int, int, int, int]]) -> bytes:
    return bytes(v for led in leds for v in led)


def solid(n: int, k: int, t: float) -> bytes:
    return _pack([(0, 0, 255, 100)] * n)


def rainbow(n: int, k: int, t: float) -> bytes:
    leds = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i / n + t / 5) % 1, 1, 1)
        leds.append((int(255 * r), int(255 * g), int(255 * b), 100))
    return _pack(leds)


def twinkle(n: int, k: int, t: float) -> bytes:
    rng = random.Random(k // 3)  # a few LEDs change every few frames, like the example
    leds = [(255, 200, 120, 30)] * n
    for _ in range(n // 20):
        leds[rng.randrange(n)] = (255, 255, 255, 100)
    return _pack(leds)


def fire(n: int, k: int, t: float) -> bytes:
    rng = random.Random(k)  # every LED flickers every frame: close to the worst real program
    return _pack([(255, rng.randrange(40, 160), 0, rng.randrange(40, 100)) for _ in range(n)])


def noise(n: int, k: int, t: float) -> bytes:
    return random.Random(k).randbytes(4 * n)  # the worst case: nothing to compress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leds", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    count = int(args.seconds * args.fps)
    print(f"recording of {args.seconds:g} s at {args.fps:g} frames/s, {args.leds} LEDs")
    print(
        f"limit {MAX_RECORDING_BYTES / 1e6:.2f} MB; raw frames {count * args.leds * 4 / 1e6:.2f} MB"
    )
    print(f"{'program':<10}{'file':>12}{'kept':>8}{'encode':>10}{'decode':>10}")
    makers: dict[str, Maker] = {
        "solid": solid, "rainbow": rainbow, "twinkle": twinkle, "fire": fire, "noise": noise,
    }  # fmt: skip
    for name, make in makers.items():
        rec = Recording(args.leds)
        for k in range(count):
            rec.times_ms.append(round(1000 * k / args.fps))
            rec.frames.append(make(args.leds, k, k / args.fps))
        t0 = time.perf_counter()
        data, kept = encode_bounded(rec)
        t1 = time.perf_counter()
        back = decode(data)
        t2 = time.perf_counter()
        assert len(back) == kept and len(data) <= MAX_RECORDING_BYTES
        size = f"{len(data) / 1e3:,.1f} kB"
        print(f"{name:<10}{size:>12}{kept:>8}{t1 - t0:>9.2f}s{t2 - t1:>9.2f}s")


if __name__ == "__main__":
    main()
