"""Plain RGB LEDs, one ``gpiozero.RGBLED`` (three PWM pins) per LED, for small builds.

Pins come from ``TREE_GPIOZERO_PINS`` as ``"r,g,b;r,g,b;..."`` (BCM numbers), one triple per LED.
The pin factory is gpiozero's usual choice (``GPIOZERO_PIN_FACTORY`` or ``Device.pin_factory``),
so tests install ``MockFactory(pin_class=MockPWMPin)`` and read the pins back. Each channel's
PWM duty is the same gamma-corrected level a WS281x LED gets (``runner.leds.colour``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.exc import BackendUnavailable
from runner.leds import LedFrame, Strip
from runner.leds.colour import channel_level

if TYPE_CHECKING:
    from runner.config import RunnerConfig


def parse_pins(spec: str) -> list[tuple[int, int, int]]:
    """Parse ``"r,g,b;r,g,b"`` into pin triples.

    Raises:
        ValueError: a group is not three integers.
    """
    triples: list[tuple[int, int, int]] = []
    for number, group in enumerate(g for g in spec.split(";") if g.strip()):
        parts = [p.strip() for p in group.split(",")]
        try:
            r, g, b = (int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"TREE_GPIOZERO_PINS group {number + 1} {group.strip()!r} is not three pin "
                "numbers 'r,g,b'"
            ) from None
        triples.append((r, g, b))
    return triples


class GpiozeroStrip(Strip):
    """``led_count`` RGB LEDs on GPIO pins, driven by PWM through gpiozero."""

    name = "gpiozero"

    def __init__(self, led_count: int, config: RunnerConfig) -> None:
        super().__init__(led_count)
        triples = parse_pins(config.gpiozero_pins)
        if len(triples) < led_count:
            raise ValueError(
                f"the gpiozero backend needs one 'r,g,b' pin triple per LED: {led_count} LEDs but "
                f"TREE_GPIOZERO_PINS has {len(triples)}"
            )
        self._gamma = float(config.ws281x_gamma)
        from gpiozero import RGBLED  # type: ignore[import-untyped]

        self._leds: list[Any] = []
        try:
            for r, g, b in triples[:led_count]:
                self._leds.append(RGBLED(r, g, b, pwm=True))
        except Exception as exc:
            self._release()
            raise BackendUnavailable(f"cannot open the gpiozero RGB LEDs: {exc}") from exc

    def _write(self, frame: LedFrame) -> None:
        gamma = self._gamma
        for device, (r, g, b, lum) in zip(self._leds, frame, strict=True):
            device.value = (
                channel_level(r, lum, gamma),
                channel_level(g, lum, gamma),
                channel_level(b, lum, gamma),
            )

    def _release(self) -> None:
        leds, self._leds = self._leds, []
        for device in leds:
            device.close()
