"""The frame packer on its own: microseconds per ``pack_frame`` call at 500 LEDs.

``pack_frame`` runs in the sandbox child on every ``setLEDs``; its C fast path keeps it well below
a frame slot. Prints one line per frame shape (ints as lists, ints as tuples, floats, one bad LED).

    .venv/bin/python bench/bench_frames.py [--leds 500] [--repeat 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import timeit

from runner.exc import FrameInvalid, FrameTypeInvalid
from runner.sandbox.frames import pack_frame


def shapes(leds: int) -> dict[str, list[object]]:
    """Frames a program typically passes, plus one with a bad last LED (the slow path)."""
    bad: list[object] = [[0, 0, 255, 100] for _ in range(leds - 1)]
    bad.append([0, 0, 256, 100])
    ints: list[object] = [[i % 256, 0, 255, 100] for i in range(leds)]
    floats: list[object] = [[i * 0.37 % 255, 12.7, 0.0, 100.0] for i in range(leds)]
    return {
        "ints, list of lists": ints,
        "ints, list of shared tuples": [(0, 0, 255, 100)] * leds,
        "floats (truncated)": floats,
        "one bad LED at the end": bad,
    }


def microseconds(frame: list[object], leds: int, repeat: int) -> float:
    def call() -> None:
        with contextlib.suppress(FrameInvalid, FrameTypeInvalid):
            pack_frame(frame, leds)

    best = min(timeit.repeat(call, number=repeat, repeat=5))
    return best / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leds", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    for name, frame in shapes(args.leds).items():
        label = f"pack_frame, {args.leds} LEDs, {name}"
        print(f"{label:52} {microseconds(frame, args.leds, args.repeat):>9.1f} µs")


if __name__ == "__main__":
    main()
