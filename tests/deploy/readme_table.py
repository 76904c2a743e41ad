"""The README's settings table, read as data: which service each setting must reach."""

from __future__ import annotations

import re

from tests.deploy.conftest import ROOT

SERVICES = ("web", "runner")


def rows() -> dict[str, tuple[str, str]]:
    """``{TREE_NAME: (default column, used-by column)}``; a row may name several settings."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    found: dict[str, tuple[str, str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`TREE_"):
            continue
        for name in re.findall(r"`(TREE_[A-Z0-9_]+)`", cells[0]):
            found[name] = (cells[1], cells[2])
    return found


def settings_by_service() -> dict[str, set[str]]:
    """``{"web": {...}, "runner": {...}}`` from the "Used by" column (``both`` is each)."""
    table = {service: set() for service in SERVICES}  # type: dict[str, set[str]]
    for name, (_, used_by) in rows().items():
        for service in SERVICES:
            if used_by in (service, "both"):
                table[service].add(name)
    return table
