"""LED backends behind one small interface, chosen like gpiozero chooses pin factories.

``make_strip(name)`` picks by explicit argument first, then ``TREE_LED_BACKEND``, defaulting to
``virtual``. Hardware libraries are imported only by the backend that needs them, and only when
that backend is chosen.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from runner.exc import FrameInvalid, StripClosed

if TYPE_CHECKING:
    from runner.config import RunnerConfig

# One LED: (R, G, B, L) with R, G, B in 0..255 and L (brightness) in 0..100.
Led = tuple[int, int, int, int]
LedFrame = Sequence[Led]

BACKENDS = ("virtual", "spi", "ws281x", "gpiozero")


class Strip(ABC):
    """A string of addressable LEDs.

    Backends must override ``_write(frame)`` (push an already-checked frame to the hardware) and
    may override ``_release()`` (free the hardware). ``show`` and ``close`` enforce the shared
    rules, so every backend fails the same way: a wrong-length frame raises ``FrameInvalid``, a
    closed strip raises ``StripClosed``. Frames reaching ``show`` have been validated by
    ``runner.sandbox.frames``; ``show`` only re-checks the length, which is cheap.
    """

    name: str = "abstract"

    def __init__(self, led_count: int) -> None:
        if led_count < 1:
            raise ValueError(f"led_count must be at least 1, not {led_count}")
        self._led_count = led_count
        self._closed = False

    def __len__(self) -> int:
        return self._led_count

    @property
    def closed(self) -> bool:
        """True once ``close`` has been called."""
        return self._closed

    def show(self, frame: LedFrame) -> None:
        """Display one frame.

        :param frame: exactly ``len(self)`` validated ``(R, G, B, L)`` tuples.
        Raises:
            StripClosed: the strip was closed.
            FrameInvalid: the frame has the wrong number of LEDs.
        """
        if self._closed:
            raise StripClosed(f"{self.name} strip is closed")
        if len(frame) != self._led_count:
            raise FrameInvalid(f"frame has {len(frame)} LEDs, the strip has {self._led_count}")
        self._write(frame)

    def blank(self) -> None:
        """Turn every LED off."""
        self.show([(0, 0, 0, 0)] * self._led_count)

    def close(self) -> None:
        """Blank the LEDs and release the hardware; safe to call twice."""
        if self._closed:
            return
        try:
            self.blank()
        finally:
            self._closed = True
            self._release()

    @abstractmethod
    def _write(self, frame: LedFrame) -> None:
        """Push a checked frame to the hardware (backends override this)."""

    def _release(self) -> None:  # noqa: B027 - optional hook, nothing to free by default
        """Free the hardware (backends override this when they hold any)."""

    def __enter__(self) -> Strip:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def make_strip(
    name: str | None = None, led_count: int | None = None, config: RunnerConfig | None = None
) -> Strip:
    """Open the LED backend chosen by argument, then ``TREE_LED_BACKEND``, else ``virtual``."""
    from runner.config import RunnerConfig

    cfg = config or RunnerConfig.from_environ()
    chosen = name or os.environ.get("TREE_LED_BACKEND") or cfg.backend or "virtual"
    count = led_count if led_count is not None else cfg.led_count
    if chosen == "virtual":
        from runner.leds.virtual import VirtualStrip

        return VirtualStrip(count, history=5)  # the last few, for TREE_VIRTUAL_DUMP: bounded RSS
    if chosen == "spi":
        from runner.leds.spi import SpiStrip

        return SpiStrip(count, cfg)
    if chosen == "ws281x":
        from runner.leds.ws281x import Ws281xStrip

        return Ws281xStrip(count, cfg)
    if chosen == "gpiozero":
        from runner.leds.gpiozero_rgb import GpiozeroStrip

        return GpiozeroStrip(count, cfg)
    raise ValueError(f"unknown LED backend {chosen!r}; choose one of {', '.join(BACKENDS)}")
