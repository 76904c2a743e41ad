"""compose.yaml: valid against the Compose specification and shaped as SPEC §7 requires."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.deploy.conftest import ROOT, local_argv, tool

SOCKET_DIR = "/run/ledtree"


def _volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[:2]
        pairs.append((source, target))
    return pairs


def test_compose_matches_the_compose_spec() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_exactly_two_services_and_the_socket_volume(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"web", "runner"}
    assert "runner-socket" in compose["volumes"]


def test_runner_has_no_network_and_no_ports(compose: dict[str, Any]) -> None:
    runner = compose["services"]["runner"]
    assert runner["network_mode"] == "none"
    assert "ports" not in runner and "expose" not in runner and "networks" not in runner


def test_runner_mounts_only_the_socket_volume(compose: dict[str, Any]) -> None:
    assert _volumes(compose["services"]["runner"]) == [("runner-socket", SOCKET_DIR)]


def test_web_publishes_the_port_and_mounts_uploads_and_socket(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    assert web["ports"] == ["${TREE_PORT:-8000}:8000"]
    assert web["environment"]["TREE_PORT"] == "8000"
    assert sorted(_volumes(web)) == sorted(
        [("./uploads", web["environment"]["TREE_UPLOADS"]), ("runner-socket", SOCKET_DIR)]
    )


def test_both_sides_agree_on_the_socket_path(compose: dict[str, Any]) -> None:
    paths = {s["environment"]["TREE_SOCKET"] for s in compose["services"].values()}
    assert paths == {f"{SOCKET_DIR}/runner.sock"}


def test_socket_is_shared_through_a_group_with_mode_0660(compose: dict[str, Any]) -> None:
    runner, web = compose["services"]["runner"], compose["services"]["web"]
    assert runner["environment"]["TREE_SOCKET_MODE"] == "0660"
    assert runner["environment"]["TREE_SOCKET_GROUP"] == "ledtree-sock"
    gid = runner["build"]["args"]["SOCKET_GID"]
    assert web["build"]["args"]["SOCKET_GID"] == gid
    assert web["group_add"] == [gid]


def test_runner_gets_only_the_spi_device_by_default(compose: dict[str, Any]) -> None:
    runner = compose["services"]["runner"]
    assert runner["devices"] == ["/dev/spidev0.0:/dev/spidev0.0"]
    assert runner["cap_drop"] == ["ALL"]
    assert set(runner["cap_add"]) == {"SETUID", "SETGID", "KILL", "CHOWN"}
    assert runner["security_opt"] == ["no-new-privileges:true"]  # no systempaths=unconfined
    assert "privileged" not in runner
    assert runner["network_mode"] == "none"
    assert runner["environment"]["TREE_LED_BACKEND"] == "${TREE_LED_BACKEND:-spi}"


def test_sandboxed_programs_run_as_an_unprivileged_user(compose: dict[str, Any]) -> None:
    runner = compose["services"]["runner"]
    assert runner["environment"]["TREE_CHILD_USER"] == "ledtree-child"
    assert int(runner["build"]["args"]["CHILD_UID"]) >= 1000


@pytest.mark.parametrize("name", ["web", "runner"])
def test_service_is_read_only_limited_and_restarts(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["read_only"] is True
    assert any(t.startswith("/tmp:") for t in service["tmpfs"])
    assert 0 < service["pids_limit"] <= 256
    assert service["mem_limit"]
    assert service["restart"] == "unless-stopped"
    assert "no-new-privileges:true" in service["security_opt"]


@pytest.mark.parametrize("name", ["web", "runner"])
def test_service_has_a_health_check(compose: dict[str, Any], name: str) -> None:
    check = compose["services"][name]["healthcheck"]
    assert check["test"][0] == "CMD"
    assert check["interval"] and check["timeout"] and check["retries"] >= 1


def test_runner_health_check_is_the_runner_ping(compose: dict[str, Any]) -> None:
    check = compose["services"]["runner"]["healthcheck"]
    assert check["test"] == ["CMD", "python", "-m", "runner", "health"]


def test_web_health_check_gets_healthz(compose: dict[str, Any]) -> None:
    assert "/healthz" in compose["services"]["web"]["healthcheck"]["test"][-1]


def test_web_runs_one_gunicorn_process_with_the_repo_config(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    command = web["command"]
    assert command[:3] == ["gunicorn", "-c", "web/gunicorn.conf.py"]
    assert not any(arg in ("-w", "--workers") or arg.startswith("--workers=") for arg in command)
    web_block = (ROOT / "compose.yaml").read_text().split("\n  web:")[1].split("\n  runner:")[0]
    why = [line for line in web_block.splitlines() if line.strip().startswith("#")]
    assert any("queue" in line for line in why), "compose.yaml must say why web is one process"


def test_gunicorn_config_resolves_to_one_worker(compose: dict[str, Any]) -> None:
    argv = local_argv(compose["services"]["web"]["command"])
    result = subprocess.run(
        [*argv[:3], "--print-config", *argv[3:]], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    settings = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" = ")
        settings[key.strip()] = value.strip()
    assert settings["workers"] == "1"


def test_runner_command_is_the_socket_server(compose: dict[str, Any]) -> None:
    assert compose["services"]["runner"]["command"] == ["python", "-m", "runner"]
