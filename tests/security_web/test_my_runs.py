"""Nobody's "My runs" may stall the single worker into a restart that runs a program twice.

``Store.of_user`` reads every stored state of the caller, and for each one ``Store.find`` globs
the whole uploads/ folder again: quadratic in the caller's stored submissions, all of it
blocking file I/O in the one gevent worker (nothing else is served meanwhile). Submissions
cancelled before they ran cost nothing against the limits (test_disk.py), so a client can store
thousands. Measured on the code this was written against, over the real stack: 330 stored
submissions, ``GET /api/submissions`` 1.0 s; 575, 3.2 s. Past gunicorn's 30 s ``timeout`` the
arbiter kills the worker: the in-memory queue is rebuilt from disk, the program on the tree is
put back as pending and runs again from the start, every live view drops.

The test stores 4,000 cancelled submissions of one cookie-less client (as the submit-and-cancel
loop would leave them), then, while someone else's program is on the tree, that client opens
its own runs once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.security_web.conftest import SECRET, Client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STORED = 4000
ATTACKER_IP, ATTACKER_UA = "127.0.0.2", "filler/1.0"
LONG = "import time\nwhile True:\n    setLEDs([GREEN] * getLEDCount())\n    time.sleep(0.1)\n"


def fingerprint(ip: str, user_agent: str) -> str:
    """The id web gives a cookie-less client (``web.identity.fingerprint``) for our secret."""
    digest = hmac.new(SECRET.encode(), f"user\n{ip}\n{user_agent}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def store_cancelled(uploads: Path, user_id: str, count: int) -> None:
    """What ``count`` rounds of submit-and-cancel leave in uploads/ (same files, same format)."""
    now = datetime.now(UTC).isoformat()
    for seq in range(1, count + 1):
        sid = uuid.uuid4().hex
        stem = f"{user_id}_{sid}"
        (uploads / f"{stem}.py").write_text("setLEDs([RED] * getLEDCount())\n")
        state = {
            "id": sid, "timestamp": now, "user_id": user_id, "ip_id": "", "language": "python",
            "name": None, "title": None, "status": "cancelled", "reason": "author",
            "error": None, "started_at": None, "finished_at": now, "duration_s": None,
            "frames": 0, "log": "", "frames_scaled": 0, "power_scale_min": 1.0,
            "frames_damped": 0, "recorded_frames": 0, "predicted_s": None,
            "predicted_error": None, "predicted_error_line": None, "seq": seq,
        }  # fmt: skip
        (uploads / f"{stem}.json").write_text(json.dumps(state))


def test_opening_my_runs_cant_restart_someone_elses_program(start_stack: Any) -> None:
    stack = start_stack(TREE_TIME_LIMIT="300", TREE_FPS="10")
    store_cancelled(stack.uploads, fingerprint(ATTACKER_IP, ATTACKER_UA), STORED)

    victim = Client(stack.url, "127.0.0.3", "Victim/1.0")
    answer = victim.request("POST", "/api/submissions", {"source": LONG, "title": "long show"})
    assert answer.status == 201, answer.body
    sid = answer.json()["id"]
    deadline = time.monotonic() + 60
    started_at = None
    while time.monotonic() < deadline:
        sub = victim.request("GET", f"/api/submissions/{sid}").json()
        if sub["status"] == "running":
            started_at = sub["started_at"]
            break
        time.sleep(0.2)
    assert started_at is not None, "the victim's program never started"

    attacker = Client(stack.url, ATTACKER_IP, ATTACKER_UA)
    # Whatever the attacker gets back; what matters is the victim's run.
    with contextlib.suppress(TimeoutError, ConnectionError):
        attacker.request("GET", "/api/submissions", timeout=240)

    deadline = time.monotonic() + 60
    sub = None
    while time.monotonic() < deadline:
        try:
            sub = victim.request("GET", f"/api/submissions/{sid}", timeout=10).json()
            break
        except (TimeoutError, ConnectionError, ValueError):
            time.sleep(0.5)
    assert sub is not None, "web did not answer for a minute after the attacker's request"
    assert sub["status"] == "running" and sub["started_at"] == started_at, (
        "someone else opening their runs restarted the program on the tree: it was started at "
        f"{started_at}, now it is {sub['status']} (started at {sub['started_at']})"
    )
