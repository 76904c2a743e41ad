"""What the parent-side red-team rounds run against the real supervisor: a dry-run child that
runs *raw* Python (real builtins, plain ``compile``) yet is confined as every child is, and busy
loops that keep the machine's cores taken while a test watches a child, and a dry run timed by
the slot it held and the runner's CPU it cost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.supervise.preview import Previewer, PreviewReport
from tests.hardening.runner_cpu import runner_cpu

# ``runner.audit raw`` serves tree runs; the previewer takes a child command, so a dry run gets
# its raw child from this: the real child with the language layer swapped out.
RAW_DRY_RUN_CHILD = (
    "import sys\n"
    "import runner.sandbox.child as child\n"
    "child._run_restricted = lambda api, source, *rest: child._run_raw(api, source)\n"
    "sys.exit(child.main(sys.argv[1:]))\n"
)
RAW_COMMAND = [sys.executable, "-I", "-B", "-c", RAW_DRY_RUN_CHILD]


@contextlib.contextmanager
def spinners(count: int | None = None) -> Iterator[None]:
    """``count`` processes at nice 0 spinning (one per core by default), killed and reaped."""
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(count or os.cpu_count() or 2)
    ]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def runner_defaults(**changes: object) -> RunnerConfig:
    """The runner's defaults (45 s, 40 fps, ``preview_cpu_s=3``: a 14 s wall bound), 100 LEDs."""
    return dataclasses.replace(RunnerConfig(led_count=100), **changes)  # type: ignore[arg-type]


def timed_dry_run(
    source: str, cfg: RunnerConfig, *, raw: bool = True, prestart: bool = False
) -> tuple[PreviewReport, float, float]:
    """One dry run: its report, the seconds it held the slot, the runner's CPU seconds for it."""
    previewer = Previewer(
        cfg,
        spiral_cone(cfg.led_count),
        child_command=RAW_COMMAND if raw else None,
        prestart=prestart,
    )
    try:
        started = time.monotonic()
        with runner_cpu() as cpu:  # preview() runs in this thread
            report = previewer.preview(source)
        return report, time.monotonic() - started, cpu.seconds
    finally:
        previewer.close()
