"""LED devices per backend: compose.yaml is SPI; the override files are the other backends."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import ROOT, tool

OVERRIDES = ["compose.ws281x.yaml", "compose.gpiozero.yaml", "compose.virtual.yaml"]


class _ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's merge tags: ``!override`` (replace a list) and ``!reset`` (clear it)."""


def _tagged(tag: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.SequenceNode):
            return {tag: loader.construct_sequence(node)}
        return {tag: loader.construct_mapping(node)}  # type: ignore[arg-type]

    return construct


_ComposeLoader.add_constructor("!override", _tagged("!override"))
_ComposeLoader.add_constructor("!reset", _tagged("!reset"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load((ROOT / name).read_text(), Loader=_ComposeLoader)  # noqa: S506
    return data


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in {"!override", "!reset"}:
            return _untagged(next(iter(value.values())))
        return {k: _untagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value


@pytest.mark.parametrize("name", OVERRIDES)
def test_override_matches_the_compose_spec(name: str, tmp_path: Path) -> None:
    plain = tmp_path / f"{name}.json"
    plain.write_text(json.dumps(_untagged(load(name))))
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(plain)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", OVERRIDES)
def test_override_touches_only_the_runner(name: str) -> None:
    assert set(load(name)["services"]) == {"runner"}


def test_ws281x_override_replaces_the_devices_and_adds_what_pwm_needs() -> None:
    runner = load("compose.ws281x.yaml")["services"]["runner"]
    assert runner["devices"] == {"!override": ["/dev/mem:/dev/mem", "/dev/vcio:/dev/vcio"]}
    assert runner["cap_add"] == ["SYS_RAWIO"]
    assert runner["security_opt"] == ["systempaths=unconfined"]
    assert runner["environment"]["TREE_LED_BACKEND"] == "ws281x"


def test_gpiozero_override_maps_only_gpiomem() -> None:
    runner = load("compose.gpiozero.yaml")["services"]["runner"]
    assert runner["devices"] == {"!override": ["/dev/gpiomem:/dev/gpiomem"]}
    assert "cap_add" not in runner and "security_opt" not in runner
    assert runner["environment"]["TREE_LED_BACKEND"] == "gpiozero"


def test_virtual_override_maps_no_device() -> None:
    runner = load("compose.virtual.yaml")["services"]["runner"]
    assert runner["devices"] == {"!reset": []}
    assert "cap_add" not in runner
    assert runner["environment"]["TREE_LED_BACKEND"] == "virtual"


def test_compose_yaml_names_each_override_file() -> None:
    head = (ROOT / "compose.yaml").read_text().split("\nname:")[0]
    for name in OVERRIDES:
        assert f"COMPOSE_FILE=compose.yaml:{name}" in head
