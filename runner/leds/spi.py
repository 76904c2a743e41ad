"""WS2811/WS2812 strips on the SPI controller's MOSI line (GPIO 10) through ``spidev``: every Pi.

Each WS281x data bit becomes one SPI byte, most significant bit first, clocked at 6.4 MHz
requested (6.25 MHz after any Pi's divider rounding: 160 ns per SPI bit)::

    0 -> 11000000   high 2 SPI bits (320 ns), low 6
    1 -> 11111000   high 5 SPI bits (800 ns), low 3       bit period 8 SPI bits (1.28 us)

``docs/hardware.md`` checks this against the WS2812B datasheet for each Pi; ``timing`` and
``clock_problems`` below compute it, and the tests recompute it. One byte per bit rather than
rpi-ws281x's three SPI bits per bit: every byte ends low, so wherever the controller pauses
(between bytes or between chunks) it only lengthens a low, which the LEDs tolerate; and a 320 ns
``0`` also fits the WS2812B-V5 (high 220-380 ns), which 3-bit encoding's 417-424 ns does not.

A frame is its encoded bytes followed by at least ``LATCH_S`` of zeros (the reset/latch; the
WS2812B-V5 needs >= 280 us low, older parts 50 us), written with one ``writebytes2`` call. The
kernel's spidev driver takes at most ``bufsiz`` bytes per transfer (its module parameter,
default 4096, shown in ``/sys/module/spidev/parameters/bufsiz``); ``writebytes2`` reads that
file and splits a larger buffer into chunks of that size (py-spidev caps a chunk at 65535), one
``write()`` each, and the bus idles between them. ``spidev.bufsiz=65536`` on the kernel command
line makes a frame of up to 2,720 LEDs one transfer; ``SpiStrip`` logs a warning when it is not.

``spidev`` is imported only inside ``SpiStrip.__init__``, and only when no device is injected:
tests pass a recording fake as ``device=`` (as gpiozero takes a ``pin_factory``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from runner.exc import BackendUnavailable
from runner.leds import LedFrame, Strip
from runner.leds.colour import WireColour

if TYPE_CHECKING:
    from runner.config import RunnerConfig

logger = logging.getLogger(__name__)

ZERO_SYMBOL = 0b1100_0000
ONE_SYMBOL = 0b1111_1000
SYMBOL_BITS = 8
LATCH_S = 300e-6  # the datasheet's 280 us, plus margin
BUFSIZ_FILE = Path("/sys/module/spidev/parameters/bufsiz")
SPIDEV_DEFAULT_BUFSIZ = 4096
PY_SPIDEV_MAX_CHUNK = 65535

# WS2812B datasheet, in ns: (nominal, tolerance) for the high times and the whole bit period,
# and the minimum low time that latches (WS2812B-V5; the older datasheet says 50 us).
T0H_NS = (400.0, 150.0)
T1H_NS = (800.0, 150.0)
PERIOD_NS = (1250.0, 600.0)
LATCH_MIN_US = 280.0


def _bit_planes() -> tuple[bytes, ...]:
    """``planes[k][v]`` = the SPI byte that sends bit ``k`` (MSB first) of byte ``v``.

    Eight 256-byte ``bytes.translate`` tables: encoding a frame is eight C-level translations
    interleaved by slice assignment, about 40 us for 500 LEDs, instead of a Python loop per bit.
    """
    return tuple(
        bytes(ONE_SYMBOL if v & (0x80 >> k) else ZERO_SYMBOL for v in range(256)) for k in range(8)
    )


PLANES = _bit_planes()


def encode(wire: bytes) -> bytes:
    """The SPI bytes that send ``wire`` (colour bytes in wire order) to a WS281x string."""
    out = bytearray(SYMBOL_BITS * len(wire))
    for k, plane in enumerate(PLANES):
        out[k::SYMBOL_BITS] = wire.translate(plane)
    return bytes(out)


def latch_bytes(requested_hz: int) -> int:
    """Zero bytes that hold the line low for ``LATCH_S`` at the requested clock.

    Every Pi's divider rounds the clock down, never up, so the real low time is only longer.
    """
    return math.ceil(LATCH_S * requested_hz / 8)


# --- the timing arithmetic (docs/hardware.md, the tests and bench/bench_spi.py use it) ---------


def bcm2835_clock(core_hz: float, requested_hz: float) -> float:
    """SPI clock a Pi 1-4 gives: the core clock over an even divider, rounded down in speed.

    What the kernel's spi-bcm2835 computes: ``cdiv = ceil(core / requested)``, bumped to the
    next even number; ``core / 2`` at most.
    """
    if requested_hz >= core_hz / 2:
        return core_hz / 2
    cdiv = math.ceil(core_hz / requested_hz)
    cdiv += cdiv % 2
    return core_hz / cdiv if cdiv < 65536 else core_hz / 65536


def rp1_clock(requested_hz: float, ssi_hz: float = 200e6) -> float:
    """SPI clock a Pi 5 gives: RP1's DesignWare SPI, 200 MHz over an even divider (dw_spi)."""
    div = (math.ceil(ssi_hz / requested_hz) + 1) & ~1
    return ssi_hz / max(div, 2)


@dataclass(frozen=True)
class Timing:
    """The waveform one clock produces, in ns (latch in us)."""

    clock_hz: float
    t0h_ns: float
    t1h_ns: float
    period_ns: float
    latch_us: float


def timing(clock_hz: float, requested_hz: int) -> Timing:
    """What the LEDs see when the bytes built for ``requested_hz`` go out at ``clock_hz``."""
    bit_ns = 1e9 / clock_hz
    return Timing(
        clock_hz=clock_hz,
        t0h_ns=bit_ns * _ones(ZERO_SYMBOL),
        t1h_ns=bit_ns * _ones(ONE_SYMBOL),
        period_ns=bit_ns * SYMBOL_BITS,
        latch_us=latch_bytes(requested_hz) * 8 * bit_ns / 1000,
    )


def _ones(symbol: int) -> int:
    return bin(symbol).count("1")


def clock_problems(t: Timing) -> list[str]:
    """Each way ``t`` falls outside the WS2812B datasheet's table; empty when it fits."""
    found = []
    for label, value, (nominal, tol) in (
        ("T0H", t.t0h_ns, T0H_NS),
        ("T1H", t.t1h_ns, T1H_NS),
        ("bit period", t.period_ns, PERIOD_NS),
    ):
        if not nominal - tol <= value <= nominal + tol:
            found.append(f"{label} {value:.0f} ns is outside {nominal:.0f} ± {tol:.0f} ns")
    if t.latch_us < LATCH_MIN_US:
        found.append(f"latch {t.latch_us:.0f} us is shorter than {LATCH_MIN_US:.0f} us")
    return found


def pi_clocks(requested_hz: int) -> list[tuple[str, float]]:
    """The SPI clock each Pi gives for ``requested_hz``, with the core clock fixed as advised."""
    return [
        ("Pi 1, 2 (core 250 MHz)", bcm2835_clock(250e6, requested_hz)),
        ("Pi 3, Zero, Zero 2 (core_freq=250)", bcm2835_clock(250e6, requested_hz)),
        ("Pi 4 (core_freq=500, core_freq_min=500)", bcm2835_clock(500e6, requested_hz)),
        ("Pi 5 (RP1, 200 MHz)", rp1_clock(requested_hz)),
    ]


def drifting_clocks(requested_hz: int) -> list[tuple[str, float]]:
    """What a Pi 3/4 sends when the core clock moves after spi-bcm2835 chose its divider.

    The driver reads the core clock rate once and keeps the divider; the SPI clock then scales
    with the core clock. This is why the core clock must be fixed on a Pi 3 and 4.
    """
    return [
        (
            "Pi 3, core not fixed: divider for 250 MHz, core at 400 MHz",
            bcm2835_clock(250e6, requested_hz) * 400 / 250,
        ),
        (
            "Pi 4, core not fixed: divider for 500 MHz, core at 250 MHz",
            bcm2835_clock(500e6, requested_hz) * 250 / 500,
        ),
    ]


# --- the device -------------------------------------------------------------------------------


class SpiDevice(Protocol):
    """What ``SpiStrip`` uses of ``spidev.SpiDev`` (tests pass a recording fake)."""

    max_speed_hz: int
    mode: int

    def open(self, bus: int, device: int) -> None: ...

    def writebytes2(self, data: bytes) -> None: ...

    def close(self) -> None: ...


def read_bufsiz(path: Path = BUFSIZ_FILE) -> int:
    """spidev's per-transfer byte limit as py-spidev reads it (4096 if the file is missing)."""
    try:
        value = int(path.read_text().strip())
    except (OSError, ValueError):
        return SPIDEV_DEFAULT_BUFSIZ
    return min(value, PY_SPIDEV_MAX_CHUNK) if value > 0 else SPIDEV_DEFAULT_BUFSIZ


class SpiStrip(Strip):
    """A WS281x string whose data line is MOSI (GPIO 10), driven through ``/dev/spidev<b>.<d>``.

    ``name`` is ``spi:<device path>``: the runner's Welcome (and so ``python -m runner health``)
    reports the backend with its device.
    """

    name = "spi"

    def __init__(
        self,
        led_count: int,
        config: RunnerConfig,
        device: SpiDevice | None = None,
        bufsiz: Callable[[], int] = read_bufsiz,
    ) -> None:
        super().__init__(led_count)
        if config.ws281x_invert:
            raise ValueError(
                "TREE_WS281X_INVERT is not supported by the spi backend: an idle SPI line is low, "
                "which an inverting level shifter turns into a high; use a non-inverting one "
                "(e.g. a 74AHCT125)"
            )
        _check_clock(config.spi_hz)
        self._colour = WireColour(config.ws281x_strip_type, config.ws281x_gamma)
        self._latch = bytes(latch_bytes(config.spi_hz))
        self.path = f"/dev/spidev{config.spi_bus}.{config.spi_device}"
        self.name = f"spi:{self.path}"
        if device is None:
            device = _open_spidev()
        try:
            device.open(config.spi_bus, config.spi_device)
            device.mode = 0  # clock idles low, data sampled on the rising edge
            device.max_speed_hz = config.spi_hz
        except OSError as exc:
            device.close()
            raise BackendUnavailable(
                f"cannot open {self.path} for the spi backend: {exc}. Enable SPI "
                "(raspi-config, or dtparam=spi=on in config.txt), give the runner that device "
                "(its container, or the spi group), and check TREE_SPI_BUS and TREE_SPI_DEVICE"
            ) from exc
        self._device: SpiDevice = device
        frame_bytes = led_count * 24 + len(self._latch)
        limit = bufsiz()
        self.chunks_per_frame = math.ceil(frame_bytes / limit)
        if self.chunks_per_frame > 1:
            logger.warning(
                "a %d-LED frame is %d SPI bytes but spidev.bufsiz is %d: each frame goes out in "
                "%d transfers with pauses between them; add spidev.bufsiz=65536 to the kernel "
                "command line (/boot/firmware/cmdline.txt) and reboot",
                led_count,
                frame_bytes,
                limit,
                self.chunks_per_frame,
            )

    def encode_frame(self, frame: LedFrame) -> bytes:
        """Everything one frame sends: the LEDs' bits, then the latch."""
        return encode(self._colour.wire_bytes(frame)) + self._latch

    @property
    def device(self) -> SpiDevice:
        """The ``SpiDev`` (or the injected fake) this strip writes to; closed with the strip."""
        return self._device

    def _write(self, frame: LedFrame) -> None:
        self._device.writebytes2(self.encode_frame(frame))

    def _release(self) -> None:
        self._device.close()


def _check_clock(requested_hz: int) -> None:
    """Refuse a ``TREE_SPI_HZ`` whose waveform, exact or after some Pi's rounding, is off-spec."""
    for where, clock in [("as requested", float(requested_hz)), *pi_clocks(requested_hz)]:
        problems = clock_problems(timing(clock, requested_hz))
        if problems:
            raise ValueError(
                f"TREE_SPI_HZ={requested_hz} cannot drive WS281x LEDs ({where}, "
                f"{clock / 1e6:.3f} MHz: {'; '.join(problems)}); use the default 6400000"
            )


def _open_spidev() -> SpiDevice:
    try:
        import spidev  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise BackendUnavailable(
            "the spi backend needs the spidev package (pip install 'ledtree[runner]' on Linux)"
        ) from exc
    device: SpiDevice = spidev.SpiDev()
    return device
