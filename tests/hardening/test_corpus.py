"""Every hostile program in tests/corpus ends as its header says, and nothing gets out.

Each program goes through what web does with a submission: the runner's ``check_source`` first
(``rejected`` ends it there), then the REAL ``Supervisor`` with a fresh locked-down child, on a
``VirtualStrip``, with tiny limits. After each one the canaries are checked (no file created in a
world-writable directory, no connection to a listening port, the runner's secret env var in no
output, no ``ESCAPED`` printed), every frame the strip showed is valid, and the result fits the
protocol. The same Supervisor then runs an ordinary program correctly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest

from protocol.messages import Frame, Message
from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.sandbox.policy import check_source
from runner.supervise.supervisor import Supervisor

if TYPE_CHECKING:
    from conftest import Canaries, CorpusProgram

LEDS = 10
LOG_LIMIT = 4096


@pytest.fixture(scope="module")
def strip() -> Iterator[VirtualStrip]:
    """The virtual tree every corpus program runs on."""
    with VirtualStrip(LEDS) as s:
        yield s


@pytest.fixture(scope="module")
def supervisor(strip: VirtualStrip, tmp_path_factory: pytest.TempPathFactory) -> Supervisor:
    """One Supervisor for the whole corpus, with limits small enough to keep the suite fast."""
    config = RunnerConfig(
        socket_path=str(tmp_path_factory.mktemp("sock") / "runner.sock"),
        led_count=LEDS,
        fps=100.0,
        time_limit_s=2.0,
        cpu_limit_s=1,
        memory_limit_bytes=256 * 1024 * 1024,
        log_limit_bytes=LOG_LIMIT,
    )
    return Supervisor(config, strip, spiral_cone(LEDS))


def test_corpus_is_big_enough(corpus: list[CorpusProgram]) -> None:
    assert len(corpus) >= 60
    for program in corpus:
        assert program.tries and program.expects, program.name
        assert set(program.canaries) <= {"file", "socket", "env"}, program.name
        text = program.path.read_text(encoding="utf-8")
        placeholder = {
            "file": "@@CANARY_FILE@@",
            "socket": "@@CANARY_PORT@@",
            "env": "@@SECRET_NAME@@",
        }
        for canary in program.canaries:
            assert placeholder[canary] in text, (
                f"{program.name} does not aim at its {canary} canary"
            )


@pytest.mark.slow
def test_hostile_program(
    corpus_program: CorpusProgram, supervisor: Supervisor, strip: VirtualStrip, canaries: Canaries
) -> None:
    program = corpus_program
    source = canaries.prepare(program)
    texts: list[str] = []
    events: list[Message] = []
    errors = check_source(source)
    if errors:
        outcome = "rejected"
        texts += [e.message for e in errors]
        assert all(e.line is None or e.line >= 1 for e in errors)
    else:
        strip.clear_history()
        result = supervisor.run(program.name, source, program.time_limit_s, events.append)
        outcome = f"{result.status} {result.reason}"
        texts.append(result.log)
        texts += [e.text for e in events if e.kind == "log"]
        if result.error is not None:
            texts.append(result.error.message)
        result.to_message(program.name)  # the result must fit the protocol (bounded sizes)
        # The cap note may follow the capped text, so allow a little over the limit.
        assert len(result.log.encode()) <= LOG_LIMIT + 512, "log not capped"
        for shown in strip.frames:
            assert frame_problems(shown.leds, LEDS) is None, frame_problems(shown.leds, LEDS)
        for event in events:
            if isinstance(event, Frame):
                assert frame_problems(event.leds, LEDS) is None
    tripped = canaries.tripped(program.name, texts)
    assert not tripped, f"{program.name} ({program.tries}) GOT THROUGH: {tripped}"
    assert outcome in program.expects, (
        f"{program.name}: expected {' | '.join(program.expects)}, got {outcome}"
        + (f" ({texts[-1][:300]!r})" if texts else "")
    )


def test_ordinary_program_still_runs_after_the_corpus(
    supervisor: Supervisor, strip: VirtualStrip
) -> None:
    source = (
        "import math\n"
        "n = getLEDCount()\n"
        "for step in range(3):\n"
        "    setLEDs([[0, 0, 255, 100] for _ in range(n)])\n"
        "print('done', n, round(math.pi, 2))\n"
        "setLEDs([BLUE] * n)\n"
    )
    assert check_source(source) == []
    strip.clear_history()
    result = supervisor.run("ordinary", source, 5.0)
    assert (result.status, result.reason, result.error) == ("completed", "ended", None)
    assert result.frames == 4
    assert "done 10 3.14" in result.log
    assert strip.current == ((0, 0, 255, 100),) * LEDS


def frame_problems(leds: Sequence[Sequence[object]], led_count: int) -> str | None:
    """Why a frame that reached the LEDs is invalid, or None when it is valid."""
    if len(leds) != led_count:
        return f"{len(leds)} LEDs instead of {led_count}"
    for i, led in enumerate(leds):
        if len(led) != 4 or any(type(v) is not int for v in led):
            return f"LED {i}: {led!r} is not four plain ints"
        r, g, b, brightness = led  # type: ignore[misc]
        if not all(0 <= v <= 255 for v in (r, g, b)) or not 0 <= brightness <= 100:  # type: ignore[operator]
            return f"LED {i}: {led!r} out of range"
    return None
