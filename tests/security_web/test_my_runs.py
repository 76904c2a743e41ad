"""Nobody's "My runs" may stall the single worker for everyone, or into a restart.

``Store.of_user`` reads every stored state of the caller, and for each one ``Store.find`` globs
the whole uploads/ folder again: quadratic in the caller's stored submissions, all of it
blocking file I/O in the one gevent worker (nothing else is served meanwhile). Submissions
cancelled before they ran cost nothing against the limits (test_disk.py), so a client can store
thousands. Measured on the code this was written against, over the real stack: 330 stored
submissions, ``GET /api/submissions`` 1.0 s; 575, 3.2 s; 4,000: the request ran until gunicorn's
30 s ``timeout``, the arbiter killed the worker (the attacker got a 500 after 34 s), and for
that half minute nobody was served. The new worker rebuilt everything from disk: every live
view dropped, every rate window was forgotten (the attacker's too), the running program's start
time was reset. ``GET /runs`` does the same.

The test stores 4,000 cancelled submissions of one cookie-less client (what the submit-and-
cancel loop left behind before cancelled programs were capped; a long event's worth of runs
of one shared identity is as many); that client opens its own runs once, and someone else asks
for the queue meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
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
SHORT = (
    "import time\nfor _ in range(60):\n    setLEDs([GREEN] * getLEDCount())\n    time.sleep(0.1)\n"
)


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


def test_opening_my_runs_cant_stall_the_site_for_everyone(start_stack: Any) -> None:
    stack = start_stack()
    store_cancelled(stack.uploads, fingerprint(ATTACKER_IP, ATTACKER_UA), STORED)
    attacker = Client(stack.url, ATTACKER_IP, ATTACKER_UA)
    visitor = Client(stack.url, "127.0.0.3", "Visitor/1.0")
    assert visitor.request("GET", "/api/queue").status == 200

    def my_runs() -> None:
        # Whatever the attacker gets back; what matters is everyone else.
        with contextlib.suppress(OSError):
            attacker.request("GET", "/api/submissions", timeout=240)

    opener = threading.Thread(target=my_runs, name="my-runs")
    opener.start()
    try:
        time.sleep(2)  # the attacker's request is being served
        try:
            answer = visitor.request("GET", "/api/queue", timeout=10)
        except OSError as exc:
            pytest.fail(f"while one client opened its runs, nobody else was served: {exc!r}")
        assert answer.status == 200
    finally:
        opener.join(timeout=240)
