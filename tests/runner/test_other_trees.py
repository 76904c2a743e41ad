"""Programs written for other trees run after the porting recipe of ``runner/README.md``.

Each file in ``tests/programs/other_trees/`` keeps one habit of the programs people wrote for the
public 2020 and 2021 trees (float colours, GRB stand-ins, tab indentation, ...). Every one must
run for a few seconds and end ``completed`` at the time limit with frames shown and lit LEDs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.sandbox.policy import check_source
from runner.supervise.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[2]
PORTS = sorted((ROOT / "tests" / "programs" / "other_trees").glob("*.py"))
README = (ROOT / "runner" / "README.md").read_text(encoding="utf-8")
LEDS = 60
TIME_LIMIT_S = 2.0


def test_there_are_at_least_six_ports() -> None:
    assert len(PORTS) >= 6


@pytest.mark.parametrize("path", PORTS, ids=lambda p: p.stem)
def test_port_passes_the_check(path: Path) -> None:
    assert check_source(path.read_text(encoding="utf-8")) == []


@pytest.mark.slow
@pytest.mark.parametrize("path", PORTS, ids=lambda p: p.stem)
def test_port_runs_until_the_time_limit_showing_frames(path: Path) -> None:
    strip = VirtualStrip(LEDS)
    config = RunnerConfig(led_count=LEDS, time_limit_s=TIME_LIMIT_S)
    with Supervisor(config, strip, spiral_cone(LEDS)) as supervisor:
        result = supervisor.run(path.stem, path.read_text(encoding="utf-8"))
    assert (result.status, result.reason) == ("completed", "time_limit"), (result.error, result.log)
    assert result.frames >= 2 and strip.shown_count >= 2
    assert any(any(led[3] > 0 and max(led[:3]) > 0 for led in f.leds) for f in strip.frames)


def test_ports_use_the_recipe_from_the_docs() -> None:
    """The stand-in lines in every port are the ones /docs tells people to paste."""
    recipe = re.search(r"paste these six lines:\n\n```py\n(.*?)```", README, flags=re.DOTALL)
    assert recipe is not None
    lines = [line.strip() for line in recipe.group(1).splitlines() if line.strip()]
    assert len(lines) == 6
    stand_in = lines[:4]  # the class and pixels; the coordinates line depends on the year
    for path in PORTS:
        body = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        assert all(line in body for line in stand_in), path.name
        assert any(line.startswith("coords = [[x") for line in body), path.name


@pytest.mark.slow
def test_hasattr_on_a_dunder_fails_at_its_line_not_far_away() -> None:
    """``hasattr(colour, "__len__")`` used to answer False: the program then showed a tuple as a
    colour value and failed in setLEDs. Now the run ends at the hasattr line, saying why."""
    path = ROOT / "tests" / "programs" / "hasattr_len.py"
    source = path.read_text(encoding="utf-8")
    strip = VirtualStrip(LEDS)
    config = RunnerConfig(led_count=LEDS, time_limit_s=TIME_LIMIT_S)
    with Supervisor(config, strip, spiral_cone(LEDS)) as supervisor:
        result = supervisor.run(path.stem, source)
    assert (result.status, result.reason) == ("failed", "error")
    assert result.error is not None and result.error.type == "SandboxError"
    assert '"__len__" is not accessible' in result.error.message
    hasattr_line = next(n for n, line in enumerate(source.splitlines(), 1) if "if hasattr(" in line)
    assert result.error.line == hasattr_line and strip.shown_count == 0
