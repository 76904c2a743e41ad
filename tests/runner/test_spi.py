"""The spi backend: what reaches the wire, decoded the way a WS2812B decodes it.

``FakeSpiDev`` stands in for ``spidev.SpiDev`` (a real class recording every transfer with the
clock it went out at, chunked as py-spidev chunks it). The decoder below turns recorded bytes
into a waveform at a given clock and reads it with the datasheet's thresholds, which are written
here from the datasheet rather than imported, so an encoder bug cannot hide behind its own
constants. The contract suite in test_leds.py also runs over this backend.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runner.config import RunnerConfig
from runner.exc import BackendUnavailable
from runner.leds import make_strip
from runner.leds.colour import COLOUR_ORDERS, map_colour
from runner.leds.spi import (
    SpiStrip,
    bcm2835_clock,
    clock_problems,
    drifting_clocks,
    pi_clocks,
    read_bufsiz,
    rp1_clock,
    timing,
)

HZ = 6_400_000
DOCS = Path(__file__).parent.parent.parent / "docs" / "hardware.md"

# WS2812B datasheet, ns: high time of a 0 and of a 1, the bit period, the latch (V5: >= 280 us).
T0H = (250.0, 550.0)
T1H = (650.0, 950.0)
PERIOD = (650.0, 1850.0)
LATCH_NS = 280_000.0


@dataclass
class Transfer:
    """One ``writebytes2`` call: the clock and mode it went out with, and its chunks."""

    speed_hz: int
    mode: int
    chunks: list[bytes]

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


@dataclass
class FakeSpiDev:
    """A stand-in for ``spidev.SpiDev`` that keeps every transfer (gpiozero's mock-pin style).

    ``writebytes2`` splits like py-spidev: chunks of ``bufsiz`` bytes, one ``write()`` each.
    ``missing`` makes ``open`` fail as it does where there is no ``/dev/spidev*``.
    """

    bufsiz: int = 4096
    missing: bool = False
    max_speed_hz: int = 0
    mode: int = 0
    opened: tuple[int, int] | None = None
    closed: bool = False
    transfers: list[Transfer] = field(default_factory=list)

    def open(self, bus: int, device: int) -> None:
        if self.missing:
            raise FileNotFoundError(2, "No such file or directory")
        self.opened = (bus, device)

    def writebytes2(self, data: bytes) -> None:
        if self.opened is None or self.closed:
            raise OSError(9, "Bad file descriptor")
        chunks = [bytes(data[i : i + self.bufsiz]) for i in range(0, len(data), self.bufsiz)]
        self.transfers.append(Transfer(self.max_speed_hz, self.mode, chunks))

    def close(self) -> None:
        self.closed = True


class Undecodable(AssertionError):
    """The waveform breaks the datasheet's timing."""


def waveform(data: bytes, clock_hz: float) -> list[tuple[int, float]]:
    """MOSI as (level, ns) runs: SPI mode 0 sends each byte MSB first, one bit per clock."""
    bit_ns = 1e9 / clock_hz
    runs: list[tuple[int, float]] = []
    for byte in data:
        for k in range(7, -1, -1):
            level = (byte >> k) & 1
            if runs and runs[-1][0] == level:
                runs[-1] = (level, runs[-1][1] + bit_ns)
            else:
                runs.append((level, bit_ns))
    return runs


def decode(runs: list[tuple[int, float]]) -> list[bytes]:
    """What a WS2812B string receives: the bytes of each latched frame, in wire order."""
    frames: list[bytes] = []
    bits: list[int] = []
    if runs and runs[0][0] == 0:
        runs = runs[1:]  # the line idles low before the first bit
    for i in range(0, len(runs), 2):
        high = runs[i][1]
        if i + 1 == len(runs):
            raise Undecodable("the line ends high")
        low = runs[i + 1][1]
        if T0H[0] <= high <= T0H[1]:
            bits.append(0)
        elif T1H[0] <= high <= T1H[1]:
            bits.append(1)
        else:
            raise Undecodable(f"bit {len(bits)}: high for {high:.0f} ns is neither a 0 nor a 1")
        if low >= LATCH_NS:
            if len(bits) % 8:
                raise Undecodable(f"latched after {len(bits)} bits, not whole bytes")
            frames.append(
                bytes(int("".join(map(str, bits[j : j + 8])), 2) for j in range(0, len(bits), 8))
            )
            bits = []
        elif i + 2 == len(runs):
            raise Undecodable(f"{len(bits)} bits never latched: the line ends low for {low:.0f} ns")
        elif not PERIOD[0] <= high + low <= PERIOD[1]:
            raise Undecodable(f"bit {len(bits)}: period {high + low:.0f} ns")
    return frames


def wire_order(frame: list[tuple[int, int, int, int]], order: str, gamma: float) -> bytes:
    """The bytes the LEDs should get, from the pure mapping the ws281x backend is tested with."""
    return b"".join(map_colour(led, gamma, order).to_bytes(3, "big") for led in frame)


def random_frame(rng: random.Random, count: int) -> list[tuple[int, int, int, int]]:
    return [
        (rng.randrange(256), rng.randrange(256), rng.randrange(256), rng.randrange(101))
        for _ in range(count)
    ]


def open_spi(count: int, fake: FakeSpiDev, **settings: object) -> SpiStrip:
    config = RunnerConfig(led_count=count, **settings)  # type: ignore[arg-type]
    return SpiStrip(count, config, device=fake, bufsiz=lambda: fake.bufsiz)


# --- the decoder test ---------------------------------------------------------------------------

CLOCKS = [("as configured", float(HZ)), *pi_clocks(HZ)]


@pytest.mark.parametrize(("where", "clock"), CLOCKS, ids=[c[0] for c in CLOCKS])
@pytest.mark.parametrize("order", ["GRB", "RGB", "BRG"])
def test_random_frames_decode_to_the_exact_colour_bytes(
    where: str, clock: float, order: str
) -> None:
    rng = random.Random(f"{where}{order}")
    fake = FakeSpiDev()
    with open_spi(40, fake, ws281x_strip_type=order, ws281x_gamma=2.2) as strip:
        frames = [random_frame(rng, 40) for _ in range(5)]
        for frame in frames:
            strip.show(frame)
    assert {t.speed_hz for t in fake.transfers} == {HZ} and {t.mode for t in fake.transfers} == {0}
    stream = b"".join(t.data for t in fake.transfers)
    received = decode(waveform(stream, clock))
    want = [wire_order(f, order, 2.2) for f in frames] + [bytes(3 * 40)]  # close() blanks
    assert received == want


def test_a_500_led_frame_in_chunks_decodes_whole() -> None:
    fake = FakeSpiDev(bufsiz=4096)
    frame = random_frame(random.Random(7), 500)
    strip = open_spi(500, fake, ws281x_strip_type="GRB")
    strip.show(frame)
    sent = fake.transfers[-1]
    assert [len(c) for c in sent.chunks] == [4096, 4096, 12240 - 8192]  # 500 x 24 + 240 latch
    assert decode(waveform(sent.data, 6.25e6)) == [wire_order(frame, "GRB", 2.2)]
    # Every byte ends low, so a pause between chunks (or bytes) only lengthens a low.
    assert all(byte & 1 == 0 for byte in sent.data)
    strip.close()


def test_each_frame_ends_with_a_latch_of_at_least_280_us() -> None:
    fake = FakeSpiDev()
    with open_spi(3, fake) as strip:
        strip.show([(255, 255, 255, 100)] * 3)
        strip.show([(0, 0, 0, 0)] * 3)
    for transfer in fake.transfers:
        for _, clock in CLOCKS:
            last = waveform(transfer.data, clock)[-1]
            assert last[0] == 0 and last[1] >= LATCH_NS
    # Two frames back to back are two latched frames, not one long one.
    assert len(decode(waveform(fake.transfers[0].data + fake.transfers[1].data, HZ))) == 2


def test_a_drifting_core_clock_garbles_the_bits() -> None:
    """Why the README says to fix core_freq on a Pi 3/4: the decoder refuses what they'd send."""
    fake = FakeSpiDev()
    with open_spi(2, fake) as strip:
        strip.show([(255, 0, 170, 100)] * 2)
    for _, clock in drifting_clocks(HZ):
        with pytest.raises(Undecodable, match="neither a 0 nor a 1"):
            decode(waveform(fake.transfers[0].data, clock))


def test_the_decoder_catches_a_bad_waveform() -> None:
    one, zero = 0b1111_1000, 0b1100_0000
    good = bytes([one, zero] * 4) + bytes(240)
    assert decode(waveform(good, 6.25e6)) == [b"\xaa"]
    with pytest.raises(Undecodable, match="neither"):
        decode(waveform(bytes([0b1111_0000]) + good, 6.25e6))  # 640 ns high
    with pytest.raises(Undecodable, match="never latched"):
        decode(waveform(bytes([one] * 8) + bytes(10), 6.25e6))  # 10 zero bytes: 12.8 us low
    with pytest.raises(Undecodable, match="not whole bytes"):
        decode(waveform(bytes([one] * 3) + bytes(240), 6.25e6))
    with pytest.raises(Undecodable, match="period"):
        decode(waveform(bytes([one, 0, 0, zero] * 4) + bytes(240), 6.25e6))  # a 4.3 us bit


# --- the timing arithmetic (docs/hardware.md shows these rows) ----------------------------------


def test_pi_divider_rounding() -> None:
    # spi-bcm2835: ceil(core / requested), bumped to even; RP1 (dw_spi): the same, even.
    assert bcm2835_clock(250e6, 6_400_000) == 250e6 / 40
    assert bcm2835_clock(500e6, 6_400_000) == 500e6 / 80
    assert bcm2835_clock(400e6, 6_400_000) == 400e6 / 64  # 62.5 -> 63 -> 64
    assert bcm2835_clock(250e6, 2_400_000) == 250e6 / 106  # rpi-ws281x's 3-bit clock
    assert rp1_clock(6_400_000) == 200e6 / 32
    assert rp1_clock(2_400_000) == 200e6 / 84


def test_every_pi_sends_the_datasheet_timing() -> None:
    for where, clock in pi_clocks(HZ):
        t = timing(clock, HZ)
        assert clock == 6.25e6, where
        assert (t.t0h_ns, t.t1h_ns, t.period_ns) == pytest.approx((320, 800, 1280))
        assert t.latch_us == pytest.approx(307.2)
        assert clock_problems(t) == []
    exact = timing(HZ, HZ)
    assert (exact.t0h_ns, exact.t1h_ns, exact.period_ns) == pytest.approx((312.5, 781.25, 1250))
    assert clock_problems(exact) == []
    for where, clock in drifting_clocks(HZ):
        assert clock_problems(timing(clock, HZ)), where


def _doc_row(where: str, clock: float) -> str:
    t = timing(clock, HZ)
    verdict = "within the table" if not clock_problems(t) else "**out of tolerance**"
    return (
        f"| {where} | {clock / 1e6:.3f} | {t.t0h_ns:.0f} | {t.t1h_ns:.0f} | {t.period_ns:.0f} "
        f"| {t.latch_us:.0f} | {verdict} |"
    )


def test_docs_show_the_computed_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for where, clock in [("Exact 6.4 MHz", float(HZ)), *pi_clocks(HZ), *drifting_clocks(HZ)]:
        assert _doc_row(where, clock) in text, _doc_row(where, clock)


# --- opening, settings and bad input ------------------------------------------------------------


def test_name_and_device_follow_the_settings() -> None:
    fake = FakeSpiDev()
    strip = open_spi(3, fake, spi_bus=1, spi_device=2)
    assert strip.name == "spi:/dev/spidev1.2" and fake.opened == (1, 2)
    assert fake.max_speed_hz == HZ and fake.mode == 0
    strip.close()
    assert fake.closed


def test_the_health_line_names_the_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    from runner.server.health import main as health
    from runner.server.tree_server import RunnerServer

    config = RunnerConfig(socket_path=str(tmp_path / "s.sock"), led_count=3, fps=0.0)
    strip = SpiStrip(3, config, device=FakeSpiDev())
    srv = RunnerServer(config, strip)
    thread = threading.Thread(target=srv.serve_forever, name="test-spi-server")
    thread.start()
    try:
        assert srv.ready.wait(10)
        assert health(["--socket", config.socket_path]) == 0
    finally:
        srv.shutdown()
        thread.join(10)
    assert "backend spi:/dev/spidev0.0" in capsys.readouterr().out


def test_no_spi_device_is_a_clear_error() -> None:
    with pytest.raises(BackendUnavailable, match=r"/dev/spidev0\.0.*Enable SPI"):
        open_spi(3, FakeSpiDev(missing=True))


def test_make_strip_spi_off_a_pi_is_a_clear_error() -> None:
    try:
        strip = make_strip("spi", 3, RunnerConfig(led_count=3))
    except BackendUnavailable as exc:
        assert "spidev" in str(exc)
    else:  # a machine with /dev/spidev0.0: a working strip
        assert strip.name == "spi:/dev/spidev0.0"
        strip.close()


@pytest.mark.parametrize("hz", [2_400_000, 8_000_000, 5_000_000])
def test_a_clock_the_leds_cannot_read_is_refused(hz: int) -> None:
    fake = FakeSpiDev()
    with pytest.raises(ValueError, match=f"TREE_SPI_HZ={hz} cannot drive WS281x LEDs"):
        open_spi(3, fake, spi_hz=hz)
    assert fake.opened is None  # refused before touching the device


def test_an_inverted_signal_is_refused() -> None:
    with pytest.raises(ValueError, match="TREE_WS281X_INVERT is not supported"):
        open_spi(3, FakeSpiDev(), ws281x_invert=True)


def test_a_small_bufsiz_is_logged_with_the_fix(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="runner.leds.spi"):
        assert open_spi(500, FakeSpiDev(bufsiz=4096)).chunks_per_frame == 3
    assert "spidev.bufsiz=65536" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="runner.leds.spi"):
        assert open_spi(500, FakeSpiDev(bufsiz=65535)).chunks_per_frame == 1
    assert caplog.text == ""


def test_bufsiz_is_read_as_py_spidev_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "bufsiz"
    path.write_text("65536\n")
    assert read_bufsiz(path) == 65535  # py-spidev's largest chunk
    path.write_text("32768\n")
    assert read_bufsiz(path) == 32768
    path.write_text("nonsense")
    assert read_bufsiz(path) == 4096
    assert read_bufsiz(tmp_path / "missing") == 4096


def test_every_colour_order_reaches_the_wire() -> None:
    for order in COLOUR_ORDERS:
        fake = FakeSpiDev()
        with open_spi(1, fake, ws281x_strip_type=order, ws281x_gamma=1.0) as strip:
            strip.show([(1, 2, 3, 100)])
        first = decode(waveform(fake.transfers[0].data, HZ))[0]
        assert first == bytes("RGB".index(c) + 1 for c in order), order
