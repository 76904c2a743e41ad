"""A program's cyclic garbage is collected at its ``setLEDs`` and ``time.sleep`` calls, and only
there (``runner/sandbox/garbage.py``): on the tree and in a dry run alike, in real confined
children."""

from __future__ import annotations

import contextlib

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer
from runner.supervise.supervisor import Supervisor

LEDS = 10

# About 8 MB of cyclic garbage a frame, 150 frames: 1.2 GB in all, under a 256 MiB limit.
MAKES_CYCLES = """
for i in range(150):
    junk = [list(range(100_000))]
    junk.append(junk)  # a cycle: reference counting alone never frees it
    junk = None
    setLEDs([BLUE] * getLEDCount())
print("done")
"""

# A generator in a cycle is finalized by the collector: its ``finally`` runs at the next call
# of ours, not in the middle of the program's own statements.
FINALIZED_AT_A_CALL = """
import time

said = []


class Box:
    pass


def held(box):
    try:
        yield 1
    finally:
        said.append("finally")


for call in ("setLEDs", "sleep"):
    box = Box()
    box.gen = held(box)
    next(box.gen)
    box = None
    copies = [said[:] for _ in range(2000)]  # allocations: no collection happens here
    before = len(said)
    if call == "setLEDs":
        setLEDs([RED] * getLEDCount())
    else:
        time.sleep(0.01)
    print(call, before, len(said) - before, len(copies))
"""


def _config() -> RunnerConfig:
    return RunnerConfig(
        led_count=LEDS, fps=0.0, time_limit_s=20.0, memory_limit_bytes=256 * 1024 * 1024
    )


def test_a_program_that_makes_cyclic_garbage_every_frame_runs_within_its_memory() -> None:
    with Supervisor(_config(), VirtualStrip(LEDS), spiral_cone(LEDS)) as supervisor:
        result = supervisor.run("cycles", MAKES_CYCLES)
    assert (result.status, result.reason) == ("completed", "ended"), result.log
    assert result.frames == 150 and "done" in result.log


def test_a_finalizer_in_a_cycle_runs_at_the_next_call_in_both_modes() -> None:
    expected = "setLEDs 0 1 2000\nsleep 1 1 2000\n"
    with Supervisor(_config(), VirtualStrip(LEDS), spiral_cone(LEDS)) as supervisor:
        real = supervisor.run("finalized", FINALIZED_AT_A_CALL)
    with contextlib.closing(Previewer(_config(), spiral_cone(LEDS))) as previewer:
        predicted = previewer.preview(FINALIZED_AT_A_CALL)
    assert real.log == expected
    assert predicted.log == expected
