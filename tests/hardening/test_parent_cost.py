"""Red team: what a program can make the runner process itself spend (round four).

A dry run's child runs at nice 19 with a CPU budget of its own so that the tree program keeps its
frame rate; a tree run's child has its own CPU limit. Neither promise is worth much if the child
can make the *parent* (nice 0, the process that paces the tree, in the same interpreter as every
other run and dry run) do work in proportion to what the child emits. These tests bound the
runner's own CPU time spent on one hostile run against what an ordinary program costs it
(~0.02 s here); the bound is five times that, and the hostile runs measured 0.35 to 1.3 s.
"""

from __future__ import annotations

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer
from runner.supervise.supervisor import Supervisor
from tests.hardening.runner_cpu import PARENT_CPU_BUDGET_S, runner_cpu

LEDS = 10
# An ordinary tree program: a suspended generator's ``finally`` that raises. Every time one is
# dropped, CPython reports "Exception ignored in: <generator ...>" and the whole traceback,
# message included. Until red team round twenty-five the report went to the child's stderr,
# which the parent drains; it now goes to the program's log, rationed like ``print``. A raw
# child writing stderr itself is round twenty's test (``test_round20_parent.py``).
UNRAISABLE_FLOOD = """\
big = "x" * 100000


def frames():
    try:
        yield 1
    finally:
        raise ValueError(big)


while True:
    pending = frames()
    next(pending)
"""


def _config() -> RunnerConfig:
    return RunnerConfig(
        led_count=LEDS,
        fps=40.0,
        time_limit_s=3.0,
        cpu_limit_s=10,
        preview_cpu_s=1,
        view_fps=25.0,
    )


def test_cant_make_the_runner_outspend_a_dry_runs_cpu_budget_by_printing_to_stderr() -> None:
    """The dry run's child (nice 19, 1 s of CPU) must not make the nice-0 runner spend more
    than a fraction of that budget: found spending 1.3 s, more than the child itself."""
    previewer = Previewer(_config(), spiral_cone(LEDS))
    try:
        with runner_cpu() as cpu:  # preview() supervises in the calling thread
            report = previewer.preview(UNRAISABLE_FLOOD)
        spent = cpu.seconds
    finally:
        previewer.close()
    assert report.status != "completed" or report.reason == "time_limit"
    assert spent <= PARENT_CPU_BUDGET_S, (
        f"the runner spent {spent:.2f} s of CPU on one dry run whose child used "
        f"{report.cpu_s:.2f} s at nice 19"
    )


def test_cant_make_the_runner_burn_cpu_by_printing_to_stderr_during_a_run() -> None:
    """A 3 s tree run of the same program: found costing the runner ~0.8 s of CPU (a quarter
    of a core for the whole 45 s of a real run), against ~0.02 s for an ordinary program."""
    strip = VirtualStrip(LEDS)
    with Supervisor(_config(), strip, spiral_cone(LEDS)) as supervisor:
        with runner_cpu() as cpu:  # run() supervises in the calling thread
            result = supervisor.run("stderr-flood", UNRAISABLE_FLOOD)
        spent = cpu.seconds
    assert (result.status, result.reason) == ("completed", "time_limit")
    assert spent <= PARENT_CPU_BUDGET_S, f"the runner spent {spent:.2f} s of CPU on one run"
