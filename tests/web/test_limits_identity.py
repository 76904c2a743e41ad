"""Per-user and per-IP limits (429 + Retry-After) and the signed identity cookie."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

GOOD = "print(1)\n"


def test_pending_cap_per_user(editor: Any) -> None:
    ids = [editor.submit(GOOD, title=t).get_json()["id"] for t in ("Snow", "Fire", "Rain")]
    resp = editor.submit(GOOD)
    assert resp.status_code == 429
    err = resp.get_json()["error"]
    assert err["code"] == "too_many_pending"
    # The user's first program should finish after its ETA (0) plus one time limit.
    assert resp.headers["Retry-After"] == "45" and err["retry_after"] == 45
    # A full sentence naming the programs one could cancel, and the same as data for the page.
    assert err["message"] == (
        "You already have 3 programs waiting, the most one person may have: “Snow” (#1), "
        "“Fire” (#2) and “Rain” (#3). Cancel one of them on the Queue page to send this one "
        "now, or send it once the first has run, in about 45 s."
    )
    assert [c["id"] for c in err["cancellable"]] == ids


def test_cancelling_frees_a_pending_slot(editor: Any) -> None:
    ids = [editor.submit(GOOD).get_json()["id"] for _ in range(3)]
    assert editor.client.delete(f"/api/submissions/{ids[0]}").status_code == 200
    assert editor.submit(GOOD).status_code == 201


def test_rate_window_per_user(tmp_path: Path, make_app: Any) -> None:
    app = make_app(tmp_path, RATE_PER_USER="2/10 minutes", MAX_PENDING_PER_USER=50)
    client = app.test_client()
    assert client.post("/api/submissions", json={"source": "print(1\n"}).status_code == 400
    for _ in range(2):  # the refused program above did not use up the allowance
        assert client.post("/api/submissions", json={"source": GOOD}).status_code == 201
    resp = client.post("/api/submissions", json={"source": GOOD})
    err = resp.get_json()["error"]
    assert resp.status_code == 429 and err["code"] == "rate_limited"
    assert 590 <= int(resp.headers["Retry-After"]) == err["retry_after"] <= 600
    assert re.fullmatch(
        r"You have sent 2 programs in the last 10 minutes, the most allowed\. "
        r"You can send the next one in (9 min \d\d|10 min 00) s\.",
        err["message"],
    )
    assert len(list(Path(app.config["UPLOADS"]).glob("*.py"))) == 2


def test_cant_escape_the_ip_limits_by_dropping_the_cookie(tmp_path: Path, make_app: Any) -> None:
    app = make_app(tmp_path, MAX_PENDING_PER_IP=4)
    codes = []
    for n in range(6):  # six "browsers" behind one NAT address, one program each
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT=f"Browser/{n}")
        codes.append(client.post("/api/submissions", json={"source": GOOD}).status_code)
    assert codes == [201, 201, 201, 201, 429, 429]
    other = app.test_client()
    other.environ_base.update(REMOTE_ADDR="192.0.2.8")
    assert other.post("/api/submissions", json={"source": GOOD}).status_code == 201


def test_rate_window_per_ip(tmp_path: Path, make_app: Any) -> None:
    app = make_app(tmp_path, RATE_PER_IP="3/10 minutes", MAX_PENDING_PER_IP=50)
    codes = []
    for n in range(4):
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR="192.0.2.9", HTTP_USER_AGENT=f"Browser/{n}")
        codes.append(client.post("/api/submissions", json={"source": GOOD}).status_code)
    assert codes == [201, 201, 201, 429]


def test_cant_spoof_the_client_ip_without_a_trusted_proxy(tmp_path: Path, make_app: Any) -> None:
    def codes(app: Any) -> list[int]:
        return [
            app.test_client()
            .post("/api/submissions", json={"source": GOOD}, headers={"X-Forwarded-For": ip})
            .status_code
            for ip in ("198.51.100.1", "198.51.100.2")
        ]

    # One pending program per address: a spoofed header does not make a second address.
    assert codes(make_app(tmp_path / "a", MAX_PENDING_PER_IP=1)) == [201, 429]
    assert codes(make_app(tmp_path / "b", MAX_PENDING_PER_IP=1, TRUSTED_PROXIES=1)) == [201, 201]


def test_cant_exceed_the_pending_cap_with_concurrent_requests(
    app: Any, runner: Any, make_browser: Any
) -> None:
    import threading

    barrier = threading.Barrier(6, timeout=10)
    plain_check = runner.check

    def check_when_all_arrived(source: str, timeout: float = 2.0) -> Any:
        barrier.wait()  # every request has passed the early limit test by now
        return plain_check(source, timeout)

    runner.check = check_when_all_arrived
    codes: list[int] = []

    def submit() -> None:
        client = make_browser("192.0.2.50", "SameBrowser/1.0")
        codes.append(client.post("/api/submissions", json={"source": GOOD}).status_code)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes) == [201, 201, 201, 429, 429, 429]


def test_submit_cancel_resubmit_does_not_use_up_the_allowance(
    tmp_path: Path, make_app: Any
) -> None:
    """Spotting a bug and cancelling before the program ran costs nothing (10 tries, rate 2)."""
    app = make_app(tmp_path, RATE_PER_USER="2/10 minutes")
    client = app.test_client()
    for _ in range(10):
        resp = client.post("/api/submissions", json={"source": GOOD})
        assert resp.status_code == 201, resp.get_json()
        assert client.delete(f"/api/submissions/{resp.get_json()['id']}").status_code == 200


def test_runs_lost_to_the_runner_do_not_count(
    tmp_path: Path, make_app: Any, welcome_for: Any
) -> None:
    from tests.web.conftest import InMemoryRunner

    app = make_app(tmp_path, RATE_PER_USER="1/10 minutes")
    sched = app.extensions["scheduler"]
    sched.runner = app.extensions["runner_client"] = InMemoryRunner()
    sched.events.on_runner_online(welcome_for())
    client = app.test_client()
    sid = client.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
    assert sched.run_once(1.0) == sid
    sched.events.on_runner_offline()  # the runner restarts mid-run
    assert client.get(f"/api/submissions/{sid}").get_json()["reason"] == "runner_lost"
    assert client.post("/api/submissions", json={"source": GOOD}).status_code == 201
    # One still waiting does count.
    assert client.post("/api/submissions", json={"source": GOOD}).status_code == 429


def test_windows_move_forget_and_take_back() -> None:
    """The moving windows on an injected clock: expiry, refunds, and no keys kept forever."""
    from web.limits import SWEEP_EVERY, Rate, SubmissionWindows

    now = [0.0]
    windows = SubmissionWindows(Rate.parse("2/minute"), Rate.parse("100/minute"), lambda: now[0])
    windows.hit("u", "ip", "a")
    now[0] = 10.0
    windows.hit("u", "ip", "b")
    assert windows.retry_after("u", "ip") == (50, "user")  # the first one leaves at 60 s
    windows.refund("a")
    assert windows.retry_after("u", "ip") is None
    windows.hit("u", "ip", "c")
    now[0] = 71.0
    assert windows.retry_after("u", "ip") is None  # b and c are over a minute old
    for n in range(SWEEP_EVERY):  # many one-time visitors, long gone
        windows.hit(f"visitor{n}", f"ip{n}", f"s{n}")
    now[0] = 200.0
    for n in range(SWEEP_EVERY):
        windows.hit("late", "ip", f"late{n}")
    assert {k for k in windows._hits if "visitor" in k} == set()
