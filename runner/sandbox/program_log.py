"""Printed text on its way from the child to the parent: written as it is printed, to a pipe of
its own.

Nothing is held back in this process. The parent makes the pipe hold more than a whole log, so a
write never waits for it to read; and what was written lives in the kernel's pipe, not here, so a
deadline, a Stop or a crash that ends the child a moment later loses none of it (red team round
twenty-five: text held back here to ration the parent's reads was lost with the child). The
parent reads the pipe when it chooses, at most 20 times a second while the program runs and all
of it at the end, so a program printing empty lines costs the runner no more than one printing
nothing (red team round twenty). Both modes write the same way, at the same cost.
"""

from __future__ import annotations

import os


class ProgramLog:
    """The run's log on the child's side: capped at ``limit`` bytes, written to ``fd``."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd = fd
        # The cap and one byte past it, which marks the cut: written by the first print that
        # does not fit, even right after one that filled the log exactly (red team round
        # twenty-eight: no note then). The parent enforces the cap too; this saves the work.
        self._left = limit + 1

    def add(self, text: str) -> None:
        """Write printed text now, while the log is under its cap."""
        if self._left <= 0 or not text:
            return
        data = memoryview(text.encode("utf-8", "replace")[: self._left])
        self._left -= len(data)
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except OSError:  # the parent closed its end: it is gone, or will read no more
            self._left = 0
