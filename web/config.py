"""Web settings (SPEC §9) as one frozen object, built from ``TREE_*`` environment variables.

Each field's variable is ``TREE_`` + its Flask config key (``uploads`` -> ``TREE_UPLOADS``); the
Flask key is what ``create_app``'s ``test_config`` uses. Values are parsed by the field's type,
so a token ``null`` stays the text ``null`` and a bad number stops web at start with the
setting's name instead of failing later.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from limits import parse


def default_socket_path() -> str:
    """Same default as the runner's (web never imports runner): a temp-dir socket."""
    return os.path.join(tempfile.gettempdir(), "ledtree", "runner.sock")


@dataclass(frozen=True)
class WebConfig:
    """Everything web needs to know; tests build one with ``from_environ({}, {...})``."""

    port: int = 8000
    socket: str = field(default_factory=default_socket_path)
    uploads: str = "uploads"
    time_limit: float = 45.0  # seconds per program
    secret_key: str | None = None  # generated and kept under uploads/ when unset
    admin_token: str | None = None  # operator controls only when set
    max_pending_per_user: int = 3
    max_pending_per_ip: int = 20
    rate_per_user: str = "10/10 minutes"
    rate_per_ip: str = "60/10 minutes"
    trusted_proxies: int = 0
    view_fps: float = 25.0  # frames per second sent to each live viewer at most
    check_timeout: float = 2.0  # seconds to wait for the runner's verdict before checking here
    keep_finished: int = 500  # finished submissions kept in memory; older ones are read from disk
    # Programs their authors cancelled before they ran stay in uploads/ like finished ones, but
    # only the newest this many per author and in all (cancelling first is free: red team web
    # round four, finding 4).
    cancelled_keep_per_user: int = 20
    cancelled_keep: int = 500
    public_url: str | None = None  # the address the kiosk shows and encodes as a QR code
    show_logs_to: str = "author"  # who sees a run's log and source: author | everyone
    # Dry runs (``POST /api/preview``): their own windows, apart from the submission limits.
    preview_rate_per_user: str = "30/10 minutes"
    preview_rate_per_ip: str = "120/10 minutes"
    preview_timeout: float = 30.0  # seconds to wait for the runner's dry run
    # Seconds of frames ``/api/preview`` answers with unless asked (the runner's own
    # TREE_PREVIEW_SECONDS bounds what the dry run returns at all).
    preview_answer_seconds: float = 15.0
    # The runner's TREE_PREVIEW_SLOTS, read by web too: how many dry runs web lets through at
    # once (``web.preview_gate``); the rest wait their turn, fairly, up to ``preview_wait``.
    preview_slots: int = 1
    preview_wait: float = 10.0  # seconds a preview may wait for a free slot before "busy"
    # gunicorn's TREE_WORKER_CONNECTIONS, read by web too: the per-address caps below are
    # fractions of it, so one address can never hold every connection (``web.intake``).
    worker_connections: int = 2000
    streams_per_ip: int | None = None  # live-view streams per address; unset: a quarter
    bodies_per_ip: int = 8  # request bodies one address may be sending at once
    body_timeout: float = 10.0  # seconds a request's body may take to arrive in full

    def __post_init__(self) -> None:
        _check_range("port", self.port, 0, 65535)
        _check_range("time_limit", self.time_limit, 0.001, 24 * 3600)
        _check_range("view_fps", self.view_fps, 0, 10_000)
        _check_range("check_timeout", self.check_timeout, 0, 600)
        _check_range("preview_timeout", self.preview_timeout, 0.001, 600)
        _check_range("preview_answer_seconds", self.preview_answer_seconds, 0, 24 * 3600)
        _check_range("keep_finished", self.keep_finished, 0, 10_000_000)
        _check_range("preview_slots", self.preview_slots, 0, 16)
        _check_range("preview_wait", self.preview_wait, 0, 600)
        _check_range("worker_connections", self.worker_connections, 4, 1_000_000)
        _check_range("bodies_per_ip", self.bodies_per_ip, 1, 10_000)
        _check_range("body_timeout", self.body_timeout, 0.1, 600)
        if self.streams_per_ip is not None:
            _check_range("streams_per_ip", self.streams_per_ip, 1, 1_000_000)
        for name in (
            "max_pending_per_user",
            "max_pending_per_ip",
            "trusted_proxies",
            "cancelled_keep_per_user",
            "cancelled_keep",
        ):
            _check_range(name, getattr(self, name), 0, 1_000_000)
        if self.show_logs_to not in ("author", "everyone"):
            raise ValueError(
                f"setting TREE_SHOW_LOGS_TO: {self.show_logs_to!r} is not author or everyone"
            )
        rates = ("rate_per_user", "rate_per_ip", "preview_rate_per_user", "preview_rate_per_ip")
        for name in rates:
            try:
                parse(getattr(self, name))
            except ValueError:
                raise ValueError(
                    f"setting TREE_{name.upper()}: {getattr(self, name)!r} is not a rate "
                    'such as "10/10 minutes"'
                ) from None

    @property
    def stream_cap(self) -> int:
        """Live-view streams one address may hold: ``streams_per_ip``, or a quarter of the
        connections (a lab behind one NAT address shares it)."""
        return self.streams_per_ip or max(1, self.worker_connections // 4)

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> WebConfig:
        """Build from ``TREE_*`` variables (``os.environ`` by default), then Flask-key overrides.

        Raises:
            ValueError: a setting is malformed or out of range (the message names it).
        """
        env = os.environ if environ is None else environ
        given = dict(overrides or {})
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            key = f.name.upper()
            raw: object = given[key] if key in given else env.get(f"TREE_{key}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(key, raw, str(f.type)) if isinstance(raw, str) else raw
        return cls(**values)  # type: ignore[arg-type]

    def flask_settings(self) -> dict[str, Any]:
        """The Flask config keys (``UPLOADS``, ``TIME_LIMIT``, ...) with these values."""
        return {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)}

    @staticmethod
    def setting_keys() -> frozenset[str]:
        """The Flask config keys this object owns."""
        return frozenset(f.name.upper() for f in dataclasses.fields(WebConfig))


def _check_range(name: str, value: float, low: float, high: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not (ok and low <= value <= high):
        raise ValueError(
            f"setting TREE_{name.upper()}: {value!r} is not between {low:g} and {high:g}"
        )


def _parse(key: str, raw: str, type_name: str) -> object:
    try:
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError:
        raise ValueError(f"setting TREE_{key}: {raw!r} is not a number") from None
    return raw  # text settings are taken exactly as written


def defaults() -> dict[str, Any]:
    """Every web setting with its laptop default, under its Flask key (``UPLOADS``, ...)."""
    return WebConfig().flask_settings()


# Flask settings that are not ours to tune.
FLASK_DEFAULTS: dict[str, Any] = {
    "START_SERVICES": True,  # scheduler + runner-client threads (off under TESTING)
    # The request limit is looser than the 64 KiB program limit so that an oversized
    # program gets our clear 413 message rather than a bare one.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
}
