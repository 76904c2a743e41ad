"""Bad input through the web's front door: no 5xx, nothing stored, nobody cancels another's work.

Flask test client against a real app (runner offline, so the web's own checks answer). Hand-made
cases for every kind of broken upload, JSON body and cookie, then Hypothesis: random uploads
(300 examples), random JSON bodies (300 examples) and random cookie values (200 examples) per
run. After every request that was not accepted, the uploads folder must be byte-for-byte as it
was. (Runner-socket fuzzing lives with the runner's server tests.)
"""

from __future__ import annotations

import gc
import io
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from web import create_app

GOOD = b"setLEDs([RED] * getLEDCount())\n"


def fuzz(examples: int) -> settings:
    """Hypothesis settings for one property: ``examples`` inputs, no per-example deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """A real app on a temp uploads folder; limits wide open so fuzzing never hits them."""
    yield create_app(
        {
            "TESTING": True,
            "UPLOADS": str(tmp_path / "uploads"),
            "SECRET_KEY": "fuzz-secret",
            "SOCKET": str(tmp_path / "no-runner.sock"),
            "MAX_PENDING_PER_USER": 100_000,
            "MAX_PENDING_PER_IP": 100_000,
            "RATE_PER_USER": "1000000/10 minutes",
            "RATE_PER_IP": "1000000/10 minutes",
        }
    )


@pytest.fixture
def uploads(app: Flask) -> Path:
    return Path(app.config["UPLOADS"])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (recursively) with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def upload(client: FlaskClient, data: bytes, filename: str = "tree.py", field: str = "file") -> Any:
    return client.post(
        "/api/submissions",
        data={field: (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def assert_refused_and_nothing_stored(resp: Any, before: dict[str, bytes], folder: Path) -> None:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_data()[:300])
    body = resp.get_json()
    assert body["error"]["code"] and body["error"]["message"]
    assert snapshot(folder) == before, "a refused request stored something"


def assert_sane(resp: Any, before: dict[str, bytes], folder: Path) -> None:
    """No 5xx; accepted means exactly two new files inside uploads, refused means none."""
    assert resp.status_code < 500, (resp.status_code, resp.get_data()[:300])
    after = snapshot(folder)
    if resp.status_code == 201:
        sid = resp.get_json()["id"]
        new = set(after) - set(before)
        assert len(new) == 2 and all(sid in name and "/" not in name for name in new), new
    else:
        assert after == before


# --- uploads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), None),
        ("setLEDs([RED])  # caf\u00e9\n".encode("latin-1"), "not_utf8"),
        (b"\xff\xfe" + "print(1)".encode("utf-16-le"), None),
        (b"print(1)\x00\n", "nul_byte"),
        (b"print(1)\n" * 2_000_000, "too_large"),  # 18 MB
        (b"x" * (64 * 1024 + 1), "too_large"),
        (b"def broken(:\n", "syntax_error"),
        # (Offline, "import os" is queued: only the runner judges its policy, SPEC §5.)
    ],
    ids=["empty", "binary", "latin1", "utf16", "nul", "10MB+", "64KiB+1", "syntax"],
)
def test_bad_upload_is_refused_and_stores_nothing(
    client: FlaskClient, uploads: Path, data: bytes, code: str | None
) -> None:
    before = snapshot(uploads)
    resp = upload(client, data)
    if code == "too_large":
        # werkzeug leaves the spooled temp file of a multipart body cut off at
        # MAX_CONTENT_LENGTH to the garbage collector; collect it here, not in a later test.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    assert_refused_and_nothing_stored(resp, before, uploads)
    if code:
        assert resp.get_json()["error"]["code"] == code
    if code == "too_large":
        assert resp.status_code == 413


@pytest.mark.parametrize("filename", ["tree.txt", "tree.py.exe", "tree", ".py.sh", "tree.PYC"])
def test_wrong_extension_is_refused(client: FlaskClient, uploads: Path, filename: str) -> None:
    before = snapshot(uploads)
    resp = upload(client, GOOD, filename)
    assert_refused_and_nothing_stored(resp, before, uploads)
    assert resp.status_code == 415


def test_missing_file_field_is_refused(client: FlaskClient, uploads: Path) -> None:
    before = snapshot(uploads)
    assert_refused_and_nothing_stored(upload(client, GOOD, field="program"), before, uploads)
    resp = client.post("/api/submissions", data={"name": "x"}, content_type="multipart/form-data")
    assert_refused_and_nothing_stored(resp, before, uploads)


@pytest.mark.parametrize(
    "filename",
    ["../../escape.py", "/tmp/ledtree-absolute.py", "..\\..\\win.py", "a/../../b.py", "\x00.py"],
)
def test_upload_filename_never_becomes_a_path(
    client: FlaskClient, uploads: Path, filename: str
) -> None:
    before = snapshot(uploads)
    resp = upload(client, GOOD, filename)
    assert_sane(resp, before, uploads)
    assert not Path("/tmp/ledtree-absolute.py").exists()
    for parent in (uploads.parent, uploads.parent.parent):
        assert not (parent / "escape.py").exists() and not (parent / "b.py").exists()
    if resp.status_code == 201:
        sub = resp.get_json()
        (stored,) = uploads.glob(f"*_{sub['id']}.py")
        assert stored.read_bytes() == GOOD


@fuzz(300)
@given(data=st.binary(max_size=2048), filename=st.text(max_size=60))
def test_fuzz_uploads(client: FlaskClient, uploads: Path, data: bytes, filename: str) -> None:
    before = snapshot(uploads)
    resp = upload(client, data, filename)
    assert_sane(resp, before, uploads)


# --- JSON API --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"source": 5},
        {"source": None},
        {"source": ["print(1)"]},
        {"source": {"nested": "x"}},
        {"source": "print(1)", "name": 7},
        {"source": "print(1)", "title": ["a"]},
        {"source": "print(1)", "name": "n" * 10_000},
        {"source": "print(1)", "title": "t" * 10_000},
        {"source": "x = '" + "a" * 70_000 + "'"},
        {"source": ""},
        {"source": "print(1)\x00"},
        {"source": "\ud800"},
        {"name": "no source"},
        [],
        "print(1)",
        None,
    ],
    ids=lambda b: json.dumps(b)[:30] if b is not None else "null",
)
def test_bad_json_is_refused_and_stores_nothing(
    client: FlaskClient, uploads: Path, body: object
) -> None:
    before = snapshot(uploads)
    resp = client.post(
        "/api/submissions",
        data=json.dumps(body, ensure_ascii=True),
        content_type="application/json",
    )
    assert_refused_and_nothing_stored(resp, before, uploads)


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b"{not json", "application/json"),
        (b'{"source": "print(1)"', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b'{"source": "print(1)"}', "text/plain"),
        (b"source=print(1)", "application/x-www-form-urlencoded"),
        # Nesting deeper than the JSON decoder's recursion limit (RecursionError, not ValueError).
        (b"[" * 50_000, "application/json"),
        (
            b'{"source": "x = 1", "name": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
            "application/json",
        ),
    ],
)
def test_malformed_bodies_are_refused(
    client: FlaskClient, uploads: Path, raw: bytes, content_type: str
) -> None:
    before = snapshot(uploads)
    resp = client.post("/api/submissions", data=raw, content_type=content_type)
    assert_refused_and_nothing_stored(resp, before, uploads)


def test_extra_fields_are_ignored_or_refused_never_stored(
    client: FlaskClient, uploads: Path
) -> None:
    before = snapshot(uploads)
    body = {"source": GOOD.decode(), "user_id": "someone-else", "status": "completed", "id": "x"}
    resp = client.post("/api/submissions", json=body)
    assert_sane(resp, before, uploads)
    if resp.status_code == 201:
        sub = resp.get_json()
        assert "user_id" not in sub and sub["status"] == "pending" and sub["id"] != "x"
        assert not list(uploads.glob("someone-else_*"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@fuzz(300)
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"source": json_values},
            optional={"name": json_values, "title": json_values, "extra": json_values},
        ),
    )
)
def test_fuzz_json_api(client: FlaskClient, uploads: Path, body: object) -> None:
    before = snapshot(uploads)
    resp = client.post("/api/submissions", data=json.dumps(body), content_type="application/json")
    assert_sane(resp, before, uploads)


@fuzz(100)
@given(path=st.text(max_size=80))
def test_fuzz_submission_paths(client: FlaskClient, path: str) -> None:
    for method in ("GET", "DELETE"):
        resp = client.open(f"/api/submissions/{path}", method=method)
        assert resp.status_code < 500, (method, path, resp.status_code)


# --- cookies ---------------------------------------------------------------------------------


def person(app: Flask, ip: str, agent: str) -> FlaskClient:
    """A browser that has opened a page (which hands out the identity cookie)."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    client.get("/docs")
    return client


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie("tree_uid")
    assert cookie is not None
    return cookie.value


@pytest.fixture
def alices_submission(app: Flask) -> tuple[FlaskClient, str]:
    alice = person(app, "10.0.0.1", "Alice/1.0")
    resp = alice.post("/api/submissions", json={"source": GOOD.decode()})
    assert resp.status_code == 201
    return alice, resp.get_json()["id"]


def forged_cookies(app: Flask, alice_cookie: str, alice_id: str) -> list[str]:
    """Cookies that claim to be Alice without the server's signature."""
    other_key = URLSafeSerializer("another-deployment", salt="tree-user-id")
    # Flip the signature's first character: its last one carries 2 unused base64 bits, so
    # changing only those re-encodes the same signature (a valid cookie, not a forgery).
    at = alice_cookie.rindex(".") + 1
    flipped = alice_cookie[:at] + ("A" if alice_cookie[at] != "A" else "B") + alice_cookie[at + 1 :]
    payload, _, sig = alice_cookie.rpartition(".")
    return [
        alice_id,
        other_key.dumps(alice_id),
        flipped,
        payload + ".",
        "." + sig,
        alice_cookie + "x",
        json.dumps(alice_id),
        "",
        "\x00" * 10,
        "a" * 4000,
    ]


def test_forged_or_tampered_cookie_cannot_cancel_anothers_submission(
    app: Flask, alices_submission: tuple[FlaskClient, str]
) -> None:
    alice, sid = alices_submission
    alice_cookie = cookie_of(alice)
    # Nobody's user id is shown; the file name in uploads/ has Alice's.
    uploads = Path(app.config["UPLOADS"])
    alice_user = next(uploads.glob(f"*_{sid}.py")).name.split("_")[0]
    for forged in forged_cookies(app, alice_cookie, alice_user):
        mallory = person(app, "10.6.6.6", "Mallory/1.0")
        mallory.set_cookie("tree_uid", forged)
        resp = mallory.delete(f"/api/submissions/{sid}")
        assert resp.status_code == 403, (forged[:40], resp.status_code, resp.get_json())
        seen = mallory.get(f"/api/submissions/{sid}").get_json()
        assert "log" not in seen and not seen.get("mine")
    assert alice.get(f"/api/submissions/{sid}").get_json()["status"] == "pending"


def test_anothers_valid_cookie_is_still_not_alices(
    app: Flask, alices_submission: tuple[FlaskClient, str]
) -> None:
    alice, sid = alices_submission
    mallory = person(app, "10.6.6.6", "Mallory/1.0")
    mallory.get("/api/queue")
    assert cookie_of(mallory) != cookie_of(alice)
    assert mallory.delete(f"/api/submissions/{sid}").status_code == 403
    # Same network, same browser string, but her own (signed) cookie: still not Alice.
    twin = person(app, "10.0.0.2", "Alice/1.0")
    twin.get("/api/queue")
    assert twin.delete(f"/api/submissions/{sid}").status_code == 403
    assert alice.delete(f"/api/submissions/{sid}").status_code == 200


@fuzz(200)
@given(value=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=200))
def test_fuzz_cookies(app: Flask, alices_submission: tuple[FlaskClient, str], value: str) -> None:
    _, sid = alices_submission
    mallory = person(app, "10.6.6.7", "Fuzzer/1.0")
    mallory.set_cookie("tree_uid", value)
    for resp in (mallory.get("/api/queue"), mallory.get(f"/api/submissions/{sid}")):
        assert resp.status_code == 200
    assert mallory.delete(f"/api/submissions/{sid}").status_code == 403


def test_uploads_folder_holds_only_submissions(app: Flask, uploads: Path) -> None:
    client = app.test_client()
    for name in ("../x.py", "/etc/passwd.py", "ok.py"):
        upload(client, GOOD, name)
    for entry in os.listdir(uploads):
        assert not entry.startswith(".") or entry.endswith((".key", ".secret")) or "secret" in entry
        assert "/" not in entry and ".." not in entry
