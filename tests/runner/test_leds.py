"""One contract suite for every LED backend, plus the pure colour mapping they share."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin
from hypothesis import given
from hypothesis import strategies as st

from runner.config import RunnerConfig
from runner.exc import BackendUnavailable, FrameInvalid, StripClosed
from runner.leds import Strip, make_strip
from runner.leds.colour import (
    COLOUR_ORDERS,
    WireColour,
    channel_level,
    check_order,
    map_colour,
    unpack,
)
from runner.leds.gpiozero_rgb import GpiozeroStrip, parse_pins
from runner.leds.spi import SpiStrip
from runner.leds.virtual import VirtualStrip
from tests.runner.test_spi import FakeSpiDev, decode, waveform

COUNT = 3
PINS = "17,27,22;5,6,13;19,26,21"
CONFIG = RunnerConfig(led_count=COUNT, gpiozero_pins=PINS, ws281x_gamma=2.2)
Levels = list[tuple[float, float, float]]


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    """gpiozero's own mock pins, with PWM, installed the usual way."""
    previous = Device.pin_factory
    factory = MockFactory(pin_class=MockPWMPin)
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = previous


def _virtual_levels(strip: Strip) -> Levels:
    assert isinstance(strip, VirtualStrip)
    return [tuple(channel_level(c, led[3], 2.2) for c in led[:3]) for led in strip.current]  # type: ignore[misc]


def _last_output(pin: MockPWMPin) -> float:
    """The last PWM level driven on a mock pin (it reads its pull once closed to an input)."""
    driven = [s.state for s in pin.states if type(s.state) is float]
    return driven[-1] if driven else float(pin.states[0].state)


def _gpiozero_levels(strip: Strip) -> Levels:
    factory = Device.pin_factory
    assert factory is not None
    return [tuple(_last_output(factory.pin(p)) for p in t) for t in parse_pins(PINS)]  # type: ignore[misc]


def _ws281x_levels(strip: Strip) -> Levels:
    pixels = strip._pixels  # type: ignore[attr-defined]
    order = CONFIG.ws281x_strip_type
    return [tuple(c / 255 for c in unpack(pixels.getPixelColor(i), order)) for i in range(COUNT)]  # type: ignore[misc]


def _spi_levels(strip: Strip) -> Levels:
    """What the string received last, decoded from the fake device's last transfer."""
    assert isinstance(strip, SpiStrip)
    last = strip.device.transfers[-1]  # type: ignore[attr-defined]
    wire = decode(waveform(last.data, last.speed_hz))[-1]
    order = CONFIG.ws281x_strip_type
    packed = [int.from_bytes(wire[i : i + 3], "big") for i in range(0, len(wire), 3)]
    return [tuple(c / 255 for c in unpack(p, order)) for p in packed]  # type: ignore[misc]


READERS: dict[str, Callable[[Strip], Levels]] = {
    "virtual": _virtual_levels,
    "gpiozero": _gpiozero_levels,
    "ws281x": _ws281x_levels,
    "spi": _spi_levels,
}


@pytest.fixture(params=["virtual", "gpiozero", "ws281x", "spi"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test; gpiozero runs on gpiozero's MockFactory, spi on a FakeSpiDev."""
    if request.param == "gpiozero":
        request.getfixturevalue("mock_factory")
    return str(request.param)


@pytest.fixture
def open_strip(backend: str) -> Callable[[], Strip]:
    """Open a fresh strip of the backend, skipping (with the reason) if it cannot open here."""

    def opener() -> Strip:
        if backend == "spi":  # the fake device is passed in, as gpiozero takes a pin factory
            return SpiStrip(COUNT, CONFIG, device=FakeSpiDev())
        try:
            return make_strip(backend, COUNT, CONFIG)
        except BackendUnavailable as exc:
            if backend != "ws281x":
                raise  # virtual and gpiozero (mock pins) must open everywhere
            pytest.skip(f"needs Raspberry Pi hardware: {backend} cannot open a strip here ({exc})")

    return opener


@pytest.fixture
def strip(open_strip: Callable[[], Strip]) -> Iterator[Strip]:
    """An open strip, closed after the test."""
    s = open_strip()
    yield s
    s.close()


def _expected(frame: list[tuple[int, int, int, int]]) -> Levels:
    return [tuple(channel_level(c, led[3], 2.2) for c in led[:3]) for led in frame]  # type: ignore[misc]


def _assert_shows(strip: Strip, backend: str, frame: list[tuple[int, int, int, int]]) -> None:
    got, want = READERS[backend](strip), _expected(frame)
    for got_led, want_led in zip(got, want, strict=True):
        assert got_led == pytest.approx(want_led, abs=1 / 255)


FRAME = [(255, 0, 0, 100), (0, 128, 255, 50), (10, 20, 30, 0)]
OFF = [(0, 0, 0, 0)] * COUNT


def test_len_is_the_led_count(strip: Strip) -> None:
    assert len(strip) == COUNT


def test_show_reaches_the_leds(strip: Strip, backend: str) -> None:
    strip.show(FRAME)
    _assert_shows(strip, backend, FRAME)
    assert any(any(c > 0 for c in led) for led in READERS[backend](strip))


@pytest.mark.parametrize("size", [0, COUNT - 1, COUNT + 1])
def test_cant_show_a_wrong_length_frame(strip: Strip, backend: str, size: int) -> None:
    strip.show(FRAME)
    with pytest.raises(FrameInvalid):
        strip.show([(1, 2, 3, 100)] * size)
    _assert_shows(strip, backend, FRAME)  # the bad frame never reached the LEDs


def test_cant_show_after_close(strip: Strip) -> None:
    strip.close()
    assert strip.closed
    with pytest.raises(StripClosed):
        strip.show(FRAME)


def test_close_blanks_the_leds(open_strip: Callable[[], Strip], backend: str) -> None:
    strip = open_strip()
    strip.show(FRAME)
    if backend == "ws281x":
        strip.close()  # the library frees its buffer on close: nothing left to read back
        return
    reader = READERS[backend]
    strip.close()
    assert reader(strip) == [(0.0, 0.0, 0.0)] * COUNT


def test_close_twice_is_fine(strip: Strip) -> None:
    strip.close()
    strip.close()
    assert strip.closed


def test_context_manager_closes_and_blanks(open_strip: Callable[[], Strip], backend: str) -> None:
    with open_strip() as strip:
        strip.show(FRAME)
        assert not strip.closed
        before = READERS[backend](strip)
    assert strip.closed
    assert before != [(0.0, 0.0, 0.0)] * COUNT
    if backend != "ws281x":
        assert READERS[backend](strip) == [(0.0, 0.0, 0.0)] * COUNT


def test_virtual_records_frames_with_times() -> None:
    strip = VirtualStrip(COUNT)
    strip.show(FRAME)
    strip.show(OFF)
    frames = strip.frames
    assert [f.leds for f in frames] == [tuple(FRAME), tuple(OFF)]
    assert frames[0].at <= frames[1].at
    assert strip.shown_count == 2
    strip.close()
    assert strip.frames[-1].leds == tuple(OFF)


def test_gpiozero_sets_each_pin(mock_factory: MockFactory) -> None:
    with GpiozeroStrip(2, RunnerConfig(gpiozero_pins="2,3,4;5,6,7", ws281x_gamma=1.0)) as strip:
        strip.show([(255, 0, 0, 100), (0, 51, 255, 50)])
        states = [mock_factory.pin(p).state for p in (2, 3, 4, 5, 6, 7)]
    assert states == pytest.approx([1.0, 0.0, 0.0, 0.0, 0.1, 0.5])
    # Closing drove every pin to 0 before releasing it.
    assert [_last_output(mock_factory.pin(p)) for p in (2, 3, 4, 5, 6, 7)] == [0] * 6


def test_gpiozero_needs_a_pin_triple_per_led(mock_factory: MockFactory) -> None:
    with pytest.raises(ValueError, match="3 LEDs but TREE_GPIOZERO_PINS has 1"):
        GpiozeroStrip(3, RunnerConfig(gpiozero_pins="2,3,4"))
    with pytest.raises(ValueError, match="not three pin numbers"):
        parse_pins("2,3;4,5,6")


def test_ws281x_off_a_pi_is_a_clear_error() -> None:
    try:
        strip = make_strip("ws281x", COUNT, CONFIG)
    except BackendUnavailable as exc:
        assert "ws281x" in str(exc) or "rpi" in str(exc)
    else:  # on a Pi with the library: a working strip
        strip.close()


def test_make_strip_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREE_LED_BACKEND", "virtual")
    with make_strip(led_count=5, config=RunnerConfig()) as strip:
        assert isinstance(strip, VirtualStrip) and len(strip) == 5
    with pytest.raises(ValueError, match="unknown LED backend"):
        make_strip("neon", 5, RunnerConfig())


# --- the pure mapping --------------------------------------------------------------------------


@given(
    st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.sampled_from(COLOUR_ORDERS)
)
def test_brightness_zero_is_off(r: int, g: int, b: int, order: str) -> None:
    assert map_colour((r, g, b, 0), 2.2, order) == 0


@given(
    st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.sampled_from(COLOUR_ORDERS)
)
def test_full_brightness_without_gamma_passes_through(r: int, g: int, b: int, order: str) -> None:
    assert unpack(map_colour((r, g, b, 100), 1.0, order), order) == (r, g, b)


def test_gamma_darkens_the_middle_and_keeps_the_ends() -> None:
    assert map_colour((255, 255, 255, 100), 2.2) == 0xFFFFFF
    assert map_colour((128, 0, 0, 100), 2.2) == round(255 * (128 / 255) ** 2.2) << 16 == 56 << 16
    # Half perceived brightness is about a fifth of the light.
    assert map_colour((0, 0, 255, 50), 2.2) == round(255 * 0.5**2.2) == 55
    assert map_colour((0, 0, 255, 50), 1.0) == 128


@given(st.integers(0, 255), st.integers(0, 99))
def test_more_brightness_is_never_darker(c: int, lum: int) -> None:
    assert map_colour((c, 0, 0, lum), 2.2) <= map_colour((c, 0, 0, lum + 1), 2.2)


@pytest.mark.parametrize(
    ("order", "packed"),
    [
        ("RGB", 0x010203),
        ("RBG", 0x010302),
        ("GRB", 0x020103),
        ("GBR", 0x020301),
        ("BRG", 0x030102),
        ("BGR", 0x030201),
    ],
)
def test_colour_order_puts_the_first_wire_channel_on_top(order: str, packed: int) -> None:
    assert map_colour((1, 2, 3, 100), 1.0, order) == packed
    assert unpack(packed, order) == (1, 2, 3)


def test_unknown_colour_order_is_refused() -> None:
    assert check_order(" grb ") == "GRB"
    with pytest.raises(ValueError, match="colour order 'RGBW'"):
        map_colour((1, 2, 3, 100), 1.0, "RGBW")


@given(
    st.lists(
        st.tuples(
            st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 100)
        ),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(COLOUR_ORDERS),
    st.sampled_from([1.0, 2.2]),
)
def test_both_ws281x_backends_map_colour_alike(
    frame: list[tuple[int, int, int, int]], order: str, gamma: float
) -> None:
    """ws281x (packed ints) and spi (wire bytes) share WireColour; both agree with map_colour."""
    colour = WireColour(order, gamma)
    packed = [map_colour(led, gamma, order) for led in frame]
    assert colour.packed(frame) == packed
    assert colour.wire_bytes(frame) == b"".join(p.to_bytes(3, "big") for p in packed)
