"""The override files as Docker Compose v2 itself merges them (``docker compose config``)."""

from __future__ import annotations

import json
import os
import subprocess
from types import ModuleType
from typing import Any

import pytest

from tests.containers.conftest import ROOT

pytestmark = [pytest.mark.timeout(1800)]


def _runner(tools: ModuleType, *files: str) -> dict[str, Any]:
    """The runner service compose resolves from compose.yaml plus ``files``."""
    # No .env and no TREE_LED_BACKEND from this machine: only the files decide.
    argv = [*tools.compose_cmd(), "--env-file", os.devnull, "-f", "compose.yaml"]
    for name in files:
        argv += ["-f", name]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TREE_", "COMPOSE_"))}
    result = subprocess.run(
        [*argv, "config", "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    runner: dict[str, Any] = json.loads(result.stdout)["services"]["runner"]
    return runner


def _devices(runner: dict[str, Any]) -> list[str]:
    return [d["source"] for d in runner.get("devices", [])]


def test_default_is_spi_with_only_its_device(tools: ModuleType) -> None:
    runner = _runner(tools)
    assert _devices(runner) == ["/dev/spidev0.0"]
    assert runner["environment"]["TREE_LED_BACKEND"] == "spi"
    assert "SYS_RAWIO" not in runner["cap_add"]
    assert runner["security_opt"] == ["no-new-privileges:true"]


def test_ws281x_override_swaps_the_devices_and_widens_what_pwm_needs(tools: ModuleType) -> None:
    runner = _runner(tools, "compose.ws281x.yaml")
    assert _devices(runner) == ["/dev/mem", "/dev/vcio"]
    assert runner["environment"]["TREE_LED_BACKEND"] == "ws281x"
    assert set(runner["cap_add"]) == {"SETUID", "SETGID", "KILL", "CHOWN", "SYS_RAWIO"}
    assert set(runner["security_opt"]) == {"no-new-privileges:true", "systempaths=unconfined"}


def test_gpiozero_override_maps_gpiomem_only(tools: ModuleType) -> None:
    runner = _runner(tools, "compose.gpiozero.yaml")
    assert _devices(runner) == ["/dev/gpiomem"]
    assert runner["environment"]["TREE_LED_BACKEND"] == "gpiozero"


def test_virtual_override_maps_no_device(tools: ModuleType) -> None:
    runner = _runner(tools, "compose.virtual.yaml")
    assert _devices(runner) == []
    assert runner["environment"]["TREE_LED_BACKEND"] == "virtual"
