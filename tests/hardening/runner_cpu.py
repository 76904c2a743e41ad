"""The runner's own CPU for a run or a dry run it supervises in the calling thread.

The parent-side red-team rounds bound what a hostile child can make the runner spend against
``PARENT_CPU_BUDGET_S``. ``runner_cpu()`` measures the calling thread's CPU time with the test
session's heap kept out of it. By the time these tests run, pytest holds a great many objects,
and one full collection of three million costs 0.2 s here. One CI run measured an ordinary
100-LED program at 0.21 s of the runner's CPU, where it costs 0.06-0.08 s run alone, beside
three busy loops or beside another suite; a collection of the session's heap landing inside
the run is the likely cause, and it is not the runner's cost (the runner's own heap is small).
Only what existed before the block is frozen: the run's own garbage is still collected in it.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass

# What the runner may spend on one run or dry run, whatever its child does: five times an
# ordinary program's cost on the 10-LED test tree (red team round twenty); an ordinary program
# at 40 fps on 100 LEDs costs 0.06-0.08 s of a 3 s run.
PARENT_CPU_BUDGET_S = 0.1


@dataclass
class CpuSpent:
    """Filled in when the ``runner_cpu()`` block ends."""

    seconds: float = 0.0


@contextlib.contextmanager
def runner_cpu() -> Iterator[CpuSpent]:
    """This thread's CPU seconds inside the block, without a collection of older objects."""
    gc.collect()
    gc.freeze()  # what exists now is not the block's: the collector leaves it alone
    spent = CpuSpent()
    started = time.thread_time()
    try:
        yield spent
    finally:
        spent.seconds = time.thread_time() - started
        gc.unfreeze()
