"""Every example offered to users, and every program in runner/README.md, runs in the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.sandbox.policy import check_source
from runner.supervise.supervisor import RunResult, Supervisor

RUNNER = Path(__file__).resolve().parents[2] / "runner"
EXAMPLES = sorted((RUNNER / "examples").glob("*.py"))
README = (RUNNER / "README.md").read_text(encoding="utf-8")
README_PROGRAMS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
COUNT = 30
TIME_LIMIT_S = 1.0


def _run(source: str, count: int = COUNT) -> tuple[RunResult, VirtualStrip]:
    strip = VirtualStrip(count)
    config = RunnerConfig(led_count=count, time_limit_s=TIME_LIMIT_S)
    result = Supervisor(config, strip, spiral_cone(count)).run("example", source)
    return result, strip


def test_there_are_enough_examples() -> None:
    assert 6 <= len(EXAMPLES) <= 10
    assert len(README_PROGRAMS) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_has_a_title_and_passes_the_check(path: Path) -> None:
    first, second = path.read_text(encoding="utf-8").splitlines()[:2]
    assert re.fullmatch(r"# [A-Z][\w ,'-]+", first), f"{path.name}: first line must be '# Title'"
    assert second.startswith("# "), f"{path.name}: second line should describe it"
    assert check_source(path.read_text(encoding="utf-8")) == []


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_and_shows_frames(path: Path) -> None:
    result, strip = _run(path.read_text(encoding="utf-8"))
    assert result.status == "completed", (result.reason, result.error, result.log)
    assert result.reason in {"ended", "time_limit"}
    assert result.frames >= 1 and strip.shown_count >= 1
    assert any(any(led[3] > 0 and max(led[:3]) > 0 for led in f.leds) for f in strip.frames)


@pytest.mark.slow
@pytest.mark.parametrize("source", README_PROGRAMS, ids=lambda s: s.splitlines()[0][:40])
def test_readme_program_runs(source: str) -> None:
    result, strip = _run(source)
    assert result.status == "completed", (result.reason, result.error, result.log)
    assert strip.shown_count >= 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "source",
    [
        (RUNNER / "examples" / "blue.py").read_text(encoding="utf-8"),
        "led_count = getLEDCount()\nsetLEDs([BLUE] * led_count)\n",
    ],
    ids=["seed", "constant"],
)
def test_seed_example_shows_a_blue_tree(source: str) -> None:
    result, strip = _run(source, count=7)
    assert (result.status, result.reason, result.frames) == ("completed", "ended", 1)
    assert strip.current == ((0, 0, 255, 100),) * 7


@pytest.mark.slow
def test_colours_example_logs_the_names() -> None:
    result, _ = _run((RUNNER / "examples" / "colours.py").read_text(encoding="utf-8"))
    assert "RED is (255, 0, 0, 100)" in result.log
