"""The spi backend: encoding time per frame, and the wire time that caps the frame rate.

    .venv/bin/python bench/bench_spi.py [--leds 500] [--repeat 2000]

Encoding is measured (median of ``--repeat`` frames, random colours and brightness, through
``SpiStrip.encode_frame`` exactly as ``show`` calls it). Wire time is computed: the LED bits times
the bit period, plus the latch, at the clock every Pi gives (6.25 MHz) next to ws281x's 800 kHz.
The string cannot show frames faster than one per wire time, whatever the program asks for.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from runner.config import RunnerConfig
from runner.leds.spi import (
    LATCH_MIN_US,
    SYMBOL_BITS,
    SpiStrip,
    latch_bytes,
    pi_clocks,
    timing,
)

WS281X_BIT_US = 1.25  # 800 kHz
WS281X_LATCH_US = LATCH_MIN_US  # what a WS2812B-V5 needs, whichever backend drives it


class DiscardingSpi:
    """A device that takes the bytes and drops them: only the encoding is timed."""

    max_speed_hz = 0
    mode = 0

    def open(self, bus: int, device: int) -> None:
        pass

    def writebytes2(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def encoding_us(leds: int, repeat: int) -> list[float]:
    """Microseconds to encode each of ``repeat`` random frames."""
    rng = random.Random(1)
    strip = SpiStrip(
        leds, RunnerConfig(led_count=leds), device=DiscardingSpi(), bufsiz=lambda: 65535
    )
    frames = [
        [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256), rng.randrange(101))
            for _ in range(leds)
        ]
        for _ in range(20)
    ]
    samples = []
    for i in range(repeat):
        frame = frames[i % len(frames)]
        start = time.perf_counter()
        strip.encode_frame(frame)
        samples.append((time.perf_counter() - start) * 1e6)
    strip.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leds", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    hz = RunnerConfig().spi_hz
    leds = args.leds

    samples = encoding_us(leds, args.repeat)
    print(f"spi encoding, {leds} LEDs (median of {len(samples)} frames, random colours):")
    print(
        f"  median {statistics.median(samples):.0f} us, "
        f"p95 {statistics.quantiles(samples, n=20)[-1]:.0f} us per frame"
    )
    size = leds * 24 * SYMBOL_BITS // 8 + latch_bytes(hz)
    print(f"  {size} bytes per frame ({leds} x 24 bytes + {latch_bytes(hz)} latch bytes)")

    clock = pi_clocks(hz)[0][1]
    t = timing(clock, hz)
    spi_ms = (leds * 24 * t.period_ns / 1000 + t.latch_us) / 1000
    ws_ms = (leds * 24 * WS281X_BIT_US + WS281X_LATCH_US) / 1000
    print(f"\nwire time per frame, {leds} LEDs (24 bits each):")
    print(f"  {'backend':<34}{'bit':>9}{'latch':>9}{'frame':>10}{'max fps':>9}")
    for name, bit_us, latch_us, ms in (
        (f"spi, {clock / 1e6:.2f} MHz (8 SPI bits/bit)", t.period_ns / 1000, t.latch_us, spi_ms),
        ("ws281x, 800 kHz PWM/DMA", WS281X_BIT_US, WS281X_LATCH_US, ws_ms),
    ):
        print(f"  {name:<34}{bit_us:>7.2f}us{latch_us:>7.0f}us{ms:>8.2f}ms{1000 / ms:>9.1f}")
    per_led_us = 24 * t.period_ns / 1000
    at_40 = int((25_000 - t.latch_us) // per_led_us)
    print(f"  spi: at most {at_40} LEDs at the default 40 fps (TREE_FPS)")


if __name__ == "__main__":
    main()
