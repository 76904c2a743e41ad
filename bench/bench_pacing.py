"""The beat: achieved frame rate at 500 LEDs for a trivial program at caps 25, 40 and 60 fps.

The real Supervisor, a confined child that calls ``setLEDs`` as fast as it can, a virtual strip
recording when each frame was shown. The pacer puts frames on a fixed grid of slots from the
first frame, so the achieved rate should be the cap within 1 % (before the grid, oversleeping
accumulated: 38.5-39.1 fps at a 40 fps cap).

    .venv/bin/python bench/bench_pacing.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

LEDS = 500
PROGRAM = "frame = [RED] * getLEDCount()\nwhile True:\n    setLEDs(frame)\n"


def measure(fps: float, seconds: float, tmp: Path) -> tuple[float, float, float]:
    config = RunnerConfig(
        socket_path=str(tmp / "s.sock"), led_count=LEDS, fps=fps, time_limit_s=seconds
    )
    strip = VirtualStrip(LEDS, history=100_000)
    with Supervisor(config, strip, spiral_cone(LEDS)) as supervisor:
        supervisor.run("pacing", PROGRAM)
    times = [f.at for f in strip.frames]
    strip.close()
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    achieved = (len(times) - 1) / (times[-1] - times[0])
    p99 = gaps[int(0.99 * (len(gaps) - 1))]
    return achieved, p99 * 1000, statistics.median(gaps) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"cap fps  achieved fps  error    median interval  p99 interval  ({LEDS} LEDs)")
    with tempfile.TemporaryDirectory() as tmp:
        for fps in (25.0, 40.0, 60.0):
            achieved, p99, median = measure(fps, args.seconds, Path(tmp))
            error = (achieved / fps - 1) * 100
            row = f"{fps:7.0f}  {achieved:12.2f}  {error:+5.2f} %  {median:12.1f} ms"
            print(f"{row}  {p99:9.1f} ms")


if __name__ == "__main__":
    main()
