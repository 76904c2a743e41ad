"""Browser tests: headless Chromium (Playwright) against the REAL runner and REAL gunicorn.

One session-wide stack: ``python -m runner`` (virtual backend, socket in a temp dir, 3 s time
limit) and gunicorn with ``web/gunicorn.conf.py`` on a free port, both as child processes.
Chromium must be at ``/usr/bin/chromium``: missing, it fails under ``CI=true`` and skips otherwise.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "browser-test-operator-token"
PUBLIC_URL = "http://tree.example.org:8000/"  # what the kiosk shows and encodes as a QR code
SCREENSHOTS = REPO / "artifacts" / "screenshots"
START_TIMEOUT_S = 30.0

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """The running runner + web pair and how to reach it."""

    base_url: str
    uploads: Path
    admin_token: str
    public_url: str = PUBLIC_URL

    def get_json(self, path: str) -> dict[str, object]:
        """GET a JSON document from the web server."""
        with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def submit(self, source: str, name: str = "tester", title: str | None = None) -> str:
        """Queue a program through the JSON API (as curl would) and return its id."""
        body = json.dumps({"source": source, "name": name, "title": title}).encode()
        req = urllib.request.Request(
            self.base_url + "/api/submissions",
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": "stack-helper"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as response:
            return str(json.loads(response.read())["id"])

    def admin(self, action: str) -> None:
        """POST ``/api/admin/<action>`` with the operator's token (pause, resume, stop, ...)."""
        req = urllib.request.Request(
            f"{self.base_url}/api/admin/{action}", data=b"", method="POST",
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=10) as resp:
            json.loads(resp.read())

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the queue so programs stay pending while a test looks at them."""
        self.admin("pause")
        try:
            yield
        finally:
            self.admin("resume")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until(check: object, what: str, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a server exited early ({proc.args!r}) while waiting: {what}")
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting: {what}")


def _env(root: Path) -> dict[str, str]:
    """The settings both servers read (SPEC §9), pointing at this test's temp folder."""
    uploads = root / "uploads"
    uploads.mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # Set by the root conftest on a non-root account (a development machine).
        **({"TREE_SANDBOX_DEV": "1"} if os.environ.get("TREE_SANDBOX_DEV") else {}),
        "HOME": str(root),
        "TREE_SOCKET": str(root / "runner.sock"),
        "TREE_UPLOADS": str(uploads),
        "TREE_LED_BACKEND": "virtual",
        "TREE_LED_COUNT": "60",
        "TREE_TIME_LIMIT": "3",
        "TREE_BIND": "127.0.0.1",
        "TREE_SECRET_KEY": "browser-tests-secret",
        "TREE_ADMIN_TOKEN": ADMIN_TOKEN,
        "TREE_PUBLIC_URL": PUBLIC_URL,
        # Every browser context shares one IP + User-Agent, so one user: keep its limits roomy.
        "TREE_RATE_PER_USER": "200/10 minutes",
        "TREE_RATE_PER_IP": "400/10 minutes",
        "TREE_MAX_PENDING_PER_USER": "20",
        "TREE_MAX_PENDING_PER_IP": "40",
        "TREE_PREVIEW_RATE_PER_USER": "200/10 minutes",
        "TREE_PREVIEW_RATE_PER_IP": "400/10 minutes",
    }


def _start_web(
    env: dict[str, str], log: IO[bytes], procs: list[subprocess.Popen[bytes]], online: bool
) -> str:
    """Start gunicorn on a free port (retrying if another process grabs it first); its URL."""
    for attempt in range(3):
        port = _free_port()
        command = [sys.executable, "-m", "gunicorn", "-c", "web/gunicorn.conf.py"]
        command += ["-b", f"127.0.0.1:{port}"]
        web = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
        procs.append(web)
        url = f"http://127.0.0.1:{port}"
        probe = Stack(url, Path(), "")
        try:
            _wait_until(
                lambda probe=probe: probe.get_json("/healthz").get("runner_online") is online,
                "web up (and connected to the runner)" if online else "web up",
                procs,
            )
            return url
        except RuntimeError:
            if web.poll() is None or attempt == 2:
                raise
            procs.remove(web)  # it exited: most likely the port was taken meanwhile
    raise AssertionError("unreachable")


@contextmanager
def _servers(root: Path, with_runner: bool) -> Iterator[Stack]:
    """Start (the runner and) gunicorn; stop them on exit, printing their logs on failure."""
    env = _env(root)
    logs = root / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    with open(logs / "runner.log", "wb") as rlog, open(logs / "web.log", "wb") as wlog:
        try:
            if with_runner:
                runner = [sys.executable, "-m", "runner"]
                procs.append(subprocess.Popen(runner, cwd=REPO, env=env, stdout=rlog, stderr=rlog))
                _wait_until((root / "runner.sock").exists, "runner socket", procs)
            url = _start_web(env, wlog, procs, online=with_runner)
            yield Stack(url, root / "uploads", ADMIN_TOKEN)
        except Exception:
            for name in ("runner.log", "web.log"):
                sys.stderr.write(f"--- {name}\n{(logs / name).read_text(errors='replace')}\n")
            raise
        finally:
            for proc in reversed(procs):
                _stop(proc)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real runner and gunicorn for the whole session."""
    with _servers(tmp_path_factory.mktemp("stack"), with_runner=True) as result:
        yield result


@pytest.fixture(scope="module")
def web_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """gunicorn alone: the runner is away, so the tree is offline."""
    with _servers(tmp_path_factory.mktemp("web-only"), with_runner=False) as result:
        yield result


def _open_page(browser: object, base_url: str) -> tuple[object, object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=base_url, viewport={"width": 1280, "height": 860}
    )
    return context, context.new_page()


@pytest.fixture
def page(browser: object, stack: Stack) -> Iterator[object]:
    """A fresh browser context (empty localStorage and cookies) and page on the stack."""
    context, page = _open_page(browser, stack.base_url)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))  # type: ignore[attr-defined]
    yield page
    context.close()  # type: ignore[attr-defined]
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def offline_page(browser: object, web_only: Stack) -> Iterator[object]:
    """A fresh page on a web server whose runner is away."""
    context, page = _open_page(browser, web_only.base_url)
    yield page
    context.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where tests save page screenshots (an artifact; good ones are copied to docs/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
