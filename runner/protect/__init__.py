"""Protecting the room: every validated frame passes a power budget, then a flash limiter.

``Protector.apply(frame, now)`` is called on each frame right before ``strip.show``, so the
LEDs, the live view and the recordings all get the same, protected frame. A frame that needs
no change is returned as the very same object, bit for bit. ``stats`` says what was changed,
for the run report. See docs/protection.md.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.leds import Led
from runner.leds.layout import spiral_cone
from runner.protect.flash import FlashLimiter
from runner.protect.light import LightModel, pack, unpack
from runner.protect.power import PowerBudget
from runner.protect.zones import Position

if TYPE_CHECKING:
    from runner.config import RunnerConfig

__all__ = ["ProtectStats", "Protector"]

# Frames built from protected light kept for reuse (4 per 500-LED frame: ~40 KB each).
_BUILT_KEPT = 4


@dataclass
class ProtectStats:
    """What the protection changed during one run."""

    frames_scaled: int = 0  # frames dimmed to stay within the power budget
    power_scale_min: float = 1.0  # the strongest dimming: smallest share of light kept
    frames_damped: int = 0  # frames held back by the flash limiter


class Protector:
    """Power budget then flash limiter, for one strip, for the strip's whole life.

    One per tree, shared by every run and the idle show: the flash window must see the last
    frames of one program and the first of the next together, or programs run back to back
    would each flash three times a second on top of each other. ``stats`` counts since the last
    ``reset_stats`` (the supervisor resets it as each run starts, for the run's report).
    """

    def __init__(
        self,
        led_count: int,
        *,
        gamma: float = 2.2,
        max_current_ma: float = 0.0,
        ma_per_channel: float = 20.0,
        idle_ma: float = 1.0,
        flash_limit: bool = False,
        positions: Sequence[Position] | None = None,
    ) -> None:
        """``max_current_ma`` 0 turns the power budget off; ``flash_limit`` False the limiter.

        ``positions`` (one ``(x, y, z)`` per LED, as ``getLEDPositions()`` gives them) cut the
        tree into the zones the flash limiter judges; without them (None or empty), the default
        spiral cone.
        """
        model = LightModel(gamma)
        self._model = model
        self._power = (
            PowerBudget(model, led_count, max_current_ma, ma_per_channel, idle_ma)
            if max_current_ma > 0
            else None
        )
        self._flash = None
        if flash_limit:
            where = positions or spiral_cone(led_count)  # none known: the default layout
            if len(where) != led_count:
                raise ValueError(f"{len(where)} LED positions for a strip of {led_count} LEDs")
            self._flash = FlashLimiter(model, where)
        self.stats = ProtectStats()
        # The supervisor's thread and the idle show's may both show frames (one at a time in
        # practice); the flash window must never be updated by both at once.
        self._lock = threading.Lock()
        # The last frames built here, by their bytes: a strobe scaled by the power budget or
        # damped to the previous frame repeats a few of them again and again.
        self._built: dict[bytes, tuple[Led, ...]] = {}
        # What the frame judged with ``commit=False`` adds to the counts once it is shown.
        self._uncounted: tuple[float, bool] | None = None

    @classmethod
    def from_config(
        cls,
        config: RunnerConfig,
        led_count: int | None = None,
        positions: Sequence[Position] | None = None,
    ) -> Protector:
        """The protection the settings ask for, with the hardware backends' gamma, for the tree
        whose LEDs hang at ``positions``."""
        return cls(
            config.led_count if led_count is None else led_count,
            gamma=float(config.ws281x_gamma),
            max_current_ma=config.max_current_ma,
            ma_per_channel=config.led_ma_per_channel,
            idle_ma=config.led_idle_ma,
            flash_limit=config.flash_limit,
            positions=positions,
        )

    def reset_stats(self) -> None:
        """Start counting anew (a run begins); the flash window keeps what it has seen."""
        with self._lock:
            self.stats = ProtectStats()
            self._uncounted = None

    @property
    def active(self) -> bool:
        """True when at least one stage is on."""
        return self._power is not None or self._flash is not None

    def apply(
        self,
        frame: tuple[Led, ...],
        now: float,
        packed: bytes | None = None,
        commit: bool = True,
    ) -> tuple[Led, ...]:
        """The frame to show at monotonic ``now``; ``frame`` itself when nothing had to change.

        :param frame: a validated frame of ``(R, G, B, L)`` tuples.
        :param packed: the same frame as 4 bytes per LED, if the caller has it (saves packing).
        :param commit: False when the frame may yet not be shown: call ``shown()`` once it is.
        """
        return self.judge(frame, now, packed, commit)[0]

    def judge(
        self,
        frame: tuple[Led, ...],
        now: float,
        packed: bytes | None = None,
        commit: bool = True,
    ) -> tuple[tuple[Led, ...], bool]:
        """``apply``, and whether the flash limiter damped the frame (the power budget may
        have scaled it either way)."""
        if not self.active:
            return frame, False
        with self._lock:
            return self._apply(frame, now, packed, commit)

    def shown(self, at: float | None = None) -> None:
        """The frame last given to ``apply(commit=False)`` reached the LEDs (at ``at``, when
        given): it enters the flash window and the run's counts (a frame the deadline kept from
        the LEDs was counted as scaled, one more than the frames shown)."""
        with self._lock:
            if self._flash is not None:
                self._flash.commit(at)
            if self._uncounted is not None:
                self._count(*self._uncounted)
                self._uncounted = None

    def _count(self, share: float, damped: bool) -> None:
        if share < 1.0:
            self.stats.frames_scaled += 1
            self.stats.power_scale_min = min(self.stats.power_scale_min, share)
        self.stats.frames_damped += damped

    def _apply(
        self, frame: tuple[Led, ...], now: float, packed: bytes | None, commit: bool
    ) -> tuple[tuple[Led, ...], bool]:
        given = self._model.measure(pack(frame) if packed is None else packed)
        damped = False
        light = given
        share = 1.0
        if self._power is not None:
            light, share = self._power.limit(light)
        if self._flash is not None:
            light, damped = self._flash.limit(light, now, commit)
        self._uncounted = None
        if commit:
            self._count(share, damped)
        else:
            self._uncounted = (share, damped)
        if light is given:
            return frame, damped
        built = self._built.get(light.packed)
        if built is None:
            if len(self._built) >= _BUILT_KEPT:
                self._built.clear()
            built = self._built[light.packed] = unpack(light.packed)
        return built, damped
