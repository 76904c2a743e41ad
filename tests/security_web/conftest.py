"""Red-team regression tests for the exposed web container (round four).

Each test is named for what must be impossible and fails on the code it was written against.
Two kinds of fixture: Flask's test client on a temp uploads folder (``make_app``), and the real
runner plus real gunicorn (``bench/load_sim.py``'s ``Stack``) on a free port, reached over real
sockets. Several clients on one machine get different addresses by binding to different
loopback addresses (``127.0.0.2``, ``127.0.0.3``; Linux routes all of ``127/8`` to ``lo``), so
per-IP rules apply as they would in the room.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask

from web import create_app

ROOT = Path(__file__).resolve().parents[2]
SECRET = "security-web-secret"


@pytest.fixture(autouse=True)
def _no_leaks(leak_detector: None) -> None:
    """Every test here runs under the root conftest's leak detector."""


def make_app(tmp_path: Path, **config: Any) -> Flask:
    """An app on its own uploads folder, runner offline, threads not started."""
    settings = {
        "TESTING": True,
        "UPLOADS": str(tmp_path / "uploads"),
        "SECRET_KEY": SECRET,
        "SOCKET": str(tmp_path / "no-runner.sock"),
        "TIME_LIMIT": 45.0,
        **config,
    }
    return create_app(settings)


def _load_sim() -> ModuleType:
    path = ROOT / "bench" / "load_sim.py"
    spec = importlib.util.spec_from_file_location("ledtree_bench_load_sim_secweb", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Answer:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


class Client:
    """One person's machine: HTTP from its own loopback address, with its own User-Agent."""

    def __init__(self, url: str, address: str, user_agent: str) -> None:
        host, port = url.split("//", 1)[1].split(":")
        self.host, self.port = host, int(port)
        self.address, self.user_agent = address, user_agent

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        timeout: float = 60.0,
    ) -> Answer:
        """Send one request on a fresh connection (``body`` as JSON, or ``raw`` bytes)."""
        conn = http.client.HTTPConnection(
            self.host, self.port, timeout=timeout, source_address=(self.address, 0)
        )
        sent = {"User-Agent": self.user_agent, **(headers or {})}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=sent)
            resp = conn.getresponse()
            return Answer(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            conn.close()


StackFactory = Callable[..., Any]


@pytest.fixture
def start_stack() -> Iterator[StackFactory]:
    """Start the real runner and gunicorn: ``start_stack(TREE_X="1", ...)``; stopped after."""
    load_sim = _load_sim()
    started: list[tuple[Any, Path]] = []

    def start(**env: str) -> Any:
        workdir = Path(tempfile.mkdtemp(prefix="ledtree-secweb-", dir="/tmp"))
        stack = load_sim.Stack(workdir, {"TREE_SECRET_KEY": SECRET, **env})
        started.append((stack, workdir))
        return stack.start()

    yield start
    for stack, workdir in started:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def multipart(
    files: dict[str, tuple[str, bytes]], fields: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its content type."""
    boundary = "ledtree-secweb-boundary-7c1f"
    out = b""
    for key, value in (fields or {}).items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for key, (filename, data) in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; '
            f'filename="{filename}"\r\nContent-Type: text/x-python\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"
