"""Dry runs (issue 11, item 1): their cost to the tree, their speed, and their size.

Everything is real: the tree program runs in a confined child under the Supervisor, paced at
40 fps onto a ``VirtualStrip``; dry runs run in confined, low-priority children through the
``Previewer`` in the same process, as in ``python -m runner``. Prints:

(a) the tree's achieved frame rate in alternating windows with no dry runs and with a
    continuous stream of them (one slot, each started as soon as the last ended); goal: at most
    5 % lower;
(b) the wall time of a dry run of a sleep-paced 45 s animation at 500 LEDs (goal: <= 1 s),
    with the CPU time it used and what it predicted: the candy cane example (10 frames a
    second), and a hue wave computing fromHSV for every LED of 25 frames a second (about 1 s
    of CPU time of its own here: a dry run cannot take less than the program's work);
(c) the size of the PreviewResult message at 500 LEDs (the animation, and random noise, the
    worst case for compression), and of the frames as the JSON lists the web API answers with.

    .venv/bin/python bench/bench_preview.py [--window 5] [--pairs 3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import statistics
import threading
import time
from pathlib import Path

from protocol.framing import encode_message
from protocol.preview_codec import decode_frames
from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer, PreviewReport
from runner.supervise.supervisor import Supervisor
from web.preview_api import GZIP_LEVEL

LEDS = 500

# The tree's program: computes every frame (about a millisecond of CPU at 500 LEDs), paced by
# setLEDs at TREE_FPS, like runner/examples/rainbow.py.
TREE_PROGRAM = """
import time
n = getLEDCount()
start = time.time()
while True:
    shift = (time.time() - start) * 0.2
    setLEDs([fromHSV(i / n + shift, 1, 1) for i in range(n)])
"""

CANDY_CANE = (Path(__file__).parents[1] / "runner" / "examples" / "candy_cane.py").read_text()

# A sleep-paced animation that computes every LED: a hue wave, one frame every 40 ms.
ANIMATION = """
import time
n = getLEDCount()
t = 0.0
while True:
    setLEDs([fromHSV(i / n + t, 1, 1) for i in range(n)])
    t += 0.01
    time.sleep(0.04)
"""

NOISE = """
import random, time
n = getLEDCount()
while True:
    setLEDs([(random.randint(0, 255), random.randint(0, 255), random.randint(0, 255), 100)
             for _ in range(n)])
    time.sleep(0.04)
"""


def config(**overrides: object) -> RunnerConfig:
    values: dict[str, object] = {"led_count": LEDS, "fps": 40.0, "time_limit_s": 45.0}
    values.update(overrides)
    return RunnerConfig(**values)  # type: ignore[arg-type]


def tree_fps(window_s: float, pairs: int) -> tuple[list[float], list[float], int]:
    """The tree program's achieved frames per second in alternating windows without and with a
    continuous stream of dry runs (alternating, so that the load of a shared machine, which
    drifts, weighs on both alike). Returns the fps of each window alone, each beside dry runs,
    and the number of dry runs made."""
    seconds = 2 * pairs * window_s + 30.0  # room for the waits between windows
    cfg = config(time_limit_s=seconds, cpu_limit_s=int(seconds) + 10)
    strip = VirtualStrip(LEDS, history=int(seconds * 50))
    previewer = Previewer(
        dataclasses.replace(cfg, time_limit_s=45.0), spiral_cone(LEDS), prestart=True
    )
    streaming, idle, stop = threading.Event(), threading.Event(), threading.Event()
    made = [0]

    def stream() -> None:
        while not stop.is_set():
            if not streaming.wait(0.05):
                idle.set()
                continue
            idle.clear()
            previewer.preview(ANIMATION)
            made[0] += 1

    windows: list[tuple[bool, float, float]] = []

    def drive() -> None:
        time.sleep(2.0)  # the tree program's start
        for _ in range(pairs):
            for beside in (False, True):
                if beside:
                    streaming.set()
                else:
                    streaming.clear()
                    idle.clear()
                    idle.wait()  # the last dry run has ended
                start = time.monotonic()
                time.sleep(window_s)
                windows.append((beside, start, time.monotonic()))
        streaming.clear()
        sup.stop("bench done")

    threading.Thread(target=stream, daemon=True).start()
    with Supervisor(cfg, strip, spiral_cone(LEDS)) as sup:
        threading.Thread(target=drive, daemon=True).start()
        sup.run("tree", TREE_PROGRAM)
    stop.set()
    previewer.close()
    alone: list[float] = []
    beside_fps: list[float] = []
    for beside, start, end in windows:
        times = [f.at for f in strip.frames if start <= f.at < end]
        fps = (len(times) - 1) / (times[-1] - times[0])
        (beside_fps if beside else alone).append(fps)
    return alone, beside_fps, made[0]


def dry_run(source: str, repeats: int) -> tuple[list[PreviewReport], list[float]]:
    previewer = Previewer(config(), spiral_cone(LEDS), prestart=True)
    reports, walls = [], []
    for _ in range(repeats):
        time.sleep(1.0)  # the prestarted child confines itself, as between two requests
        started = time.monotonic()
        reports.append(previewer.preview(source))
        walls.append(time.monotonic() - started)
    previewer.close()
    return reports, walls


def sizes(report: PreviewReport) -> tuple[int, str]:
    """Bytes of the protocol message, and of the frames as JSON lists (the web API's form) as
    sent plain and gzipped (``web/preview_api.py`` gzips for browsers that accept it)."""
    message = len(encode_message(report.to_message("bench")))
    frames = decode_frames(report.frames_data, report.frame_count, report.led_count)
    as_json = json.dumps(frames, separators=(",", ":")).encode()
    zipped = gzip.compress(as_json, compresslevel=GZIP_LEVEL, mtime=0)
    return message, f"{len(as_json):,}, gzipped {len(zipped):,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=5.0, help="seconds per window")
    parser.add_argument("--pairs", type=int, default=3, help="windows alone + beside")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"dry runs at {LEDS} LEDs; {os.cpu_count()} CPUs, load average {load}")

    alone, beside, made = tree_fps(args.window, args.pairs)
    change = 100 * (statistics.median(beside) - statistics.median(alone)) / statistics.median(alone)
    print(f"(a) tree fps alone            median {statistics.median(alone):6.2f}"
          f"  ({', '.join(f'{x:.1f}' for x in alone)})")  # fmt: skip
    print(f"    tree fps beside dry runs  median {statistics.median(beside):6.2f}"
          f"  ({', '.join(f'{x:.1f}' for x in beside)}; {made} dry runs; {change:+.1f} %,"
          " goal >= -5 %)")  # fmt: skip

    print("(b) dry run of a sleep-paced 45 s animation (goal: wall <= 1 s)")
    for name, source in (("candy cane", CANDY_CANE), ("hue wave", ANIMATION)):
        reports, walls = dry_run(source, args.repeats)
        last = reports[-1]
        print(
            f"    {name:10}  wall median {statistics.median(walls):.3f} s (min {min(walls):.3f},"
            f" max {max(walls):.3f}), child CPU median"
            f" {statistics.median(r.cpu_s for r in reports):.3f} s; predicted {last.status}/"
            f"{last.reason} after {last.duration_s:.2f} s, {last.frames} frames,"
            f" {last.fps:.1f} fps; {last.frame_count} frames returned every"
            f" {last.frame_interval_s * 1000:.0f} ms"
        )
        message, as_json = sizes(last)
        print(f"    {'':10}  PreviewResult {message:,} bytes (its frames as JSON lists: {as_json})")
    noise = dry_run(NOISE, 1)[0][0]
    message, as_json = sizes(noise)
    print(
        f"(c) PreviewResult, random noise: {message:,} bytes, {noise.frame_count} frames every"
        f" {noise.frame_interval_s * 1000:.0f} ms over {noise.duration_s:.1f} s"
        f" (frames as JSON lists: {as_json})"
    )


if __name__ == "__main__":
    main()
