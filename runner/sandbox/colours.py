"""The values of the user program API (SPEC §2): colour constants and ``fromHSV``."""

from __future__ import annotations

from collections.abc import Callable

Colour = tuple[int, int, int, int]

# Each constant is an (R, G, B, L) tuple at full brightness; tuples so a program cannot change them.
BLACK: Colour = (0, 0, 0, 100)
OFF: Colour = BLACK
WHITE: Colour = (255, 255, 255, 100)
RED: Colour = (255, 0, 0, 100)
GREEN: Colour = (0, 255, 0, 100)
BLUE: Colour = (0, 0, 255, 100)
YELLOW: Colour = (255, 255, 0, 100)
CYAN: Colour = (0, 255, 255, 100)
MAGENTA: Colour = (255, 0, 255, 100)
ORANGE: Colour = (255, 165, 0, 100)
PURPLE: Colour = (128, 0, 128, 100)
PINK: Colour = (255, 105, 180, 100)
WARM_WHITE: Colour = (255, 180, 107, 100)

COLOURS: dict[str, Colour] = {
    "BLACK": BLACK,
    "OFF": OFF,
    "WHITE": WHITE,
    "RED": RED,
    "GREEN": GREEN,
    "BLUE": BLUE,
    "YELLOW": YELLOW,
    "CYAN": CYAN,
    "MAGENTA": MAGENTA,
    "ORANGE": ORANGE,
    "PURPLE": PURPLE,
    "PINK": PINK,
    "WARM_WHITE": WARM_WHITE,
}


def _from_hsv() -> Callable[..., Colour]:
    # The closure's names, fixed here (see fromHSV's comment).
    is_a, kind, as_int, as_float = isinstance, type, int, float
    int_type, float_type = int, float
    type_error, value_error = TypeError, ValueError

    def fromHSV(h: float, s: float, v: float, l: int = 100) -> Colour:  # noqa: E741, N802
        """Turn hue, saturation, value (0..1) and brightness (0-100) into an ``(R, G, B, L)`` tuple.

        Hue wraps around (1.25 is the same as 0.25) so animations can add to it freely; saturation
        and value are clamped to 0..1 so float rounding (1.0000001) never breaks a frame.
        """
        # Self-contained: ``policy.make_globals`` re-homes this function's code in the program's own
        # globals, so nothing outside the program is reachable through it; the builtins it uses are
        # its closure's, so a program naming a variable ``int`` or ``type`` does not change it (red
        # team round eighteen).
        # One combined test on the fast path (called per LED per frame); the loop that names the
        # bad argument runs only when something is wrong.
        # bool is an int subclass; a colour component of True is almost certainly a bug.
        if (
            h is True or h is False or s is True or s is False or v is True or v is False
            or not is_a(h, (int_type, float_type)) or not is_a(s, (int_type, float_type))
            or not is_a(v, (int_type, float_type))
        ):  # fmt: skip
            for name, value in (("h", h), ("s", s), ("v", v)):
                if value is True or value is False or not is_a(value, (int_type, float_type)):
                    raise type_error(
                        f"fromHSV: {name} must be a number, not {kind(value).__name__}"
                    )
        if l is True or l is False or not is_a(l, int_type) or not 0 <= l <= 100:
            raise value_error(f"fromHSV: brightness l must be an int in 0-100, not {l!r}")
        hue = as_float(h) % 1.0
        sat = as_float(s)
        sat = 0.0 if sat < 0.0 else 1.0 if sat > 1.0 else sat
        val = as_float(v)
        val = 0.0 if val < 0.0 else 1.0 if val > 1.0 else val
        # Inline HSV -> RGB (as colorsys.hsv_to_rgb): animations call this per LED per frame.
        i = as_int(hue * 6.0)
        f = hue * 6.0 - i
        p = val * (1.0 - sat)
        q = val * (1.0 - sat * f)
        t = val * (1.0 - sat * (1.0 - f))
        i %= 6
        if i == 0:
            r, g, b = val, t, p
        elif i == 1:
            r, g, b = q, val, p
        elif i == 2:
            r, g, b = p, val, t
        elif i == 3:
            r, g, b = p, q, val
        elif i == 4:
            r, g, b = t, p, val
        else:
            r, g, b = val, p, q
        return (
            as_int(r * 255.0 + 0.5),
            as_int(g * 255.0 + 0.5),
            as_int(b * 255.0 + 0.5),
            as_int(l),
        )

    return fromHSV


fromHSV = _from_hsv()
