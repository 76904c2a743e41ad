"""Where each LED hangs on the tree: ``getLEDPositions()`` (SPEC §2).

``TREE_LAYOUT`` names a CSV with one ``x,y,z`` row per LED, in strip order, in any unit (a header
row, blank lines and ``#`` comments are allowed). Positions are normalised so that ``z`` runs
0..1 from the lowest LED to the highest and ``x``/``y`` lie in -1..1, centred on the middle of the
tree and scaled by the same factor so the tree keeps its shape. Without a layout file a spiral
cone is generated: one string wound evenly from the bottom (wide) to the top (a point).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.config import RunnerConfig

Position = tuple[float, float, float]

SPIRAL_TURNS = 7.0


class LayoutError(ValueError):
    """The layout file cannot be used; the message says which file and which line."""


def spiral_cone(count: int, turns: float = SPIRAL_TURNS) -> list[Position]:
    """``count`` positions wound ``turns`` times round a cone, bottom first."""
    positions: list[Position] = []
    for i in range(count):
        t = i / (count - 1) if count > 1 else 0.0
        radius = 1.0 - t
        angle = 2 * math.pi * turns * t
        positions.append((radius * math.cos(angle), radius * math.sin(angle), t))
    return positions


def read_csv(path: Path) -> list[Position]:
    """Raw ``(x, y, z)`` rows of a layout file.

    Raises:
        LayoutError: unreadable file, or a row that is not three finite numbers.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"cannot read layout file {path}: {exc}") from None
    rows: list[Position] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if not rows and number == 1:
                continue  # a header row such as "x,y,z"
            raise LayoutError(f"{path} line {number}: {','.join(cells)!r} is not numbers") from None
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise LayoutError(f"{path} line {number}: expected three finite numbers x,y,z")
        rows.append((values[0], values[1], values[2]))
    return rows


def normalise(raw: list[Position]) -> list[Position]:
    """Scale raw positions into x, y in -1..1 (shape kept) and z in 0..1."""
    xs, ys, zs = zip(*raw, strict=True)
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 or 1.0
    z0, height = min(zs), (max(zs) - min(zs)) or 1.0
    return [
        (_clamp((x - cx) / half, -1.0), _clamp((y - cy) / half, -1.0), _clamp((z - z0) / height, 0))
        for x, y, z in raw
    ]


def _clamp(value: float, low: float) -> float:
    # Rounding can overshoot the bounds by an ulp; the contract says -1..1 / 0..1 exactly.
    return min(1.0, max(low, value))


def load_positions(config: RunnerConfig) -> list[Position]:
    """Each LED's position from ``config.layout_path``, or a spiral cone when there is none.

    Raises:
        LayoutError: the file is unreadable, malformed or has a different number of LEDs.
    """
    path = config.positions_file()
    if path is None:
        return spiral_cone(config.led_count)
    raw = read_csv(path)
    if len(raw) != config.led_count:
        raise LayoutError(
            f"layout file {path} has {len(raw)} positions but TREE_LED_COUNT is {config.led_count}"
        )
    return normalise(raw)
