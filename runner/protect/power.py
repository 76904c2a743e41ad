"""The power budget: a frame whose estimated current is above the budget is dimmed uniformly.

Current model (per frame, in mA)::

    current = led_count * idle_ma + ma_per_channel * sum(level of every R, G and B) / 255

where ``level`` is the 0..255 PWM duty the hardware gets after gamma (``runner.protect.light``):
a WS281x channel is a constant-current sink switched by PWM, so its mean current is its full
current times its duty. Defaults (see ``RunnerConfig``) and where they come from:

* 20 mA per channel at full: the WS2811 driver's constant-current outputs are specified at about
  18.5 mA, and Adafruit's NeoPixel guide budgets 60 mA per pixel at full white (20 mA a channel).
  FastLED's ``power_mgt.cpp`` measured 16/11/15 mA (R/G/B) and WLED assumes 55 mA per LED
  (``LED_MILLIAMPS_DEFAULT``), so 20 mA errs on the safe side.
* 1 mA idle per LED: the driver chip's own draw with every channel off (FastLED's ``gDark_mW``
  is 1 mA at 5 V).
* 8,000 mA budget: 80 % of a 5 V 10 A supply, the usual margin for a supply run continuously
  and for the voltage drop along the string. 500 LEDs at full white want 30.5 A by this model.

Scaling is uniform in linear light: every channel of every LED is multiplied by the same factor
``s`` of emitted light. Since a channel emits ``(c * L / 25500) ** gamma``, that is the channel
value ``c`` times ``s ** (1 / gamma)``, rounded down; brightness ``L`` and hue are kept.
"""

from __future__ import annotations

from functools import lru_cache

from runner.protect.light import Emission, LightModel

# Rounding can leave a scaled frame a hair above the budget; each retry dims it this much more.
_RETRY_FACTOR = 0.98
_MAX_RETRIES = 200


class PowerBudget:
    """Estimates a frame's current and scales frames over ``max_ma`` down to it."""

    def __init__(
        self,
        model: LightModel,
        led_count: int,
        max_ma: float,
        ma_per_channel: float,
        idle_ma: float,
    ) -> None:
        """``max_ma`` must be above the idle draw ``led_count * idle_ma``."""
        self.idle_total_ma = led_count * idle_ma
        if max_ma <= self.idle_total_ma:
            raise ValueError(
                f"a {max_ma:g} mA budget is not above the idle draw of {led_count} LEDs "
                f"({self.idle_total_ma:g} mA)"
            )
        self.max_ma = max_ma
        self._model = model
        self._ma_per_level = ma_per_channel / 255.0

    def current_ma(self, light: Emission) -> float:
        """The modelled current of a measured frame, in mA."""
        return self.idle_total_ma + self._ma_per_level * sum(light.sums)

    def limit(self, light: Emission) -> tuple[Emission, float]:
        """The frame within budget and the factor its light was scaled by (1.0: unchanged)."""
        wanted = self.current_ma(light)
        if wanted <= self.max_ma:
            return light, 1.0
        variable = wanted - self.idle_total_ma
        share = (self.max_ma - self.idle_total_ma) / variable  # of the light, in linear terms
        factor = share ** (1.0 / self._model.gamma)  # of the channel values
        scaled = light
        for _ in range(_MAX_RETRIES):
            scaled = self._scale(light, factor)
            if self.current_ma(scaled) <= self.max_ma:
                break
            factor *= _RETRY_FACTOR
        else:  # unreachable with a budget above the idle draw; dark is always within it
            scaled = self._scale(light, 0.0)
        return scaled, (self.current_ma(scaled) - self.idle_total_ma) / variable

    def _scale(self, light: Emission, factor: float) -> Emission:
        table = _scale_table(factor)
        packed = bytearray(light.packed.translate(table))
        packed[3::4] = light.packed[3::4]  # brightness stays: only R, G, B are scaled
        return self._model.measure(bytes(packed))


@lru_cache(maxsize=16)
def _scale_table(factor: float) -> bytes:
    """``table[c] = int(c * factor)``: an animation over the budget scales its frames by a few
    factors again and again (a strobe by two), and building the table took a tenth of the
    protection's time per 500-LED frame."""
    return bytes(map(int, map(factor.__mul__, range(256))))
