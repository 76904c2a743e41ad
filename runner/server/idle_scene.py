"""The gentle scene the tree shows between programs: a pure function of time.

Soft colour bands drift slowly up the tree at low brightness, and each LED now and then
twinkles towards white. Pure so that tests (and the server's frame loop) can ask for the frame at
any moment without state.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence

from runner.leds import Led

BASE_BRIGHTNESS = 22  # % - visible but calm, and easy on the power supply
WAVE_BRIGHTNESS = 10
TWINKLE_BRIGHTNESS = 55


def _twinkle(index: int, now: float) -> float:
    """0..1, a short flash roughly every 8 s per LED, at an LED-specific phase."""
    phase = ((index * 2654435761) % 4096) / 4096  # Knuth's multiplicative hash: well spread
    wave = math.sin(2 * math.pi * (now / 8.0 + phase))
    return max(0.0, wave) ** 24


def idle_frame(now: float, positions: Sequence[tuple[float, float, float]]) -> list[Led]:
    """The idle scene's frame at time ``now`` (seconds), one LED per position."""
    frame: list[Led] = []
    for i, (_x, _y, z) in enumerate(positions):
        hue = (z * 0.5 - now * 0.02) % 1.0
        wave = math.sin(2 * math.pi * (z * 1.5 - now * 0.15))
        sparkle = _twinkle(i, now)
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75 * (1.0 - sparkle), 1.0)
        level = BASE_BRIGHTNESS + WAVE_BRIGHTNESS * wave + TWINKLE_BRIGHTNESS * sparkle
        frame.append(
            (
                int(round(255 * r)),
                int(round(255 * g)),
                int(round(255 * b)),
                int(round(min(100.0, max(0.0, level)))),
            )
        )
    return frame
