"""Fixtures shared by the runner tests: tiny-limit settings, a virtual tree and a Supervisor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

# The test modules using these fixtures size their expected frames with the same count.
LEDS = 10

MakeConfig = Callable[..., RunnerConfig]


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """Build settings with tiny limits so hostile programs end fast; keywords override them."""

    def make(**overrides: object) -> RunnerConfig:
        values: dict[str, object] = {
            "socket_path": str(tmp_path / "runner.sock"),
            "led_count": LEDS,
            "fps": 0.0,
            "time_limit_s": 1.5,
            "cpu_limit_s": 1,
            "memory_limit_bytes": 256 * 1024 * 1024,
            "log_limit_bytes": 2048,
            "view_fps": 0.0,
        }
        values.update(overrides)
        return RunnerConfig(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def strip() -> Iterator[VirtualStrip]:
    """A virtual tree of LEDS lights, closed after the test."""
    with VirtualStrip(LEDS) as s:
        yield s


@pytest.fixture
def supervisor(make_config: MakeConfig, strip: VirtualStrip) -> Iterator[Supervisor]:
    """A Supervisor on the virtual tree with the default tiny limits."""
    with Supervisor(make_config(), strip, spiral_cone(LEDS)) as sup:
        yield sup
