"""The runner's settings as one frozen object, built from ``TREE_*`` environment variables."""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from protocol.limits import MAX_LEDS

# CPU seconds a program gets beyond its wall-clock limit when TREE_CPU_LIMIT is unset, so that
# an endless animation ends at the time limit (completed), not at the CPU limit (failed).
CPU_MARGIN_S = 5


def default_socket_path() -> str:
    """Where runner and web meet when ``TREE_SOCKET`` is unset (a laptop)."""
    return os.path.join(tempfile.gettempdir(), "ledtree", "runner.sock")


@dataclass(frozen=True)
class RunnerConfig:
    """Everything the runner needs to know; tests build one directly with tiny limits."""

    socket_path: str = field(default_factory=default_socket_path)
    led_count: int = 100
    layout_path: str | None = None
    fps: float = 40.0  # 0 turns pacing off (benchmarks)
    time_limit_s: float = 45.0
    backend: str = "virtual"
    # Sandbox child limits.
    cpu_limit_s: int | None = None  # CPU seconds; None: the time limit + CPU_MARGIN_S
    memory_limit_bytes: int = 256 * 1024 * 1024  # RLIMIT_AS of the child
    log_limit_bytes: int = 16 * 1024
    child_user: str = "nobody"  # uid the child drops to when the runner runs as root
    # A development machine: start even when a sandbox layer cannot be applied (with a warning
    # naming it). Off, the runner refuses to start without every layer (docs/security.md).
    sandbox_dev: bool = False
    # Live view: frames forwarded to web per second at most.
    view_fps: float = 25.0
    # ws281x backend.
    ws281x_pin: int = 18
    ws281x_dma: int = 10
    ws281x_channel: int = 0
    ws281x_freq_hz: int = 800_000
    ws281x_invert: bool = False
    ws281x_strip_type: str = "GRB"  # colour order on the wire: RGB, RBG, GRB, GBR, BRG, BGR
    ws281x_gamma: float = 2.2
    # spi backend: WS281x data on the SPI controller's MOSI (GPIO 10), /dev/spidev<bus>.<device>.
    # Colour order and gamma are the ws281x settings above. 6.4 MHz is 8 SPI bits per LED bit;
    # every Pi's divider rounding turns it into 6.25 MHz (see docs/hardware.md).
    spi_bus: int = 0
    spi_device: int = 0
    spi_hz: int = 6_400_000
    # gpiozero backend: one RGBLED per LED, "r,g,b;r,g,b;..." BCM pin numbers.
    gpiozero_pins: str = "17,27,22"
    # Socket permissions (SPEC §7): mode from the umask at bind time, optional shared group.
    socket_mode: int = 0o660
    socket_group: str | None = None
    # Protecting the room (runner/protect, docs/protection.md): a power budget and a flash
    # limiter on every frame after validation. Defaults: 80 % of a 5 V 10 A supply; 20 mA per
    # channel at full (WS2811 outputs ~18.5 mA, Adafruit budgets 60 mA a pixel) and 1 mA idle
    # per LED (FastLED's power_mgt.cpp). 0 turns the budget off.
    max_current_ma: float = 8000.0
    led_ma_per_channel: float = 20.0
    led_idle_ma: float = 1.0
    flash_limit: bool = True  # TREE_FLASH_LIMIT=off: at most 3 flashes a second (WCAG 2.3.1)

    def __post_init__(self) -> None:
        _check_range("led_count", self.led_count, 1, MAX_LEDS)
        _check_range("fps", self.fps, 0, 10_000)
        _check_range("time_limit_s", self.time_limit_s, 0.001, 24 * 3600)
        _check_range("view_fps", self.view_fps, 0, 10_000)  # 0: every frame
        if self.cpu_limit_s is not None:
            _check_range("cpu_limit_s", self.cpu_limit_s, 1, 24 * 3600)
        _check_range("max_current_ma", self.max_current_ma, 0, 1_000_000)
        _check_range("led_ma_per_channel", self.led_ma_per_channel, 0.1, 1000)
        _check_range("led_idle_ma", self.led_idle_ma, 0, 100)
        idle_ma = self.led_count * self.led_idle_ma
        if 0 < self.max_current_ma <= idle_ma:
            raise ValueError(
                f"setting max_current_ma (TREE_MAX_CURRENT_MA): {self.max_current_ma:g} mA is not "
                f"above the idle draw of {self.led_count} LEDs at {self.led_idle_ma:g} mA each "
                f"({idle_ma:g} mA); raise it, or 0 turns the power budget off"
            )

    def cpu_seconds(self) -> int:
        """The child's CPU limit: ``TREE_CPU_LIMIT``, else just above the wall-clock limit."""
        if self.cpu_limit_s is not None:
            return self.cpu_limit_s
        return math.ceil(self.time_limit_s) + CPU_MARGIN_S

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> RunnerConfig:
        """Build from ``TREE_*`` variables (``os.environ`` by default), then overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            name = _ENV_NAMES.get(f.name, "TREE_" + f.name.upper())
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, raw, f.type)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def positions_file(self) -> Path | None:
        """The layout CSV, if one is configured."""
        return Path(self.layout_path) if self.layout_path else None


# Settings whose env var is not simply TREE_<FIELD NAME>.
_ENV_NAMES = {
    "socket_path": "TREE_SOCKET",
    "layout_path": "TREE_LAYOUT",
    "backend": "TREE_LED_BACKEND",
    "time_limit_s": "TREE_TIME_LIMIT",
    "cpu_limit_s": "TREE_CPU_LIMIT",
    "memory_limit_bytes": "TREE_MEMORY_LIMIT",
    "log_limit_bytes": "TREE_LOG_LIMIT",
    "view_fps": "TREE_VIEW_FPS",
}


# A typo such as TREE_FLASH_LIMIT=of must not silently mean "off": only these words are read.
_BOOLS = {"1": True, "true": True, "yes": True, "on": True}
_BOOLS.update({"0": False, "false": False, "no": False, "off": False})


def _check_range(name: str, value: float, low: float, high: float) -> None:
    # Refused at start with the setting's name: a runner that starts with e.g. more LEDs than
    # the protocol can carry would only fail later, on every connection.
    env = _ENV_NAMES.get(name, "TREE_" + name.upper())
    if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
        raise ValueError(f"setting {name} ({env}): {value!r} is not between {low:g} and {high:g}")


def _parse(name: str, raw: str, type_name: object) -> object:
    text = str(type_name)
    if "bool" in text:
        word = raw.strip().lower()
        if word not in _BOOLS:
            env = _ENV_NAMES.get(name, "TREE_" + name.upper())
            raise ValueError(f"setting {name} ({env}): {raw!r} is not on or off")
        return _BOOLS[word]
    try:
        if name == "socket_mode":
            return int(raw, 8)
        if "int" in text and "str" not in text:
            return int(raw)
        if "float" in text:
            return float(raw)
    except ValueError:
        raise ValueError(f"setting {name}: {raw!r} is not a valid {text}") from None
    return raw
