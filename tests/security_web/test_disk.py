"""uploads/ must not grow without bound at one client's will.

A program cancelled before it ran is refunded from the rate windows (so a student fixing a bug
is not locked out), and cancelling frees its pending place. On the code this was written
against its 64 KiB source and its state stayed in uploads/ for good, so submit-then-cancel in a
loop stored a program per round trip and was never refused: one client stored 30 programs of
60 KB in a row (limit: 10 per 10 minutes) and kept going at ~5 per second over the real runner
(~1 GB an hour on the Pi's SD card). Every stored submission also makes ``GET /runs`` and
``GET /api/submissions`` slower for its owner (see test_my_runs.py).

Such programs are kept now (SPEC §3), but only the newest ``TREE_CANCELLED_KEEP_PER_USER`` (20)
of one author and ``TREE_CANCELLED_KEEP`` in all: the loops below go on well past both caps.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from tests.security_web.conftest import make_app

PER_USER = 20  # TREE_CANCELLED_KEEP_PER_USER's default
PROGRAM = "# " + "x" * 60_000 + "\nsetLEDs([RED] * getLEDCount())\n"
# A stored program: its source and a state of a few hundred bytes.
STORED_EACH = len(PROGRAM) + 4096
OTHER_FILES = 64 * 1024  # .secret_key and the like


def stored_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def submit_and_cancel(app: Flask, rounds: int, new_identity_each_round: bool) -> list[int]:
    """Submit a big program and cancel it, ``rounds`` times; the answers' status codes."""
    client = app.test_client()
    statuses = []
    for n in range(rounds):
        agent = f"filler/{n}" if new_identity_each_round else "filler/1.0"
        client.environ_base.update(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT=agent)
        answer = client.post("/api/submissions", json={"source": PROGRAM})
        statuses.append(answer.status_code)
        if answer.status_code == 201:
            assert client.delete(f"/api/submissions/{answer.get_json()['id']}").status_code == 200
    return statuses


def test_cant_fill_uploads_by_submitting_and_cancelling(tmp_path: Path) -> None:
    statuses = submit_and_cancel(make_app(tmp_path), 3 * PER_USER, new_identity_each_round=False)
    kept = stored_bytes(tmp_path / "uploads")
    # Refunded, so never refused: the loop goes well past the cap, and the cap holds.
    assert statuses.count(201) > PER_USER, statuses
    assert kept <= PER_USER * STORED_EACH + OTHER_FILES, (
        f"{statuses.count(201)} of {len(statuses)} submit-and-cancel rounds were accepted "
        f"(at most {PER_USER} cancelled programs kept per user) and uploads/ now holds "
        f"{kept} bytes"
    )


def test_cant_fill_uploads_by_submitting_and_cancelling_under_new_identities(
    tmp_path: Path,
) -> None:
    """A new User-Agent per round is a new identity (no cookie): the total cap still holds."""
    total = 30
    app = make_app(tmp_path, CANCELLED_KEEP=total)
    statuses = submit_and_cancel(app, 3 * total, new_identity_each_round=True)
    kept = stored_bytes(tmp_path / "uploads")
    assert statuses.count(201) > total, statuses
    assert kept <= total * STORED_EACH + OTHER_FILES, (
        f"{statuses.count(201)} of {len(statuses)} submit-and-cancel rounds from new identities "
        f"were accepted (at most {total} cancelled programs kept in all) and uploads/ now holds "
        f"{kept} bytes"
    )
