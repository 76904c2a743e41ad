"""Shared helpers for the deployment tests: the parsed compose file, tools, free ports, waiting."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Values that exist only inside the images: on this machine the plain processes use the defaults.
IMAGE_ONLY_SETTINGS = ("TREE_SOCKET_GROUP", "TREE_CHILD_USER")


def tool(name: str) -> str:
    """Path of a command-line tool from the virtualenv (or PATH); a missing tool fails the test."""
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    assert path, f"{name} is not installed: run `make test` (it installs the test extras)"
    return path


def interpolate(value: str, environ: dict[str, str] | None = None) -> str:
    """Resolve compose's ``${VAR:-default}`` / ``${VAR}`` the way ``docker compose`` does."""
    env = environ or {}

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3) or ""
        return env.get(name) or default

    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", one, value)


def compose_env(service: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """A service's compose environment, interpolated, with this machine's overrides on top."""
    # TREE_SANDBOX_DEV is the root conftest's word for this machine (a non-root account is a
    # development machine, where the runner may not refuse to start); compose never passes it.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TREE_") or k == "TREE_SANDBOX_DEV"
    }
    for key, value in (service.get("environment") or {}).items():
        if value is not None and key not in IMAGE_ONLY_SETTINGS:
            env[key] = interpolate(str(value))
    env.update(overrides)
    return env


def local_argv(argv: list[str]) -> list[str]:
    """A container command made runnable here: its programs taken from this virtualenv."""
    head = sys.executable if argv[0] == "python" else tool(argv[0])
    return [head, *argv[1:]]


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, timeout: float = 2.0) -> Any:
    """GET a URL and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after the timeout.

    The timeout is a generous upper bound for a loaded machine, not a speed assertion.
    """
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except Exception as exc:  # any failure just means "not yet"
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


def stop_process(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    """Stop a test's process group and reap it, whatever state it is in."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """compose.yaml, parsed."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start processes in their own groups, output to files under tmp_path; stopped afterwards."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        out = (tmp_path / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        procs.append(proc)
        return proc

    yield start
    for proc in reversed(procs):
        stop_process(proc)
