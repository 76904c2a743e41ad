"""Per-address caps (``web.intake``): live-view streams; and "My runs" reads only what it shows."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from tests.web.conftest import browser, make_app
from web.storage import Store, Submission


def test_one_address_holds_at_most_its_streams_and_gets_a_sentence_beyond(tmp_path: Path) -> None:
    app: Flask = make_app(tmp_path, STREAMS_PER_IP=2)
    lab = browser(app, "10.0.0.1", "Lab/1.0")
    open_ones = [lab.get("/api/events", buffered=False) for _ in range(2)]
    assert [r.status_code for r in open_ones] == [200, 200]
    refused = lab.get("/api/events")
    assert refused.status_code == 429
    assert "live views open" in refused.get_json()["error"]["message"]
    assert refused.headers["Retry-After"]
    assert (
        browser(app, "10.0.0.2", "Other/1.0").get("/api/events", buffered=False).status_code == 200
    )
    open_ones[0].close()  # a tab closed: its place is free again
    again = lab.get("/api/events", buffered=False)
    assert again.status_code == 200
    for r in (open_ones[1], again):
        r.close()


def test_the_stream_cap_is_a_quarter_of_the_connections_unless_set(tmp_path: Path) -> None:
    assert make_app(tmp_path, WORKER_CONNECTIONS=40).extensions["stream_cap"].limit == 10


def test_my_runs_reads_only_what_it_shows_newest_first(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for n in range(1, 8):
        sub = Submission(
            id=f"{n:032x}", timestamp=f"2026-12-01T10:00:0{n}", user_id="ab" * 8, seq=n
        )
        store.create(sub, b"pass\n")
    fresh = Store(tmp_path)
    fresh.load(keep_finished=0)
    assert [s.seq for s in fresh.of_user("ab" * 8, limit=3)] == [7, 6, 5]
    gone = fresh.find(f"{7:032x}")
    assert gone is not None
    gone.status, gone.reason = "cancelled", "author"
    fresh.save(gone)
    assert fresh.keep_cancelled(gone, per_user=0, total=0) == [gone.id]
    assert [s.seq for s in fresh.of_user("ab" * 8, limit=3)] == [6, 5, 4]
    assert fresh.find(f"{7:032x}") is None
    assert fresh.of_user("cd" * 8) == []
