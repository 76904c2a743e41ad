"""WS2811/WS2812 strips through ``rpi_ws281x.PixelStrip`` (Raspberry Pi 1-4 only).

The only module that imports ``rpi_ws281x``, and only inside ``Ws281xStrip.__init__``: off a Pi
``begin()`` fails, and merely constructing a ``PixelStrip`` registers an ``atexit`` hook that can
crash the interpreter at exit, so nothing here runs unless this backend is chosen. The library
does not support the Raspberry Pi 5 (its RP1 chip has no compatible PWM/DMA path).

Colour order and gamma are applied by ``runner.leds.colour.WireColour`` (shared with ``spi``);
the library itself is opened with ``WS2811_STRIP_RGB`` and brightness 255 so it sends our bytes
unchanged.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING, Any

from runner.exc import BackendUnavailable
from runner.leds import LedFrame, Strip
from runner.leds.colour import WireColour

if TYPE_CHECKING:
    from runner.config import RunnerConfig

__all__ = ["Ws281xStrip", "map_colour"]

from runner.leds.colour import map_colour  # noqa: E402 - re-exported: the documented home

# ws2811.h: shifts 16/8/0 for R/G/B, i.e. bytes are sent exactly as packed.
_WS2811_STRIP_RGB = 0x00100800


def _strip_rgb(module: Any) -> int:
    """The library's identity strip type (its constant if exposed, else the header's value)."""
    ws = getattr(module, "ws", None)
    return int(getattr(ws, "WS2811_STRIP_RGB", _WS2811_STRIP_RGB))


class Ws281xStrip(Strip):
    """A WS281x strip driven by DMA/PWM from the Pi's GPIO (GPIO 18 by default)."""

    name = "ws281x"

    def __init__(self, led_count: int, config: RunnerConfig) -> None:
        super().__init__(led_count)
        self._colour = WireColour(config.ws281x_strip_type, config.ws281x_gamma)
        try:
            import rpi_ws281x  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise BackendUnavailable(
                "the ws281x backend needs the rpi-ws281x package (pip install 'ledtree[pi]') "
                "on a Raspberry Pi 1-4; it does not support the Pi 5"
            ) from exc
        self._pixels: Any = None
        try:
            pixels = rpi_ws281x.PixelStrip(
                led_count,
                config.ws281x_pin,
                freq_hz=config.ws281x_freq_hz,
                dma=config.ws281x_dma,
                invert=config.ws281x_invert,
                brightness=255,
                channel=config.ws281x_channel,
                strip_type=_strip_rgb(rpi_ws281x),
            )
        except Exception as exc:
            raise BackendUnavailable(f"cannot create the ws281x strip: {exc}") from exc
        try:
            pixels.begin()
        except Exception as exc:
            # A strip that never began must not be finalised at exit: that is what crashes.
            atexit.unregister(getattr(pixels, "_cleanup", lambda: None))
            raise BackendUnavailable(
                f"cannot open the ws281x strip on GPIO {config.ws281x_pin} (DMA "
                f"{config.ws281x_dma}, channel {config.ws281x_channel}): {exc}. It needs a "
                "Raspberry Pi 1-4 and root (or /dev/mem access); the Pi 5 is not supported"
            ) from exc
        self._pixels = pixels

    def _write(self, frame: LedFrame) -> None:
        pixels = self._pixels
        for i, value in enumerate(self._colour.packed(frame)):
            pixels.setPixelColor(i, value)
        pixels.show()

    def _release(self) -> None:
        pixels, self._pixels = self._pixels, None
        if pixels is not None:
            pixels._cleanup()
            atexit.unregister(pixels._cleanup)
