"""The real stack: both images built, compose.yaml running (scripts/container_check.py).

One stack for test_stack.py (building it takes minutes), down before the next module runs.
Root only; under ``CI=true`` that is required, elsewhere ``LEDTREE_CONTAINERS=1`` asks for it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.deploy.conftest import ROOT, free_port

SCRIPT = ROOT / "scripts" / "container_check.py"
ADMIN_TOKEN = secrets.token_hex(16)
# Written to .env as a Pi owner would: each one must arrive in the container(s) that use it.
# Values differ from the defaults where that is harmless, so arrival cannot be a coincidence.
ENV_SETTINGS = {
    "TREE_PORT": str(free_port()),
    "TREE_BIND": "0.0.0.0",
    "TREE_LED_COUNT": "30",
    "TREE_FPS": "30",
    "TREE_VIEW_FPS": "20",
    "TREE_TIME_LIMIT": "40",
    "TREE_CPU_LIMIT": "44",
    "TREE_MEMORY_LIMIT": "300000000",
    "TREE_LOG_LIMIT": "100",
    "TREE_ADMIN_TOKEN": ADMIN_TOKEN,
    "TREE_MAX_PENDING_PER_USER": "4",
    "TREE_MAX_PENDING_PER_IP": "21",
    "TREE_RATE_PER_USER": "11/10 minutes",
    "TREE_RATE_PER_IP": "61/10 minutes",
    "TREE_TRUSTED_PROXIES": "0",
    "TREE_CHECK_TIMEOUT": "3",
    "TREE_KEEP_FINISHED": "400",
    "TREE_SHOW_LOGS_TO": "author",
    "TREE_PUBLIC_URL": "http://tree.example.org/",
    "TREE_MAX_CURRENT_MA": "9000",
    "TREE_LED_MA_PER_CHANNEL": "20",
    "TREE_LED_IDLE_MA": "1",
    "TREE_FLASH_LIMIT": "on",
    "TREE_WORKER_CONNECTIONS": "500",
    "TREE_LOG_LEVEL": "info",
    "TREE_ACCESS_LOG": "-",
    "TREE_SPI_BUS": "0",
    "TREE_SPI_DEVICE": "1",
    "TREE_SPI_HZ": "6400000",
    "TREE_WS281X_PIN": "12",
    "TREE_WS281X_DMA": "5",
    "TREE_WS281X_CHANNEL": "0",
    "TREE_WS281X_FREQ_HZ": "400000",
    "TREE_WS281X_INVERT": "true",
    "TREE_WS281X_STRIP_TYPE": "RGB",
    "TREE_WS281X_GAMMA": "2.0",
    "TREE_GPIOZERO_PINS": "5,6,13",
    "TREE_WEB_UID": "1000",
}


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def load_script() -> ModuleType:
    """scripts/container_check.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("container_check", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Stack:
    """The running stack: HTTP on the published port, podman and compose for the rest."""

    def __init__(self, script: ModuleType, project: Path) -> None:
        self.script = script
        self.project = project
        self.url = f"http://127.0.0.1:{ENV_SETTINGS['TREE_PORT']}"
        self.http = requests.Session()  # one visitor: its cookie is its identity

    def podman(self, *args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        """A podman command against the stack's storage."""
        result = subprocess.run(
            ["podman", *args], env=self.script.podman_env(), capture_output=True, text=True, **kw
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def compose(self, *args: str) -> str:
        """`docker compose ARGS` in the project copy."""
        return str(self.script.compose(self.project, *args).stdout)

    def container(self, service: str) -> str:
        """The container name compose gave the service."""
        return f"ledtree-{service}-1"

    def exec(self, service: str, *argv: str, user: str | None = None, stdin: str = "") -> Any:
        """Run a command inside a service's container; returns the completed process."""
        who = ["--user", user] if user else []
        return self.podman(
            "exec", "-i", *who, self.container(service), *argv, check=False, input=stdin
        )

    def env(self, service: str) -> dict[str, str]:
        """The environment the service's main process was started with."""
        out = self.podman("inspect", "--format", "{{json .Config.Env}}", self.container(service))
        return dict(item.split("=", 1) for item in json.loads(out.stdout))

    def logs(self, service: str) -> str:
        """Everything the service wrote to stdout/stderr."""
        result = self.podman("logs", self.container(service))
        return result.stdout + result.stderr

    def health(self) -> dict[str, Any]:
        return self.http.get(f"{self.url}/healthz", timeout=5).json()  # type: ignore[no-any-return]

    def wait(self, what: str, probe: Any, timeout_s: float = 90.0) -> Any:
        """Poll until ``probe`` is truthy (a hang guard, not a speed assertion)."""
        deadline = time.monotonic() + timeout_s
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = probe()
            except (requests.RequestException, ValueError, KeyError) as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(0.3)
        pytest.fail(f"timed out waiting for {what} (last: {last!r})")

    def submit(self, source: str) -> str:
        resp = self.http.post(f"{self.url}/api/submissions", json={"source": source}, timeout=15)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    def finished(self, sid: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            sub = self.http.get(f"{self.url}/api/submissions/{sid}", timeout=5).json()
            return sub if sub["status"] not in {"pending", "running"} else None

        return self.wait(f"submission {sid} to finish", done)  # type: ignore[no-any-return]


def require_root_and_ci() -> None:
    """Skip (a failure under CI) unless root, and under CI or when asked for."""
    if os.geteuid() != 0:
        pytest.skip("needs root: podman builds the images and runs the stack as root")
    if not (_ci() or os.environ.get("LEDTREE_CONTAINERS") == "1"):
        pytest.skip("needs CI=true or LEDTREE_CONTAINERS=1: builds both images (minutes)")


@pytest.fixture(scope="module")
def tools() -> ModuleType:
    """podman, runc, debootstrap and Docker Compose v2 installed; the script as a module."""
    require_root_and_ci()
    script = load_script()
    script.CACHE.mkdir(parents=True, exist_ok=True)
    script.install_tools()
    return script


@pytest.fixture(scope="module")
def stack(pytestconfig: pytest.Config) -> Iterator[Stack]:
    """Build both images and start compose.yaml + compose.virtual.yaml; torn down afterwards."""
    require_root_and_ci()
    script = load_script()
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    try:
        state = script.up(ENV_SETTINGS)
        stack = Stack(script, Path(state["project"]))
        stack.wait("web to see the runner", lambda: stack.health()["runner_online"])
        capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:  # shown even without -s
            with capture.global_and_fixture_disabled():
                reporter.write_line("")
                for name, took in script.TIMINGS:
                    reporter.write_line(f"container check: {name}: {took:.1f} s")
        yield stack
    finally:
        script.down()
