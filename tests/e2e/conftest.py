"""End-to-end fixtures: the REAL runner (``python -m runner``, virtual tree) and REAL gunicorn.

Both run as child processes on a temp socket and a free port; every fixture stops what it
started, and the autouse leak detector fails a test that leaves a child process behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 30.0  # generous: the machine is shared; this guards a hang, it measures nothing
LEDS = 20


@pytest.fixture(autouse=True)
def _no_leaks(leak_detector: None) -> None:
    """Every test here runs under the root conftest's leak detector."""


DEV_SETTING = "TREE_SANDBOX_DEV"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, wait, then SIGKILL; always reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Stack:
    """A running runner + web pair."""

    socket_path: str
    uploads: Path
    port: int
    env: dict[str, str]
    logs: Path
    runner: subprocess.Popen[bytes] | None = None
    web: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_runner(self) -> None:
        """Start ``python -m runner`` and wait for its socket."""
        log = open(self.logs / "runner.log", "ab")  # noqa: SIM115 - owned by the process
        self.runner = subprocess.Popen(
            [sys.executable, "-m", "runner"], env=self.env, cwd=ROOT, stdout=log, stderr=log
        )
        log.close()
        wait_for(lambda: os.path.exists(self.socket_path), "runner socket")

    def stop_runner(self, sig: int = signal.SIGTERM) -> None:
        """Stop the runner (SIGKILL simulates a crash)."""
        assert self.runner is not None
        self.runner.send_signal(sig)
        self.runner.wait(STARTUP_S)
        if sig == signal.SIGKILL:
            Path(self.socket_path).unlink(missing_ok=True)

    def start_web(self) -> None:
        """Start gunicorn with web's config file and wait for /healthz."""
        log = open(self.logs / "web.log", "ab")  # noqa: SIM115 - owned by the process
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.web = subprocess.Popen(
            [str(gunicorn), "-c", "web/gunicorn.conf.py"],
            env=self.env, cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        wait_for(self._web_up, "gunicorn /healthz")

    def _web_up(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:  # refused, or accepted before the worker booted
            return False

    def wait_for(self, predicate: Any, what: str) -> None:
        """Poll ``predicate`` until true (a hang guard)."""
        wait_for(predicate, what)

    def health(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/healthz", timeout=5).json()  # type: ignore[no-any-return]

    def wait_online(self, online: bool = True) -> None:
        """Wait until web says the runner is (or is not) connected."""
        wait_for(lambda: self.health()["runner_online"] is online, f"runner_online={online}")

    def submit(self, source: str, session: requests.Session | None = None) -> requests.Response:
        http = session or requests
        return http.post(f"{self.url}/api/submissions", json={"source": source}, timeout=10)

    def wait_finished(self, sid: str, session: requests.Session | None = None) -> dict[str, Any]:
        """Poll the submission until it is no longer pending or running."""
        http = session or requests
        box: dict[str, Any] = {}

        def done() -> bool:
            box.update(http.get(f"{self.url}/api/submissions/{sid}", timeout=5).json())
            return box["status"] not in {"pending", "running"}

        wait_for(done, f"submission {sid} to finish")
        return box


def wait_for(predicate: Any, what: str, timeout: float = STARTUP_S) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` (a hang guard)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Runner + web on a temp socket, temp uploads and a free port; stopped afterwards."""
    sock_dir = tempfile.mkdtemp(prefix="lt-", dir="/tmp")  # short: AF_UNIX paths are <108 bytes
    socket_path = os.path.join(sock_dir, "runner.sock")
    port = free_port()
    env = {
        # TREE_SANDBOX_DEV: set by the root conftest on a non-root account (a development machine).
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TREE_") or k == "TREE_SANDBOX_DEV"
        },
        "TREE_SOCKET": socket_path,
        "TREE_LED_COUNT": str(LEDS),
        "TREE_LED_BACKEND": "virtual",
        "TREE_UPLOADS": str(tmp_path / "uploads"),
        "TREE_PORT": str(port),
        "TREE_BIND": "127.0.0.1",
        "TREE_TIME_LIMIT": "5",
        "TREE_LOG_LEVEL": "INFO",
    }
    st = Stack(socket_path, tmp_path / "uploads", port, env, tmp_path)
    try:
        yield st
    finally:
        for proc in (st.web, st.runner):
            if proc is not None:
                stop_process(proc)
        shutil.rmtree(sock_dir, ignore_errors=True)
