"""Frame validation: what a program may pass to ``setLEDs`` and what may reach the LEDs.

Two checks, on both sides of the pipe. The child runs ``pack_frame`` on the user's object to give
a friendly error naming the first bad LED; the parent runs ``check_frame_bytes`` on the raw bytes
it receives, because the child is untrusted and the parent is the trust boundary.
"""

from __future__ import annotations

import math
import struct
from itertools import chain

from runner.exc import FrameInvalid, FrameTypeInvalid
from runner.leds import Led

_SEQUENCES = (list, tuple)
_CHANNELS = (("red", 255), ("green", 255), ("blue", 255), ("brightness", 100))
_LED = struct.Struct("4B")
_NUMBERS = {int, float}


def validate_frame(obj: object, led_count: int) -> tuple[Led, ...]:
    """Check a user's frame and return a private copy as ``(R, G, B, L)`` tuples.

    Raises:
        FrameTypeInvalid: the frame or an entry is not a list/tuple of plain ints or floats.
        FrameInvalid: wrong number of LEDs or values, a value out of range, NaN or infinite.
    """
    return _unpack(pack_frame(obj, led_count))


def pack_frame(obj: object, led_count: int) -> bytes:
    """Check a user's frame and pack it as 4 bytes per LED (the pipe format)."""
    if type(obj) not in _SEQUENCES:
        raise FrameTypeInvalid(
            f"setLEDs needs a list or tuple of {led_count} LEDs, not {_type_name(obj)}"
        )
    frame: list[object] | tuple[object, ...] = obj  # type: ignore[assignment]
    if len(frame) != led_count:
        raise FrameInvalid(_count_message(len(frame), led_count))
    # Fast path in C: exact list/tuple entries of 4 exact ints or floats, then bytes() checks 0-255.
    # Only exact types are accepted, so no user-defined __len__/__iter__/__index__ ever runs.
    if set(map(type, frame)) <= {list, tuple} and set(map(len, frame)) <= {4}:  # type: ignore[arg-type]
        flat: list[object] = list(chain.from_iterable(frame))  # type: ignore[arg-type]
        kinds = set(map(type, flat))
        if kinds <= _NUMBERS:
            try:
                # int() truncates floats as the usual LED libraries do; NaN and inf raise here.
                data = bytes(flat if kinds <= {int} else map(int, flat))  # type: ignore[arg-type]
            except (ValueError, OverflowError):
                data = b""
            if data and max(data[3::4]) <= 100:
                return data
            if not flat:
                return b""
    _raise_first_error(frame)
    raise AssertionError("unreachable: the fast path rejected a frame the slow path accepts")


def frame_to_bytes(frame: tuple[Led, ...] | list[Led]) -> bytes:
    """Pack an already validated frame as 4 bytes per LED."""
    return bytes(chain.from_iterable(frame))


def check_frame_bytes(data: bytes, led_count: int) -> tuple[Led, ...]:
    """The parent's trust-boundary check on raw frame bytes from the child.

    Raises:
        FrameInvalid: wrong length or a brightness byte above 100.
    """
    if type(data) is not bytes:
        raise FrameTypeInvalid(f"frame data must be bytes, not {_type_name(data)}")
    if len(data) != 4 * led_count:
        raise FrameInvalid(f"frame has {len(data)} bytes, {4 * led_count} expected")
    if led_count and max(data[3::4]) > 100:
        index = next(i for i, level in enumerate(data[3::4]) if level > 100)
        raise FrameInvalid(f"LED {index}: brightness {data[4 * index + 3]} is outside 0-100")
    return _unpack(data)


def _unpack(data: bytes) -> tuple[Led, ...]:
    return tuple(_LED.iter_unpack(data))


def _raise_first_error(frame: list[object] | tuple[object, ...]) -> None:
    """Find the first bad LED and raise an error naming its index and value."""
    for index, led in enumerate(frame):
        if type(led) not in _SEQUENCES:
            raise FrameTypeInvalid(
                f"LED {index}: expected a list or tuple (R, G, B, L), not {_type_name(led)}"
            )
        values: list[object] | tuple[object, ...] = led  # type: ignore[assignment]
        if len(values) != 4:
            raise FrameInvalid(f"LED {index}: expected 4 values (R, G, B, L), got {len(values)}")
        for (name, top), value in zip(_CHANNELS, values, strict=True):
            if type(value) not in _NUMBERS:
                raise FrameTypeInvalid(
                    f"LED {index}: {name} must be a plain int or float, not {_describe(value)}"
                )
            if value != value:  # noqa: PLR0124  # NaN is the one value unequal to itself
                raise FrameInvalid(f"LED {index}: {name} {value!r} is not a number")
            if type(value) is float and math.isinf(value) or not 0 <= int(value) <= top:  # type: ignore[call-overload]
                raise FrameInvalid(f"LED {index}: {name} {value!r} is outside 0-{top}")


def _count_message(got: int, led_count: int) -> str:
    """Name the first bad LED index of a frame with too few or too many entries."""
    which = f"LED {got} is the first missing" if got < led_count else f"LED {led_count} is extra"
    return f"setLEDs needs exactly {led_count} LEDs, got {got}: {which}"


def _type_name(value: object) -> str:
    return type(value).__name__[:40]


def _describe(value: object) -> str:
    """Name a bad value without running user code (no user ``__repr__``)."""
    if type(value) in (float, bool, complex):
        return f"{_type_name(value)} {value!r}"
    if type(value) is str:
        return f"str {value[:20]!r}"
    return _type_name(value)
