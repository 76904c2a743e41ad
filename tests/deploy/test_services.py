"""The exact commands compose runs, started here as plain processes on a socket in a tmp dir."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import (
    ROOT,
    compose_env,
    free_port,
    get_json,
    local_argv,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

Spawn = Callable[..., subprocess.Popen[bytes]]


def _envs(compose: dict[str, Any], tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    socket = str(tmp_path / "sock" / "runner.sock")
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    shared = {"TREE_SOCKET": socket, "TREE_LED_BACKEND": "virtual", "TREE_LED_COUNT": "30"}
    runner = compose_env(compose["services"]["runner"], shared)
    web = compose_env(
        compose["services"]["web"],
        {
            **shared,
            "TREE_PORT": str(free_port()),
            "TREE_BIND": "127.0.0.1",
            "TREE_UPLOADS": str(uploads),
        },
    )
    return runner, web


def _health(compose: dict[str, Any], name: str, env: dict[str, str]) -> int:
    argv = local_argv(compose["services"][name]["healthcheck"]["test"][1:])
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=30).returncode


def test_web_and_runner_work_together(
    compose: dict[str, Any], tmp_path: Path, spawn: Spawn
) -> None:
    runner_env, web_env = _envs(compose, tmp_path)
    spawn("runner", local_argv(compose["services"]["runner"]["command"]), runner_env)
    spawn("web", local_argv(compose["services"]["web"]["command"]), web_env)
    url = f"http://127.0.0.1:{web_env['TREE_PORT']}/healthz"

    wait_for("the runner's socket", lambda: Path(runner_env["TREE_SOCKET"]).exists())
    mode = stat.S_IMODE(os.stat(runner_env["TREE_SOCKET"]).st_mode)
    assert mode == int(runner_env["TREE_SOCKET_MODE"], 8) == 0o660
    health = wait_for("web to see the runner", lambda: get_json(url).get("runner_online"))
    assert health is True
    assert _health(compose, "runner", runner_env) == 0
    assert _health(compose, "web", web_env) == 0


def test_health_checks_fail_when_nothing_runs(compose: dict[str, Any], tmp_path: Path) -> None:
    runner_env, web_env = _envs(compose, tmp_path)
    assert _health(compose, "runner", runner_env) == 1
    assert _health(compose, "web", web_env) != 0


def test_web_says_tree_offline_without_the_runner(
    compose: dict[str, Any], tmp_path: Path, spawn: Spawn
) -> None:
    _, web_env = _envs(compose, tmp_path)
    spawn("web", local_argv(compose["services"]["web"]["command"]), web_env)
    url = f"http://127.0.0.1:{web_env['TREE_PORT']}/healthz"
    health = wait_for("web to answer", lambda: get_json(url))
    assert health["runner_online"] is False
    assert _health(compose, "web", web_env) == 0


def test_runner_health_check_fails_on_a_silent_peer(tmp_path: Path) -> None:
    path = str(tmp_path / "silent.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
        thread.start()
        result = subprocess.run(
            [sys.executable, "-m", "runner", "health", "--socket", path, "--timeout", "0.5"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        thread.join(5)
        for conn in accepted:
            conn.close()
    assert result.returncode == 1
    assert "runner unhealthy" in result.stderr
