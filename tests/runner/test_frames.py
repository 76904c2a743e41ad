"""Frame validation on both sides of the pipe: friendly in the child, strict in the parent."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.exc import FrameInvalid, FrameTypeInvalid
from runner.sandbox.frames import check_frame_bytes, frame_to_bytes, pack_frame, validate_frame

N = 20
NAN = float("nan")
INF = float("inf")
BLUE = (0, 0, 255, 100)


class Sneaky(int):
    """An int subclass whose comparisons lie."""

    def __le__(self, other: object) -> bool:
        return True

    def __ge__(self, other: object) -> bool:
        return True


class Index:
    """Not an int, but ``bytes()`` would accept it."""

    def __index__(self) -> int:
        return 7


class Shifty(list[int]):
    """A list that claims other contents than it has."""

    def __len__(self) -> int:
        return 4

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter([1, 2, 3, 4])


def frame_with(led: object, at: int = 17) -> list[object]:
    frame: list[object] = [list(BLUE) for _ in range(N)]
    frame[at] = led
    return frame


def test_accepts_lists_and_tuples_and_returns_tuples() -> None:
    frame = [[0, 0, 255, 100] for _ in range(N - 1)] + [(1, 2, 3, 4)]
    assert validate_frame(frame, N) == tuple([BLUE] * (N - 1) + [(1, 2, 3, 4)])
    assert validate_frame(tuple(frame), N)[0] == BLUE


def test_copies_the_frame() -> None:
    frame = [[0, 0, 255, 100] for _ in range(N)]
    shown = validate_frame(frame, N)
    frame[0][0] = 255
    frame.append([1, 1, 1, 1])
    assert shown[0] == BLUE and len(shown) == N


def test_floats_are_truncated_like_led_libraries_do() -> None:
    frame = [(12.7, 0.0, 254.999, 100.0), (255.9, 0.5, 1, 99.99), (-0.5, 3, 3.0, 0.4)]
    assert validate_frame(frame, 3) == ((12, 0, 254, 100), (255, 0, 1, 99), (0, 3, 3, 0))


def test_extremes_are_valid() -> None:
    assert validate_frame([(0, 0, 0, 0), (255, 255, 255, 100)], 2) == (
        (0, 0, 0, 0),
        (255, 255, 255, 100),
    )


@pytest.mark.parametrize(
    ("led", "error", "message"),
    [
        ((0, 0, 255, 150), FrameInvalid, "LED 17: brightness 150 is outside 0-100"),
        ((256, 0, 0, 100), FrameInvalid, "LED 17: red 256 is outside 0-255"),
        ((0, -1, 0, 100), FrameInvalid, "LED 17: green -1 is outside 0-255"),
        ((0, 0, 10**30, 100), FrameInvalid, "LED 17: blue 1000000000000000000000000000000"),
        ((0, 0, 0, -5), FrameInvalid, "LED 17: brightness -5 is outside 0-100"),
        ((NAN, 0, 0, 100), FrameInvalid, "LED 17: red nan is not a number"),
        ((0, INF, 0, 100), FrameInvalid, "LED 17: green inf is outside 0-255"),
        ((0, 0, -INF, 100), FrameInvalid, "LED 17: blue -inf is outside 0-255"),
        ((256.0, 0, 0, 100), FrameInvalid, "LED 17: red 256.0 is outside 0-255"),
        ((0, 0, 0, 101.0), FrameInvalid, "LED 17: brightness 101.0 is outside 0-100"),
        ((-1.5, 0, 0, 100), FrameInvalid, "LED 17: red -1.5 is outside 0-255"),
        (
            (0, True, 0, 100),
            FrameTypeInvalid,
            "LED 17: green must be a plain int or float, not bool",
        ),
        (
            (0, 0, "9", 100),
            FrameTypeInvalid,
            "LED 17: blue must be a plain int or float, not str '9'",
        ),
        (
            (0, 0, 0, None),
            FrameTypeInvalid,
            "LED 17: brightness must be a plain int or float, not No",
        ),
        (
            (Sneaky(999), 0, 0, 100),
            FrameTypeInvalid,
            "LED 17: red must be a plain int or float, not S",
        ),
        (
            (Index(), 0, 0, 100),
            FrameTypeInvalid,
            "LED 17: red must be a plain int or float, not Index",
        ),
        ((Fraction(1, 2), 0, 0, 100), FrameTypeInvalid, "red must be a plain int or float, not Fr"),
        (
            (1j, 0, 0, 100),
            FrameTypeInvalid,
            "LED 17: red must be a plain int or float, not complex 1j",
        ),
        ((0, 0, 0), FrameInvalid, "LED 17: expected 4 values (R, G, B, L), got 3"),
        ((0, 0, 0, 0, 0), FrameInvalid, "LED 17: expected 4 values (R, G, B, L), got 5"),
        (BLUE[0], FrameTypeInvalid, "LED 17: expected a list or tuple (R, G, B, L), not int"),
        ({0, 1, 2, 3}, FrameTypeInvalid, "LED 17: expected a list or tuple (R, G, B, L), not set"),
        (Shifty([0, 0, 0]), FrameTypeInvalid, "LED 17: expected a list or tuple"),
    ],
)
def test_rejects_bad_leds_naming_the_first(led: object, error: type, message: str) -> None:
    frame = frame_with(led)
    frame[18] = (999, 0, 0, 100)  # a later bad LED is not the one named
    with pytest.raises(error) as info:
        validate_frame(frame, N)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError if error is FrameInvalid else TypeError)


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        ([BLUE] * (N - 1), FrameInvalid, f"exactly {N} LEDs, got {N - 1}: LED {N - 1} is the"),
        ([BLUE] * (N + 1), FrameInvalid, f"exactly {N} LEDs, got {N + 1}: LED {N} is extra"),
        ([BLUE] * (N + 7), FrameInvalid, f"exactly {N} LEDs, got {N + 7}: LED {N} is extra"),
        ([], FrameInvalid, f"exactly {N} LEDs, got 0: LED 0 is the first missing"),
        (None, FrameTypeInvalid, "list or tuple"),
        ("x" * N, FrameTypeInvalid, "not str"),
        (iter([BLUE] * N), FrameTypeInvalid, "list or tuple"),
        ({i: BLUE for i in range(N)}, FrameTypeInvalid, "not dict"),
        (Shifty(), FrameTypeInvalid, "not Shifty"),
    ],
)
def test_rejects_bad_frames(frame: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        validate_frame(frame, N)


def test_pack_and_check_round_trip() -> None:
    frame = tuple((i, 255 - i, i % 7, i % 101) for i in range(200))
    data = pack_frame(list(frame), 200)
    assert data == frame_to_bytes(frame)
    assert len(data) == 800
    assert check_frame_bytes(data, 200) == frame


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00" * (4 * N - 1), "frame has 79 bytes, 80 expected"),
        (b"\x00" * (4 * N + 4), "frame has 84 bytes, 80 expected"),
        (b"", "frame has 0 bytes"),
        (b"\x00\x00\x00\x64" * 5 + b"\x00\x00\x00\x65" + b"\x00" * (4 * N - 24), "LED 5: bright"),
        (b"\xff" * 4 * N, "LED 0: brightness 255 is outside 0-100"),
    ],
)
def test_parent_check_rejects_bad_bytes(data: bytes, message: str) -> None:
    with pytest.raises(FrameInvalid, match=message):
        check_frame_bytes(data, N)


def test_parent_check_wants_exact_bytes() -> None:
    with pytest.raises(FrameTypeInvalid):
        check_frame_bytes(bytearray(4 * N), N)  # type: ignore[arg-type]


leds = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 100))


@given(st.lists(leds, min_size=1, max_size=60))
def test_any_valid_frame_round_trips(frame: list[tuple[int, int, int, int]]) -> None:
    assert check_frame_bytes(pack_frame(frame, len(frame)), len(frame)) == tuple(frame)


values = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.floats(-2, 300),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.lists(st.integers(), max_size=5),
)


@given(st.lists(st.lists(values, min_size=0, max_size=6), min_size=1, max_size=8))
def test_anything_is_valid_exactly_when_it_should_be(frame: list[list[object]]) -> None:
    def ok(led: list[object]) -> bool:
        if len(led) != 4 or any(type(v) not in (int, float) for v in led):
            return False
        if any(type(v) is float and not math.isfinite(v) for v in led):
            return False
        r, g, b, level = (int(v) for v in led)  # type: ignore[call-overload]
        return all(0 <= v <= 255 for v in (r, g, b)) and 0 <= level <= 100

    expected = all(ok(led) for led in frame)
    try:
        shown = validate_frame(frame, len(frame))
    except (FrameInvalid, FrameTypeInvalid):
        assert not expected
    else:
        assert expected
        assert shown == tuple(tuple(int(v) for v in led) for led in frame)  # type: ignore[call-overload]


@given(st.binary(max_size=100))
def test_parent_check_never_lets_a_bad_level_through(data: bytes) -> None:
    count = max(1, len(data) // 4)
    try:
        frame = check_frame_bytes(data, count)
    except FrameInvalid:
        assert len(data) != 4 * count or max(data[3::4]) > 100
    else:
        assert all(0 <= led[3] <= 100 for led in frame) and len(frame) == count
