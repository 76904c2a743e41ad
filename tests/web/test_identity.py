"""One identity per browser (SPEC §3): a random id in a signed cookie, never shown to anyone."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from web.identity import COOKIE
from web.scheduler import Scheduler

GOOD = "setLEDs([RED] * getLEDCount())\n"
LAB_IP, LAB_UA = "192.0.2.40", "Mozilla/5.0 (X11; Linux x86_64) LabImage/1.0"


def lab_browser(app: Flask) -> FlaskClient:
    """One of a room of identical machines behind one NAT address, after opening the editor."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=LAB_IP, HTTP_USER_AGENT=LAB_UA)
    assert client.get("/editor").status_code == 200
    return client


def keys_in(value: Any) -> set[str]:
    """Every dict key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def test_two_identical_machines_are_two_users(app: Flask) -> None:
    alice, bob = lab_browser(app), lab_browser(app)
    sid = alice.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
    assert bob.delete(f"/api/submissions/{sid}").status_code == 403
    assert bob.get(f"/api/submissions/{sid}/source").status_code == 403
    seen_by_bob = bob.get(f"/api/submissions/{sid}").get_json()
    assert "log" not in seen_by_bob and "mine" not in seen_by_bob
    # Bob's own pending cap is his own: Alice's program does not count against him.
    assert bob.post("/api/submissions", json={"source": GOOD}).status_code == 201
    assert alice.get(f"/api/submissions/{sid}/source").get_data() == GOOD.encode()
    assert alice.delete(f"/api/submissions/{sid}").get_json()["reason"] == "author"


def test_cant_act_for_a_browser_with_its_ip_and_user_agent_alone(app: Flask) -> None:
    alice = lab_browser(app)
    sid = alice.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
    lookalike = app.test_client()  # no cookie: identified by its fingerprint
    lookalike.environ_base.update(REMOTE_ADDR=LAB_IP, HTTP_USER_AGENT=LAB_UA)
    assert lookalike.delete(f"/api/submissions/{sid}").status_code == 403
    assert lookalike.get(f"/api/submissions/{sid}/source").status_code == 403
    assert "log" not in lookalike.get(f"/api/submissions/{sid}").get_json()


def test_cookie_less_script_keeps_one_identity(app: Flask) -> None:
    """A script (curl) without cookies is its fingerprint: it can cancel what it sent."""
    script = app.test_client()
    sid = script.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
    assert script.get_cookie(COOKIE) is None  # the API hands out no cookie
    assert script.get(f"/api/submissions/{sid}").get_json()["mine"] is True
    assert script.delete(f"/api/submissions/{sid}").status_code == 200


def test_nobody_sees_a_user_id_and_own_rows_say_mine(app: Flask, scheduler: Scheduler) -> None:
    published: list[Any] = []
    scheduler.publish = lambda kind, data: published.append(data)
    alice, bob = lab_browser(app), lab_browser(app)
    mine = alice.post("/api/submissions", json={"source": GOOD}).get_json()
    theirs = bob.post("/api/submissions", json={"source": GOOD}).get_json()
    assert mine["mine"] is True and "user_id" not in keys_in(mine)
    queue = alice.get("/api/queue").get_json()
    assert "user_id" not in keys_in(queue)
    assert [(p["id"], p.get("mine", False)) for p in queue["pending"]] == [
        (mine["id"], True), (theirs["id"], False),
    ]  # fmt: skip
    anonymous = app.test_client().get("/api/queue").get_json()
    assert "mine" not in keys_in(anonymous) and "user_id" not in keys_in(anonymous)
    assert published and not any("user_id" in keys_in(p) or "mine" in keys_in(p) for p in published)
    html = alice.get("/queue").get_data(as_text=True)
    assert f'class="sub-row mine" data-id="{mine["id"]}"' in html
    assert f'class="sub-row" data-id="{theirs["id"]}"' in html


def test_cookie_is_signed_random_and_outlives_a_new_user_agent(app: Flask) -> None:
    alice = lab_browser(app)
    cookie = alice.get_cookie(COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert "." in cookie.value  # signed
    assert cookie.value != lab_browser(app).get_cookie(COOKIE).value  # type: ignore[union-attr]
    sid = alice.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
    alice.environ_base["HTTP_USER_AGENT"] = "Updated/2.0"  # a browser update
    assert alice.get(f"/api/submissions/{sid}").get_json()["mine"] is True


def test_cant_forge_the_identity_cookie(app: Flask) -> None:
    alice, mallory = lab_browser(app), lab_browser(app)
    sid = alice.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
    good = alice.get_cookie(COOKIE)
    assert good is not None
    at = good.value.rindex(".") + 1  # the signature's first character carries 6 full bits
    tampered = good.value[:at] + ("A" if good.value[at] != "A" else "B") + good.value[at + 1 :]
    mallory.set_cookie(COOKIE, tampered)
    assert mallory.delete(f"/api/submissions/{sid}").status_code == 403
    payload = good.value.split(".")[0]
    mallory.set_cookie(COOKIE, payload)  # the id without its signature
    assert mallory.delete(f"/api/submissions/{sid}").status_code == 403
