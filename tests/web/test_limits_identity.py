"""Per-user and per-IP limits (429 + Retry-After) and the signed identity cookie."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from web.identity import COOKIE

GOOD = "print(1)\n"


def test_pending_cap_per_user(editor: Any) -> None:
    for _ in range(3):
        assert editor.submit(GOOD).status_code == 201
    resp = editor.submit(GOOD)
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "too_many_pending"
    # The user's first program should finish after its ETA (0) plus one time limit.
    assert resp.headers["Retry-After"] == "45"
    assert resp.get_json()["error"]["retry_after"] == 45


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
    assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 600
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


def test_cookie_is_signed_and_kept(client: FlaskClient) -> None:
    first = client.get("/api/me")
    user_id = first.get_json()["user_id"]
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert user_id not in cookie.value or "." in cookie.value  # signed, not the bare id
    # The cookie wins over a changed fingerprint (e.g. a browser update).
    client.environ_base["HTTP_USER_AGENT"] = "Updated/2.0"
    assert client.get("/api/me").get_json()["user_id"] == user_id


def test_cant_forge_the_identity_cookie(client: FlaskClient, other_client: FlaskClient) -> None:
    victim = other_client.get("/api/me").get_json()["user_id"]
    mine = client.get("/api/me").get_json()["user_id"]
    client.set_cookie(COOKIE, f'"{victim}"')  # unsigned
    assert client.get("/api/me").get_json()["user_id"] == mine
    good = other_client.get_cookie(COOKIE)
    assert good is not None
    client.set_cookie(COOKIE, good.value[:-2] + "xx")  # tampered signature
    assert client.get("/api/me").get_json()["user_id"] == mine


def test_cant_cancel_someone_elses_submission_with_a_forged_cookie(
    editor: Any, client: FlaskClient, other_client: FlaskClient
) -> None:
    theirs = other_client.post("/api/submissions", json={"source": GOOD}).get_json()
    client.set_cookie(COOKIE, theirs["user_id"])
    assert client.delete(f"/api/submissions/{theirs['id']}").status_code == 403


def test_cant_spoof_the_client_ip_without_a_trusted_proxy(tmp_path: Path, make_app: Any) -> None:
    untrusted = make_app(tmp_path / "a").test_client()
    ids = {
        untrusted.get("/api/me", headers={"X-Forwarded-For": ip}).get_json()["user_id"]
        for ip in ("198.51.100.1", "198.51.100.2")
    }
    assert len(ids) == 1  # spoofed header: same client
    trusted_app = make_app(tmp_path / "b", TRUSTED_PROXIES=1)
    ids = set()
    for ip in ("198.51.100.1", "198.51.100.2"):
        c = trusted_app.test_client()
        ids.add(c.get("/api/me", headers={"X-Forwarded-For": ip}).get_json()["user_id"])
    assert len(ids) == 2


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
