"""Red team: the upload check must not compete with the tree program for the CPU (round four).

Every submission (and every editor check) is compiled in a fresh confined child
(``runner.supervise.check``), up to two at once, each for up to ``CHECK_TIME_S`` of wall time.
Dry runs run at nice 19 so that the tree program keeps its frame rate; check children run at
the tree's own priority. A 60 KB program of one chained comparison takes the policy's compiler
about 2 s of CPU here (more on a Pi), so a room submitting such programs keeps two of the
Pi's cores busy at the tree program's priority.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from runner.config import RunnerConfig
from runner.supervise.check import Checker
from runner.supervise.preview import PREVIEW_NICE

# Accepted by the policy, and slow to compile: one comparison chained 15,000 times.
SLOW_TO_COMPILE = "x = 1 " + " ".join("< 1" for _ in range(15_000)) + "\n"


def _children_nice(parent: int) -> dict[int, int]:
    """pid -> nice value of every sandbox child of ``parent``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == parent and b"runner.sandbox.child" in cmdline:
            found[int(entry.name)] = int(fields[16])  # field 19 of stat: nice
    return found


def test_cant_starve_the_tree_program_with_checks_of_slow_to_compile_programs() -> None:
    checker = Checker(RunnerConfig(led_count=10))
    errors: list[object] = []
    done = threading.Event()

    def check() -> None:
        errors.extend(checker.check(SLOW_TO_COMPILE))
        done.set()

    threading.Thread(target=check, daemon=True).start()
    seen: dict[int, int] = {}
    while not done.wait(0.02):
        seen.update(_children_nice(os.getpid()))
    assert errors == [], errors  # an ordinary, accepted program
    assert seen, "the check child was never seen"
    assert all(nice >= PREVIEW_NICE for nice in seen.values()), (
        f"check children ran at nice {sorted(set(seen.values()))}, beside the tree program; "
        f"dry runs run at nice {PREVIEW_NICE}"
    )
