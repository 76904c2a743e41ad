"""The program's log on a pipe of its own: written as printed, read by the parent at its pace,
never lost to how the run ends, decoded as one stream wherever the pipe's reads cut it."""

from __future__ import annotations

import time
from collections.abc import Callable

from protocol.messages import Log, Message
from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer
from runner.supervise.supervisor import Supervisor

LEDS = 10
MakeConfig = Callable[..., RunnerConfig]  # the make_config fixture (conftest.py)


def test_a_line_printed_before_a_stuck_loop_reaches_viewers_at_once(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    events: list[tuple[float, Message]] = []
    source = "print('looking for the bug')\nwhile True:\n    pass\n"
    config = make_config(time_limit_s=3.0, cpu_limit_s=10)
    with Supervisor(config, strip, spiral_cone(LEDS)) as sup:
        started = time.monotonic()
        result = sup.run("t", source, on_event=lambda e: events.append((time.monotonic(), e)))
    assert (result.status, result.reason) == ("completed", "time_limit")
    assert result.log == "looking for the bug\n"
    early = "".join(e.text for at, e in events if isinstance(e, Log) and at < started + 2.0)
    assert early == "looking for the bug\n"  # while the program still ran, not at its end


def test_every_line_printed_before_the_deadline_is_kept(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    source = "for n in range(200):\n    print('step', n)\nwhile True:\n    pass\n"
    config = make_config(time_limit_s=1.0, cpu_limit_s=10, log_limit_bytes=8192)
    with Supervisor(config, strip, spiral_cone(LEDS)) as sup:
        result = sup.run("t", source)
    assert result.reason == "time_limit"
    assert result.log == "".join(f"step {n}\n" for n in range(200))


def test_lines_printed_just_before_a_crash_are_kept(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    # A deep tuple's hash overflows the C stack: SIGSEGV, no report of the child's own.
    source = (
        "for n in range(100):\n    print('step', n)\n"
        "t = ()\nfor i in range(1000000):\n    t = (t,)\nprint(hash(t))\n"
    )
    with Supervisor(make_config(cpu_limit_s=10), strip, spiral_cone(LEDS)) as sup:
        result = sup.run("t", source)
    assert (result.status, result.reason) == ("failed", "killed"), result.error
    assert result.log == "".join(f"step {n}\n" for n in range(100))


def test_characters_of_several_bytes_survive_the_pipes_reads(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    # 3,000 lines of 4-byte characters, read by the parent in chunks that end anywhere.
    source = "for n in range(3000):\n    print('🎄' * (n % 7))\n"
    expected = "".join("🎄" * (n % 7) + "\n" for n in range(3000))
    config = make_config(log_limit_bytes=60_000)
    with Supervisor(config, strip, spiral_cone(LEDS)) as sup:
        result = sup.run("t", source)
    assert result.status == "completed"
    assert result.log == expected
    predicted = Previewer(config, spiral_cone(LEDS))
    try:
        assert predicted.preview(source).log == expected
    finally:
        predicted.close()


def test_a_log_past_its_cap_is_cut_on_a_whole_character(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    source = "print('a' + '🎄' * 1000)\n"
    with Supervisor(make_config(log_limit_bytes=100), strip, spiral_cone(LEDS)) as sup:
        result = sup.run("t", source)
    kept, _, note = result.log.partition("\n")
    assert kept == "a" + "🎄" * 24  # 97 bytes: the 25th character would end past 100
    assert "limited to 100 bytes" in note


def test_a_dry_run_keeps_every_line_printed_before_it_crashed(make_config: MakeConfig) -> None:
    source = (
        "for n in range(100):\n    print('step', n)\n"
        "t = ()\nfor i in range(1000000):\n    t = (t,)\nprint(hash(t))\n"
    )
    previewer = Previewer(make_config(preview_cpu_s=5), spiral_cone(LEDS))
    try:
        report = previewer.preview(source)
    finally:
        previewer.close()
    assert (report.status, report.reason) == ("failed", "killed"), report.error
    assert report.log == "".join(f"step {n}\n" for n in range(100))
