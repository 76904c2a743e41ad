"""Fixtures for the web tests: an app on a temp uploads folder, its client, and helpers.

``runner`` is a small in-memory implementation of our own ``RunnerLink`` interface (the one
``RunnerClient`` implements over the socket) that records what the scheduler asked for; tests
feed runner events to the scheduler as protocol messages. The real socket client is tested
against a real Unix socket, and the real runner in ``tests/e2e``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import PreviewResult, ProgramError, Welcome
from protocol.preview_codec import encode_frames
from web import create_app
from web.runner_client import RunnerBusy, RunnerUnavailable
from web.scheduler import Scheduler

LEDS = 10


class InMemoryRunner:
    """A ``RunnerLink`` that records requests; ``verdict`` is what ``check`` answers."""

    def __init__(self) -> None:
        self.online = True
        self.verdict: list[ProgramError] | None = []
        self.checked: list[str] = []
        self.runs: list[tuple[str, str, float]] = []
        self.stops: list[tuple[str | None, str]] = []
        self.frames: list[list[list[int]]] = []
        self.frame_ids: list[str | None] = []
        # One entry per ReleaseFrame: how many frames had been set when it came (its place).
        self.releases: list[int] = []
        # What ``preview`` answers: a result, "busy", or None (no answer in time).
        self.preview_answer: PreviewResult | str | None = dry_run()
        self.previewed: list[tuple[str, float | None]] = []

    def _require_online(self) -> None:
        if not self.online:
            raise RunnerUnavailable("the tree is offline")

    def check(self, source: str, timeout: float = 2.0) -> list[ProgramError] | None:
        """Record the source and answer the configured verdict."""
        self.checked.append(source)
        return self.verdict if self.online else None

    def preview(
        self, source: str, time_limit_s: float | None = None, timeout: float = 30.0
    ) -> PreviewResult | None:
        """Record the dry run asked for and give the configured answer."""
        self._require_online()
        self.previewed.append((source, time_limit_s))
        if self.preview_answer == "busy":
            raise RunnerBusy("all 1 dry-run slots are busy")
        assert not isinstance(self.preview_answer, str)
        return self.preview_answer

    def run(self, submission_id: str, source: str, time_limit_s: float) -> None:
        """Record a run request."""
        self._require_online()
        self.runs.append((submission_id, source, time_limit_s))

    def stop(self, submission_id: str | None = None, reason: str = "operator") -> None:
        """Record a stop request."""
        self._require_online()
        self.stops.append((submission_id, reason))

    def set_frame(self, leds: list[list[int]], request_id: str | None = None) -> None:
        """Record a frame (and the id a refusal of it would carry)."""
        self._require_online()
        self.frames.append(leds)
        self.frame_ids.append(request_id)

    def release_frame(self) -> None:
        """Record a release of the frame set last."""
        self._require_online()
        self.releases.append(len(self.frames))


def dry_run(
    color: tuple[int, int, int, int] = (255, 0, 0, 100),
    *,
    duration_s: float = 2.0,
    status: str = "completed",
    reason: str = "ended",
    error: ProgramError | None = None,
    interval_s: float = 0.04,
    leds: int = LEDS,
) -> PreviewResult:
    """A runner's dry-run answer: every sampled frame all ``color`` for ``duration_s``."""
    count = round(duration_s / interval_s)
    frame = bytes(color) * leds
    return PreviewResult(
        request_id="x", status=status, reason=reason, error=error,  # type: ignore[arg-type]
        duration_s=duration_s, frames=count, fps=1 / interval_s, hits_time_limit=False,
        led_count=leds, frame_interval_s=interval_s, frame_count=count,
        frames_data=encode_frames([frame] * count),
    )  # fmt: skip


def welcome(busy_with: str | None = None, leds: int = LEDS) -> Welcome:
    """A runner handshake answer for a small tree."""
    positions = [(0.0, 0.0, i / leds) for i in range(leds)]
    return Welcome(
        version=1, led_count=leds, positions=positions, fps=40.0, backend="virtual",
        busy_with=busy_with,
    )  # fmt: skip


class Editor:
    """What a person at the editor does, through the JSON API (like flaskr's AuthActions)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def submit(self, source: str, **fields: Any) -> Any:
        """POST the program as JSON."""
        return self.client.post("/api/submissions", json={"source": source, **fields})

    def upload(self, data: bytes, filename: str = "tree.py", **fields: str) -> Any:
        """POST the program as a multipart upload."""
        form: dict[str, Any] = {"file": (io.BytesIO(data), filename), **fields}
        return self.client.post("/api/submissions", data=form, content_type="multipart/form-data")


def make_app(tmp_path: Path, **config: Any) -> Flask:
    """An app on its own uploads folder with its threads not started."""
    settings = {
        "TESTING": True,
        "UPLOADS": str(tmp_path / "uploads"),
        "SECRET_KEY": "test-secret",
        "SOCKET": str(tmp_path / "no-runner.sock"),
        "TIME_LIMIT": 45.0,
        **config,
    }
    return create_app(settings)


def browser(app: Flask, ip: str, user_agent: str) -> FlaskClient:
    """A test client for a given client IP and User-Agent."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent)
    return client


@pytest.fixture
def make_browser(app: Flask) -> Any:
    """Build more clients: ``make_browser(ip, user_agent)``."""
    return lambda ip, ua: browser(app, ip, ua)


@pytest.fixture(name="make_app")
def make_app_fixture() -> Any:
    """Build another app: ``make_app(tmp_path, **config)``."""
    return make_app


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The app with the runner offline."""
    return make_app(tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser that has opened a page, so it holds its identity cookie."""
    client = app.test_client()
    assert client.get("/docs").status_code == 200
    return client


@pytest.fixture
def other_client(app: Flask) -> FlaskClient:
    """Someone else: another IP address and browser."""
    return browser(app, "10.0.0.99", "OtherBrowser/1.0")


@pytest.fixture
def editor(client: FlaskClient) -> Editor:
    """The editor helper for ``client``."""
    return Editor(client)


@pytest.fixture
def scheduler(app: Flask) -> Scheduler:
    """The app's scheduler."""
    return app.extensions["scheduler"]  # type: ignore[no-any-return]


@pytest.fixture
def welcome_for() -> Any:
    """Build a runner handshake answer: ``welcome_for(busy_with=None, leds=10)``."""
    return welcome


@pytest.fixture
def runner(app: Flask, scheduler: Scheduler) -> InMemoryRunner:
    """Connect an in-memory runner link to the app and say hello."""
    link = InMemoryRunner()
    scheduler.runner = link
    app.extensions["runner_client"] = link
    scheduler.events.on_runner_online(welcome())
    return link


@pytest.fixture(autouse=True)
def _no_leaks(leak_detector: None) -> None:
    """Every test here runs under the root conftest's leak detector."""
