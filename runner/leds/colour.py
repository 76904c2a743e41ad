"""Pure mapping from a user's ``(R, G, B, L)`` to what LED hardware is given.

Users think in perceived colour and brightness: ``(255, 0, 0, 50)`` should look like red at half
brightness. LED hardware is linear: a PWM duty (or a WS281x byte) sets emitted light
proportionally, and the eye perceives light roughly as ``light ** (1 / 2.2)``. So each channel is
first scaled by brightness in perceived space and then converted to linear light::

    level = ((c / 255) * (L / 100)) ** gamma        # 0.0 .. 1.0, linear light
    byte  = round(255 * level)                      # what a WS281x LED is sent

``gamma = 1`` turns correction off (``c * L / 100``). ``L = 0`` is always off and ``L = 100``
with ``gamma = 1`` passes the channel through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

# Wire orders a WS281x strip can have; the first letter is sent first.
COLOUR_ORDERS = ("RGB", "RBG", "GRB", "GBR", "BRG", "BGR")


def channel_level(value: int, brightness: int, gamma: float) -> float:
    """Linear light level 0..1 for one channel value 0..255 at brightness 0..100."""
    return float(((value / 255.0) * (brightness / 100.0)) ** gamma)


@lru_cache(maxsize=8)
def level_table(gamma: float) -> tuple[tuple[int, ...], ...]:
    """``table[L][c]`` = the 0..255 byte for channel value ``c`` at brightness ``L``.

    Built once per gamma so a 500-LED frame costs lookups, not 1,500 powers.
    """
    return tuple(
        tuple(round(255 * channel_level(c, lum, gamma)) for c in range(256)) for lum in range(101)
    )


def check_order(order: str) -> str:
    """Return ``order`` upper-cased if it is a permutation of R, G, B.

    Raises:
        ValueError: not one of ``COLOUR_ORDERS``.
    """
    normal = order.strip().upper()
    if normal not in COLOUR_ORDERS:
        raise ValueError(f"colour order {order!r} is not one of {', '.join(COLOUR_ORDERS)}")
    return normal


def map_colour(led: Sequence[int], gamma: float, order: str = "RGB") -> int:
    """Pack one ``(R, G, B, L)`` LED into a 24-bit int in wire order, gamma-corrected.

    The channel sent first occupies bits 16-23, the second bits 8-15, the third bits 0-7
    (what ``rpi_ws281x`` sends unchanged for ``WS2811_STRIP_RGB``).
    """
    r, g, b, lum = led
    table = level_table(gamma)[lum]
    by_name = {"R": table[r], "G": table[g], "B": table[b]}
    names = check_order(order)
    return (by_name[names[0]] << 16) | (by_name[names[1]] << 8) | by_name[names[2]]


def unpack(packed: int, order: str = "RGB") -> tuple[int, int, int]:
    """Inverse of the packing: the ``(R, G, B)`` bytes of a packed wire-order int."""
    names = check_order(order)
    values = {names[0]: (packed >> 16) & 0xFF, names[1]: (packed >> 8) & 0xFF}
    values[names[2]] = packed & 0xFF
    return values["R"], values["G"], values["B"]


class WireColour:
    """One strip's colour order and gamma, precomputed: frames in, wire-order bytes out.

    Both WS281x backends use this (``ws281x`` hands the library packed ints, ``spi`` encodes the
    bytes itself), so colour order, gamma and brightness ``L`` cannot drift apart between them.
    """

    def __init__(self, order: str, gamma: float) -> None:
        self.order = check_order(order)
        self._table = level_table(float(gamma))
        # Position in (R, G, B) of the channel sent first, second and third.
        self._picks = tuple("RGB".index(name) for name in self.order)

    def wire_bytes(self, frame: Sequence[Sequence[int]]) -> bytes:
        """Three gamma-corrected bytes per LED, in wire order (what a WS281x LED receives)."""
        table = self._table
        first, second, third = self._picks
        return bytes(
            [
                value
                for led in frame
                for row in (table[led[3]],)
                for value in (row[led[first]], row[led[second]], row[led[third]])
            ]
        )

    def packed(self, frame: Sequence[Sequence[int]]) -> list[int]:
        """One 24-bit int per LED, first wire channel on top (as ``map_colour`` packs it)."""
        byte = iter(self.wire_bytes(frame))
        return [(a << 16) | (b << 8) | c for a, b, c in zip(byte, byte, byte, strict=True)]
