"""Web settings (SPEC §9): laptop defaults, overridden by ``TREE_*`` environment variables."""

from __future__ import annotations

import os
import tempfile
from typing import Any


def default_socket_path() -> str:
    """Same default as the runner's (web never imports runner): a temp-dir socket."""
    return os.path.join(tempfile.gettempdir(), "ledtree", "runner.sock")


def defaults() -> dict[str, Any]:
    """Every web setting with the value that works on a laptop."""
    return {
        "PORT": 8000,
        "SOCKET": default_socket_path(),
        "UPLOADS": "uploads",
        "TIME_LIMIT": 45.0,
        "SECRET_KEY": None,  # generated and kept under uploads/ when unset
        "ADMIN_TOKEN": None,  # operator controls only when set
        "MAX_PENDING_PER_USER": 3,
        "MAX_PENDING_PER_IP": 20,
        "RATE_PER_USER": "10/10 minutes",
        "RATE_PER_IP": "60/10 minutes",
        "TRUSTED_PROXIES": 0,
        "PUBLIC_URL": None,  # the address the kiosk shows and encodes as a QR code
        "VIEW_FPS": 25.0,  # frames per second sent to each live viewer at most
        "CHECK_TIMEOUT": 2.0,  # seconds to wait for the runner's verdict before checking here
        "START_SERVICES": True,  # scheduler + runner-client threads (off under TESTING)
        # The request limit is looser than the 64 KiB program limit so that an oversized
        # program gets our clear 413 message rather than a bare one.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
    }
