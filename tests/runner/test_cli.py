"""``python -m runner run FILE``: the exit status and output of SPEC §9, as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent.parent / "programs"
# The run report of the room's protection (issue 12), beside SPEC §9's keys.
PROTECTION_KEYS = {"frames_scaled", "power_scale_min", "frames_damped"}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TREE_")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "runner", "run", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


def test_completed_run_exits_0_with_json() -> None:
    done = run_cli(str(PROGRAMS / "seed.py"), "--leds", "12", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (
        set(out) == {"status", "reason", "error", "frames", "duration_s", "log"} | PROTECTION_KEYS
    )
    assert (out["status"], out["reason"], out["error"], out["frames"]) == (
        "completed",
        "ended",
        None,
        1,
    )


def test_failed_run_exits_1_with_the_line() -> None:
    done = run_cli(str(PROGRAMS / "error_line.py"), "--json")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert (out["status"], out["reason"]) == ("failed", "error")
    assert out["error"] == {"type": "IndexError", "message": "list index out of range", "line": 3}
    assert out["log"].startswith("10\n20\n30\n")


def test_rejected_program_exits_2_before_running(tmp_path: Path) -> None:
    source = tmp_path / "bad.py"
    source.write_text("x = 1\nimport os\n")
    done = run_cli(str(source), "--json")
    assert done.returncode == 2
    out = json.loads(done.stdout)
    assert out["status"] == "rejected" and out["frames"] == 0
    assert out["error"]["line"] == 2 and "os" in out["error"]["message"]
    plain = run_cli(str(source))
    assert plain.returncode == 2 and "line 2" in plain.stderr


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    binary = tmp_path / "x.py"
    binary.write_bytes(b"\xff\xfe\x00")
    assert run_cli(str(binary)).returncode == 2
    assert run_cli(str(tmp_path / "missing.py")).returncode == 2


def test_time_limit_and_record(tmp_path: Path) -> None:
    record = tmp_path / "frames.jsonl"
    done = run_cli(
        str(PROGRAMS / "endless_frames.py"),
        "--leds",
        "5",
        "--time-limit",
        "0.5",
        "--record",
        str(record),
        "--json",
        env={"TREE_FPS": "50"},
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["status"], out["reason"]) == ("completed", "time_limit")
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(lines) == out["frames"] > 1
    assert lines[0]["leds"] == [[1, 0, 0, 100]] * 5
    assert lines[1]["leds"] == [[2, 0, 0, 100]] * 5
    times = [line["t"] for line in lines]
    assert times == sorted(times) and times[0] >= 0


def test_plain_output_prints_the_log_and_a_summary() -> None:
    done = run_cli(str(PROGRAMS / "bad_value_caught.py"), "--leds", "10")
    assert done.returncode == 0
    assert "caught: LED 7: brightness 150 is outside 0-100" in done.stdout
    assert "completed (ended)" in done.stderr and "1 frame" in done.stderr


def test_show_draws_truecolour_blocks() -> None:
    done = run_cli(str(PROGRAMS / "blue.py"), "--leds", "3", "--show")
    assert done.returncode == 0
    assert "\x1b[38;2;0;0;255m\u2588\u2588" in done.stderr


def test_bare_module_usage_errors() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runner", "bogus"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "usage" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_cancels_the_run_and_reaps_the_child(tmp_path: Path, sig: signal.Signals) -> None:

    record = tmp_path / "frames.jsonl"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TREE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", str(PROGRAMS / "endless_frames.py")]
        + ["--time-limit", "60", "--record", str(record), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(environ, TREE_FPS="20"),
    )
    give_up = time.monotonic() + 60  # a liveness bound, not a speed check
    while not (record.exists() and record.read_text()) and time.monotonic() < give_up:
        time.sleep(0.05)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    result = json.loads(out)
    assert (result["status"], result["reason"]) == ("cancelled", "operator")
    assert result["frames"] >= 1


RUN_SHAPE = {"status", "reason", "error", "frames", "duration_s", "log"} | PROTECTION_KEYS


def test_rejection_json_has_exactly_the_run_shape_and_lists_every_error(tmp_path: Path) -> None:
    source = tmp_path / "bad.py"
    source.write_text("x = 1\nimport os\n__y = 2\n")
    done = run_cli(str(source), "--json")
    assert done.returncode == 2
    out = json.loads(done.stdout)
    assert set(out) == RUN_SHAPE
    assert set(out["error"]) == {"type", "message", "line"}
    assert (out["status"], out["frames"], out["error"]["line"]) == ("rejected", 0, 2)
    assert "line 2, column 1:" in out["log"] and "line 3, column 1:" in out["log"]


def test_unreadable_file_is_a_json_rejection_with_the_line(tmp_path: Path) -> None:
    binary = tmp_path / "latin1.py"
    binary.write_bytes(b"x = 1\ny = '\xe9'\n")
    out = json.loads(run_cli(str(binary), "--json").stdout)
    assert set(out) == RUN_SHAPE and out["status"] == "rejected"
    assert (out["error"]["type"], out["error"]["line"]) == ("UnicodeDecodeError", 2)
    missing = run_cli(str(tmp_path / "missing.py"), "--json")
    assert missing.returncode == 2
    assert json.loads(missing.stdout)["error"]["type"] == "FileNotFoundError"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--leds", "0"], {}, "--leds: '0' is not a whole number from 1 to"),
        (["--leds", "many"], {}, "--leds: 'many' is not a whole number"),
        (["--time-limit", "-1"], {}, "--time-limit: '-1' is not a positive number"),
        (["--time-limit", "inf"], {}, "--time-limit: 'inf' is not a positive number"),
        ([], {"TREE_LED_COUNT": "9000"}, "TREE_LED_COUNT): 9000 is not between 1 and 5000"),
        ([], {"TREE_FPS": "fast"}, "setting fps: 'fast' is not a valid float"),
        ([], {"TREE_FPS": "-5"}, "TREE_FPS): -5.0 is not between 0"),
        ([], {"TREE_TIME_LIMIT": "0"}, "TREE_TIME_LIMIT): 0.0 is not between"),
        ([], {"TREE_LAYOUT": "/nonexistent/tree.csv"}, "cannot read layout file"),
        (["--record", "/nonexistent/frames.jsonl"], {}, "cannot write /nonexistent/frames.jsonl"),
    ],
)
def test_bad_arguments_and_settings_are_clear_errors(
    args: list[str], env: dict[str, str], message: str
) -> None:
    done = run_cli(str(PROGRAMS / "seed.py"), *args, "--json", env=env)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_runner_settings_come_from_the_environment(tmp_path: Path) -> None:
    layout = tmp_path / "tree.csv"
    layout.write_text("x,y,z\n10,20,100\n30,20,150\n20,30,300\n")
    probe = tmp_path / "probe.py"
    probe.write_text("print(getLEDCount())\nprint(getLEDPositions())\n")
    done = run_cli(str(probe), "--json", env={"TREE_LED_COUNT": "3", "TREE_LAYOUT": str(layout)})
    assert done.returncode == 0, done.stderr
    count, positions = json.loads(done.stdout)["log"].splitlines()
    assert count == "3"
    assert positions == "[(-1.0, -0.5, 0.0), (1.0, -0.5, 0.25), (0.0, 0.5, 1.0)]"
    # --leds wins over TREE_LED_COUNT.
    wider = run_cli(str(probe), "--leds", "4", "--json", env={"TREE_LED_COUNT": "3"})
    assert json.loads(wider.stdout)["log"].startswith("4\n")
    timed = run_cli(str(PROGRAMS / "endless_frames.py"), "--json", env={"TREE_TIME_LIMIT": "0.5"})
    assert timed.returncode == 0, timed.stderr
    assert json.loads(timed.stdout)["reason"] == "time_limit"


def test_fps_zero_turns_pacing_off(tmp_path: Path) -> None:
    # 2000 frames take 50 s at the default 40 fps: only unpaced do they end within the limit.
    many = tmp_path / "many.py"
    many.write_text("for i in range(2000):\n    setLEDs([RED] * getLEDCount())\n")
    done = run_cli(str(many), "--leds", "5", "--time-limit", "20", "--json", env={"TREE_FPS": "0"})
    out = json.loads(done.stdout)
    assert (out["status"], out["reason"], out["frames"]) == ("completed", "ended", 2000)


def test_json_reports_the_power_budget_and_the_flag_turns_it_off() -> None:
    args = (str(PROGRAMS / "all_white.py"), "--leds", "500", "--time-limit", "1", "--json")
    budget = {"TREE_MAX_CURRENT_MA": "5000"}
    scaled = json.loads(run_cli(*args, env=budget).stdout)
    assert scaled["frames_scaled"] == scaled["frames"] > 0
    assert 0.1 < scaled["power_scale_min"] < 0.2 and scaled["frames_damped"] == 0
    unscaled = json.loads(run_cli(*args, "--no-power-limit", env=budget).stdout)
    assert (unscaled["frames_scaled"], unscaled["power_scale_min"]) == (0, 1.0)


def test_the_flash_limiter_is_reported_in_words_and_json_and_the_flag_turns_it_off() -> None:
    args = (str(PROGRAMS / "strobe_white.py"), "--time-limit", "2")
    damped = run_cli(*args)
    assert damped.returncode == 0, damped.stderr
    assert "flash limiter: " in damped.stderr and "frame(s) damped" in damped.stderr
    assert json.loads(run_cli(*args, "--json").stdout)["frames_damped"] > 0
    free = run_cli(*args, "--no-flash-limit", "--json")
    assert json.loads(free.stdout)["frames_damped"] == 0
