"""uploads/ must not grow without bound at one client's will.

A program cancelled before it ran is refunded from the rate windows (so a student fixing a bug
is not locked out), and cancelling frees its pending place, but its 64 KiB source and its state
stay in uploads/ for good. So submit-then-cancel in a loop stores a program per round trip and
is never refused: on the code this was written against, one client stored 30 programs of
60 KB in a row (limit: 10 per 10 minutes) and kept going at ~5 per second over the real runner
(~1 GB an hour on the Pi's SD card). Every stored submission also makes ``GET /runs`` and
``GET /api/submissions`` slower for its owner (see test_my_runs.py).
"""

from __future__ import annotations

from pathlib import Path

from tests.security_web.conftest import make_app

RATE = 10  # per user per 10 minutes (the default)
PROGRAM = "# " + "x" * 60_000 + "\nsetLEDs([RED] * getLEDCount())\n"


def stored_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_cant_fill_uploads_by_submitting_and_cancelling(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="filler/1.0")
    statuses = []
    for _ in range(3 * RATE):
        answer = client.post("/api/submissions", json={"source": PROGRAM})
        statuses.append(answer.status_code)
        if answer.status_code == 201:
            assert client.delete(f"/api/submissions/{answer.get_json()['id']}").status_code == 200
    refused = statuses.count(429)
    kept = stored_bytes(tmp_path / "uploads")
    # Either the loop is refused at some point, or what it leaves behind stays bounded by
    # what the rate limit allows anyway.
    assert refused > 0 or kept <= (RATE + 1) * len(PROGRAM) + 64 * 1024, (
        f"{statuses.count(201)} of {len(statuses)} submit-and-cancel rounds were accepted "
        f"(limit {RATE} per 10 minutes) and uploads/ now holds {kept} bytes"
    )
