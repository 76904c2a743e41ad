"""Where each LED hangs on the tree: ``getLEDPositions()`` (SPEC §2).

``TREE_LAYOUT`` names a file with one ``x,y,z`` position per LED, in strip order, in any unit and
in the shapes people publish them in: a CSV with or without a header row and with or without a
UTF-8 byte-order mark (the GIFT CSV of the 2021 tree starts with one), the 2020 ``coords.txt``
style with ``[x, y, z]`` on each line, whitespace-separated columns, or one JSON list of triples.
Blank lines and ``#`` comments are allowed. ``z`` is up. Positions are normalised so that ``z``
runs 0..1 from the lowest LED to the highest and ``x``/``y`` lie in -1..1, centred on the middle of
the tree and scaled by the same factor so the tree keeps its shape. Without a layout file a spiral
cone is generated: one string wound evenly from the bottom (wide) to the top (a point).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
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


@dataclass(frozen=True)
class LayoutFile:
    """What a layout file held: its positions, and what was read to find them."""

    positions: list[Position]
    first_line: int = 0
    last_line: int = 0
    header: str | None = None
    header_line: int = 0

    def counted(self) -> str:
        """Where the positions came from, for an error message about their number."""
        if not self.positions:
            where = "no x,y,z rows"
        else:
            where = f"x,y,z rows on lines {self.first_line}-{self.last_line}"
        if self.header is not None:
            where += f"; line {self.header_line} was skipped as a header: {self.header[:40]!r}"
        return where


def read_layout(path: Path) -> LayoutFile:
    """Raw ``(x, y, z)`` positions of a layout file, in any of the shapes the module names.

    Raises:
        LayoutError: unreadable file, or a line that is not three finite numbers.
    """
    try:
        # utf-8-sig drops a leading byte-order mark, which would otherwise spoil the first number.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"cannot read layout file {path}: {exc}") from None
    if text.lstrip().startswith("[["):
        return _read_json(path, text)
    rows: list[Position] = []
    header: str | None = None
    first = last = header_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        cells = _cells(line)
        if not cells or cells[0].startswith("#"):
            continue
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if not rows and header is None:
                header, header_line = line.strip(), number  # a header row such as "x,y,z"
                continue
            raise LayoutError(
                f"{path} line {number}: {','.join(cells)[:60]!r} is not numbers"
            ) from None
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise LayoutError(f"{path} line {number}: expected three finite numbers x,y,z")
        rows.append((values[0], values[1], values[2]))
        first, last = first or number, number
    return LayoutFile(rows, first, last, header, header_line)


def _cells(line: str) -> list[str]:
    """The values on one line: ``x,y,z``, ``[x, y, z]`` (2020 coords.txt) or ``x y z``."""
    line = line.strip()
    if line.startswith("[") and line.rstrip(",").endswith("]"):
        line = line.rstrip(",")[1:-1]
    cells = [c.strip() for c in next(csv.reader([line]), [])]
    if len(cells) == 1 and not cells[0].startswith("#"):
        cells = cells[0].split()
    return [] if not any(cells) else cells


def _read_json(path: Path, text: str) -> LayoutFile:
    """A whole file holding one JSON list of ``[x, y, z]`` triples."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LayoutError(f"{path}: not a JSON list of [x, y, z]: {exc}") from None
    if type(data) is not list:
        raise LayoutError(f"{path}: expected a JSON list of [x, y, z], not {type(data).__name__}")
    rows: list[Position] = []
    for index, item in enumerate(data):
        ok = type(item) is list and len(item) == 3 and all(type(v) in (int, float) for v in item)
        if not ok or not all(math.isfinite(v) for v in item):
            raise LayoutError(f"{path}: entry {index} is not three finite numbers [x, y, z]")
        rows.append((float(item[0]), float(item[1]), float(item[2])))
    return LayoutFile(rows)


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
    layout = read_layout(path)
    found = len(layout.positions)
    if found != config.led_count:
        raise LayoutError(
            f"layout file {path} has {found} positions but TREE_LED_COUNT is {config.led_count}"
            f" (counted {layout.counted()})"
        )
    return normalise(layout.positions)
