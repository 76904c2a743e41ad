"""A program's dry run beside its tree run: the dry run must predict what the tree will do.

Shared by the red-team tests of the dry run's honesty (rounds four, six and seven). Each tell
is a program that sets ``dry`` from something it measured; ``HOLD_THE_TREE`` then ends at once
where it believes it is a dry run and holds the tree to the limit where it believes it is on
the tree, so a tell that works shows as a prediction that differs from the run.
"""

from __future__ import annotations

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer, PreviewReport
from runner.supervise.supervisor import RunResult, Supervisor

LEDS = 10

HOLD_THE_TREE = """
if dry:
    print("a dry run: ending at once")
else:
    print("the tree: holding it to the limit")
    while True:
        setLEDs([WHITE] * getLEDCount())
        time.sleep(0.1)
"""


def config(limit_s: float) -> RunnerConfig:
    """A small tree at 40 fps, with ``limit_s`` to run and a second of CPU for a dry run."""
    return RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=limit_s, preview_cpu_s=1)


def dry_run_and_run(program: str, name: str, limit_s: float) -> tuple[PreviewReport, RunResult]:
    """The program's dry run (a real ``Previewer``), then its run on a virtual tree."""
    previewer = Previewer(config(limit_s), spiral_cone(LEDS))
    try:
        predicted = previewer.preview(program)
    finally:
        previewer.close()
    with Supervisor(config(limit_s), VirtualStrip(LEDS), spiral_cone(LEDS)) as supervisor:
        real = supervisor.run(name, program)
    return predicted, real


def assert_the_dry_run_predicts_the_tree(program: str, name: str, limit_s: float) -> None:
    """``program`` (a tell + ``HOLD_THE_TREE``) holds the tree to the limit, and its dry run
    says so."""
    predicted, real = dry_run_and_run(program, name, limit_s)
    assert (real.status, real.reason) == ("completed", "time_limit"), real.log
    assert (predicted.status, predicted.reason) == (real.status, real.reason), (
        f"the dry run predicted {predicted.status}/{predicted.reason} after "
        f"{predicted.duration_s:.3f} s ({predicted.log.strip()!r}); the tree run was "
        f"{real.status}/{real.reason} after {real.duration_s:.1f} s with {real.frames} frames"
    )
