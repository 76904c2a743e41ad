"""Protecting the room (issue 12), measured on the frames as the LED backend received them.

Each program runs in the real sandbox under the real supervisor on a ``VirtualStrip``; the
strip's recorded history is what the LEDs were given, and ``light_meter`` (which shares no code
with ``runner.protect``) measures it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.messages import Finished, Frame, Message, message_adapter
from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import ShownFrame, VirtualStrip
from runner.protect import Protector
from runner.supervise.supervisor import RunResult, Supervisor
from tests.runner.light_meter import (
    current_ma,
    general_counts,
    luminance,
    most_flashes_per_region,
    most_in_one_second,
    red_counts,
    redness,
    series,
    transitions,
)

PROGRAMS = Path(__file__).parent.parent / "programs"
EXAMPLES = sorted((Path(__file__).parents[2] / "runner" / "examples").glob("*.py"))
# Snow's random flakes now and then bunch in two neighbouring cells, an eighth of the tree at
# half its range and more: a flash by docs/protection.md's rules, so it is not bit for bit.
SNOW = EXAMPLES[0].parent / "snow.py"
STEADY_EXAMPLES = [path for path in EXAMPLES if path != SNOW]
# Three flashes are six opposing transitions.
MOST_TRANSITIONS = 6

pytestmark = pytest.mark.slow


def run_on_tree(
    program: str,
    tmp_path: Path,
    time_limit_s: float = 3.0,
    events: list[Message] | None = None,
    **settings: object,
) -> tuple[RunResult, list[ShownFrame]]:
    """Run a program from tests/programs (or a path) at 40 fps; the frames the strip got."""
    path = Path(program) if "/" in program else PROGRAMS / program
    values: dict[str, object] = {
        "socket_path": str(tmp_path / "runner.sock"),
        "fps": 40.0,
        "time_limit_s": time_limit_s,
        "view_fps": 0.0,
    }
    values.update(settings)
    config = RunnerConfig(**values)  # type: ignore[arg-type]
    with VirtualStrip(config.led_count) as strip:
        with Supervisor(config, strip, spiral_cone(config.led_count)) as supervisor:
            source = path.read_text(encoding="utf-8")
            listener = None if events is None else events.append
            result = supervisor.run("protect", source, on_event=listener)
        frames = strip.frames
    assert result.status == "completed", (result.reason, result.error, result.log)
    assert len(frames) == result.frames >= 1
    return result, frames


def test_all_white_on_500_leds_never_exceeds_a_5_amp_budget(tmp_path: Path) -> None:
    events: list[Message] = []
    result, frames = run_on_tree(
        "all_white.py", tmp_path, 1.5, events, led_count=500, max_current_ma=5000
    )
    currents = [current_ma(f.leds) for f in frames]
    assert max(currents) <= 5000
    # Dimmed to the budget, not to darkness, and still white: scaled uniformly.
    assert min(currents) > 0.95 * 5000
    assert all(len({led for led in f.leds}) == 1 for f in frames)
    r, g, b, level = frames[0].leds[0]
    assert r == g == b > 0 and level == 100
    # The run report says so: every frame scaled, to about 15 % of its light.
    assert result.frames_scaled == result.frames
    assert 0.12 < result.power_scale_min < 0.16
    finished = message_adapter.validate_json(result.to_message("protect").model_dump_json())
    assert isinstance(finished, Finished) and finished.frames_scaled == result.frames
    assert finished.power_scale_min == round(result.power_scale_min, 4)
    # The live view was sent the frames the LEDs showed, not the program's.
    views = [m for m in events if isinstance(m, Frame)]
    assert views and views[-1].leds == [list(led) for led in frames[-1].leds]


@pytest.mark.parametrize("program", ["strobe_white.py", "strobe_red.py"])
def test_a_10_hz_strobe_reaches_the_leds_with_at_most_3_flashes_a_second(
    program: str, tmp_path: Path
) -> None:
    result, frames = run_on_tree(program, tmp_path)  # 100 LEDs: within the power budget
    shown = [(f.at, f.leds) for f in frames]
    general = transitions(series(shown, luminance), general_counts)
    red = transitions(series(shown, redness), red_counts)
    assert most_in_one_second(general) <= MOST_TRANSITIONS, general
    assert most_in_one_second(red) <= MOST_TRANSITIONS, red
    # It still flashes (up to the limit) and every frame reached the LEDs, damped, not dropped.
    assert len(general) >= MOST_TRANSITIONS
    assert 0 < result.frames_damped < result.frames == len(frames)
    assert result.frames_scaled == 0


@pytest.mark.parametrize("program", ["strobe_white.py", "strobe_red.py"])
def test_with_the_limiter_off_the_strobe_flashes_ten_times_a_second(
    program: str, tmp_path: Path
) -> None:
    # The meter's own check: the same program, unprotected, is the hazard the limiter removes.
    result, frames = run_on_tree(program, tmp_path, time_limit_s=2.0, flash_limit=False)
    shown = [(f.at, f.leds) for f in frames]
    assert most_in_one_second(transitions(series(shown, luminance), general_counts)) >= 16
    if program == "strobe_red.py":
        assert most_in_one_second(transitions(series(shown, redness), red_counts)) >= 16
    assert result.frames_damped == 0


@pytest.mark.parametrize(
    "path", [PROGRAMS / "slow_rainbow.py", *STEADY_EXAMPLES], ids=lambda p: p.stem
)
def test_ordinary_programs_pass_through_bit_identical(path: Path, tmp_path: Path) -> None:
    # Record what the program sent (protection off), then give exactly those frames, at the
    # times they were shown, to the protection the default settings switch on.
    limit = 6.0 if path.stem == "colours" else 2.5  # colours: through WHITE to the end
    _, frames = run_on_tree(
        str(path), tmp_path, time_limit_s=limit, max_current_ma=0, flash_limit=False
    )
    defaults = RunnerConfig()
    protector = Protector.from_config(defaults, positions=spiral_cone(defaults.led_count))
    assert protector.active and defaults.flash_limit and defaults.max_current_ma > 0
    for frame in frames:
        assert protector.apply(frame.leds, frame.at) == frame.leds
    assert (protector.stats.frames_scaled, protector.stats.frames_damped) == (0, 0)


@pytest.mark.parametrize("leds", [40])
def test_ordinary_programs_on_a_small_tree_pass_through_bit_identical(
    leds: int, tmp_path: Path
) -> None:
    # A small tree is judged by the same zones as a large one (red team round eight): its
    # quarters hold few LEDs, and no example may be damped for it.
    for path in [PROGRAMS / "slow_rainbow.py", *STEADY_EXAMPLES]:
        limit = 6.0 if path.stem == "colours" else 2.5
        _, frames = run_on_tree(
            str(path),
            tmp_path,
            time_limit_s=limit,
            led_count=leds,
            max_current_ma=0,
            flash_limit=False,
        )
        settings = RunnerConfig(led_count=leds)
        protector = Protector.from_config(settings, positions=spiral_cone(leds))
        for frame in frames:
            assert protector.apply(frame.leds, frame.at) == frame.leds, path.stem
        assert protector.stats.frames_damped == 0, path.stem


@pytest.mark.parametrize("leds", [100, 40])
def test_snow_is_seldom_held_back(leds: int, tmp_path: Path) -> None:
    # Snow on the default tree and a small one, with the default protection: its flakes keep
    # falling. 400 simulated recordings of 8 s on 100 LEDs: 74 % had no frame damped, the worst
    # 28 of 320 (docs/protection.md); 40 LEDs: 87 %, the worst 24.
    result, frames = run_on_tree(str(SNOW), tmp_path, time_limit_s=8.0, led_count=leds)
    assert result.frames_scaled == 0  # within the default power budget: only the limiter acts
    assert result.frames_damped <= 0.15 * len(frames), (result.frames_damped, len(frames))


@pytest.mark.parametrize("name", ["sweep_up", "spin"])
def test_moving_light_on_a_500_led_tree_passes_bit_identical(name: str, tmp_path: Path) -> None:
    # A band rising along a dense spiral moves the quadrants' means up and down several times a
    # second; it is not a flash, and the zones must not damp it. (Snow on 500 LEDs, half the
    # tree white and flickering, can be: docs/protection.md, "Not covered".)
    path = EXAMPLES[0].parent / f"{name}.py"
    _, frames = run_on_tree(
        str(path), tmp_path, time_limit_s=3.0, led_count=500, max_current_ma=0, flash_limit=False
    )
    # The flash limiter alone: half the tree white in snow is over the default power budget.
    settings = RunnerConfig(led_count=500, max_current_ma=0)
    protector = Protector.from_config(settings, positions=spiral_cone(500))
    for frame in frames:
        assert protector.apply(frame.leds, frame.at) == frame.leds
    assert protector.stats.frames_damped == 0


def test_a_protected_run_of_an_ordinary_program_reports_nothing_changed(tmp_path: Path) -> None:
    result, _ = run_on_tree("slow_rainbow.py", tmp_path, time_limit_s=1.5)
    assert (result.frames_scaled, result.power_scale_min, result.frames_damped) == (0, 1.0, 0)


def test_halves_of_the_tree_strobing_in_antiphase_reach_the_leds_with_at_most_3_flashes(
    tmp_path: Path,
) -> None:
    # The supervisor judges the zones of the tree it drives (its LED positions), not only the
    # whole tree, whose mean light this program never changes.
    result, frames = run_on_tree("strobe_halves.py", tmp_path, led_count=200)
    most = most_flashes_per_region([(f.at, f.leds) for f in frames], spiral_cone(200))
    assert max(most.values()) <= MOST_TRANSITIONS, most
    assert most["top half"] >= 4 and 0 < result.frames_damped < result.frames


def test_the_red_team_checkerboard_reaches_the_leds_with_at_most_3_flashes(
    tmp_path: Path,
) -> None:
    # docs/protection.md's reproduction, tests/programs/strobe_checker.py: cells of a
    # checkerboard lit half by half in turn, through the real sandbox and supervisor on 500
    # LEDs with the default settings. It passed undamped.
    result, frames = run_on_tree("strobe_checker.py", tmp_path, led_count=500)
    most = most_flashes_per_region([(f.at, f.leds) for f in frames], spiral_cone(500))
    assert max(most.values()) <= MOST_TRANSITIONS, most
    assert most["bottom half"] >= 4 and 0 < result.frames_damped < result.frames


def test_the_checkerboard_in_the_docs_is_the_program_tested() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "protection.md").read_text(encoding="utf-8")
    documented = docs.split("**The red team's checkerboard**")[1].split("```python\n")[1]
    program = (PROGRAMS / "strobe_checker.py").read_text(encoding="utf-8")
    code = program[program.index("import math") :]
    assert documented.split("```")[0] == code


def test_a_pause_before_a_strobe_gets_no_extra_flash(tmp_path: Path) -> None:
    """A frame arriving after a pause is judged at the time it shows, not at its stale slot."""
    _, frames = run_on_tree("pause_then_strobe.py", tmp_path, time_limit_s=5.0)
    shown = [(f.at, f.leds) for f in frames]
    general = transitions(series(shown, luminance), general_counts)
    assert most_in_one_second(general) <= MOST_TRANSITIONS, general
