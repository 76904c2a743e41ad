"""``scripts/run_local.py`` (``make run``): starts both, restarts the runner, stops on Ctrl-C."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.deploy.conftest import ROOT, free_port, get_json, wait_for

SCRIPT = ROOT / "scripts" / "run_local.py"
Spawn = Callable[..., subprocess.Popen[bytes]]


def _load_manager() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ledtree_run_local", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def _pids(log: Path, name: str) -> list[int]:
    return [
        int(p) for p in re.findall(rf"\[ledtree\] {name} started \(pid (\d+)\)", log.read_text())
    ]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _submit(base: str, source: str) -> str:
    req = urllib.request.Request(
        f"{base}/api/submissions",
        data=json.dumps({"source": source, "name": "deploy test"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 201
        return str(json.load(resp)["id"])


def _finished(base: str, sub: str) -> dict[str, object] | None:
    body: dict[str, object] = get_json(f"{base}/api/submissions/{sub}")
    return body if body["status"] not in ("pending", "running") else None


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_make_run_serves_restarts_the_runner_and_stops_cleanly(
    tmp_path: Path, spawn: Spawn, stop_signal: int
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TREE_")}
    env |= {
        "TREE_PORT": str(free_port()),
        "TREE_UPLOADS": str(tmp_path / "up"),
        "TREE_LED_COUNT": "12",
    }
    proc = spawn("run_local", [sys.executable, str(SCRIPT)], env)
    log = tmp_path / "run_local.log"
    base = f"http://127.0.0.1:{env['TREE_PORT']}"
    wait_for("the URL", lambda: f"running at {base}" in log.read_text())
    wait_for("the runner connection", lambda: get_json(f"{base}/healthz")["runner_online"])
    socket_path = re.search(r"socket (\S+),", log.read_text()).group(1)  # type: ignore[union-attr]
    assert socket_path.startswith(("/tmp", os.environ.get("TMPDIR", "/tmp")))

    sub = _submit(base, "setLEDs([GREEN] * getLEDCount())\n")
    result = wait_for("the program to run", lambda: _finished(base, sub))
    assert (result["status"], result["reason"], result["frames"]) == ("completed", "ended", 1)

    first_runner = _pids(log, "runner")[0]
    os.kill(first_runner, signal.SIGKILL)
    wait_for("a new runner", lambda: len(_pids(log, "runner")) == 2)
    wait_for("the runner back online", lambda: get_json(f"{base}/healthz")["runner_online"])
    web_pid, runner_pid = _pids(log, "web")[0], _pids(log, "runner")[1]

    os.killpg(proc.pid, stop_signal)  # what Ctrl-C in a terminal does: the whole process group
    assert proc.wait(30) == 0
    assert _gone(web_pid) and _gone(runner_pid)
    assert not Path(socket_path).parent.exists(), "the temporary socket directory is removed"
    assert log.read_text().rstrip().endswith("[ledtree] stopped")


def test_a_service_that_keeps_dying_is_given_up() -> None:
    run_local = _load_manager()
    service = run_local.Service("broken", [sys.executable, "-c", "raise SystemExit(3)"], os.environ)
    now = 0.0
    with pytest.raises(run_local.GiveUp, match="broken died 5 times"):
        for _ in range(100):
            service.check(now)
            if service.proc is not None:
                service.proc.wait()
            now += 1.0  # far below QUICK_DEATH_S, far above the first back-offs
    assert service.proc is None


def test_a_service_that_lived_long_restarts_without_back_off() -> None:
    run_local = _load_manager()
    service = run_local.Service("once", [sys.executable, "-c", "pass"], os.environ)
    service.check(0.0)
    assert service.proc is not None
    service.proc.wait()
    service.check(run_local.QUICK_DEATH_S + 1)
    assert service.quick_deaths == 0
    assert service.next_start == pytest.approx(run_local.QUICK_DEATH_S + 1.5)


def test_children_get_the_socket_port_and_caller_settings() -> None:
    run_local = _load_manager()
    env = run_local.build_env({"TREE_LED_COUNT": "7", "TREE_FPS": "0"}, "/tmp/x")
    assert env["TREE_SOCKET"] == "/tmp/x/runner.sock"
    assert env["TREE_PORT"] == "8000" and env["TREE_LED_BACKEND"] == "virtual"
    assert env["TREE_LED_COUNT"] == "7" and env["TREE_FPS"] == "0"
    given = run_local.build_env({"TREE_SOCKET": "/s", "TREE_PORT": "9000"}, None)
    assert given["TREE_SOCKET"] == "/s" and given["TREE_PORT"] == "9000"


def _make_is_set_up() -> bool:
    # `make -q` exits 0 when nothing needs doing: no pip or npm run would happen.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "-q", "deps", "frontend"], cwd=ROOT, env=env).returncode == 0


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.skipif(not _make_is_set_up(), reason="make run would install first: run `make test`")
def test_ctrl_c_through_make_run_stops_everything(tmp_path: Path, spawn: Spawn) -> None:
    drop = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TREE_") and k not in drop}
    env |= {"TREE_PORT": str(free_port()), "TREE_UPLOADS": str(tmp_path / "up")}
    proc = spawn("run_local", ["make", "--no-print-directory", "run"], env)
    log = tmp_path / "run_local.log"
    wait_for(
        "the URL", lambda: f"running at http://127.0.0.1:{env['TREE_PORT']}" in log.read_text()
    )
    pids = _pids(log, "web") + _pids(log, "runner")

    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(30)
    assert all(_gone(pid) for pid in pids)
    assert "[ledtree] stopped" in log.read_text()


def test_a_busy_port_is_refused_at_once_with_advice(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith("TREE_")}
        env |= {"TREE_PORT": port, "TREE_UPLOADS": str(tmp_path)}
        result = subprocess.run(
            [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stdout
    assert "TREE_PORT=" in result.stdout
