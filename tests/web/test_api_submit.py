"""``POST /api/submissions``: every check of SPEC §3, with the status and error of SPEC §4."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import ProgramError

GOOD = "setLEDs([[0, 0, 255, 100]] * getLEDCount())\n"


def stored(app: Flask) -> list[Path]:
    """Submission files in uploads/ (the secret key file is not one)."""
    return sorted(p for p in Path(app.config["UPLOADS"]).iterdir() if not p.name.startswith("."))


def test_json_submit_is_queued_and_stored_byte_for_byte(app: Flask, editor: Any) -> None:
    source = "# café ☃\r\nprint('hi')  \n"
    resp = editor.submit(source, name="Ada", title="Snow")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "pending" and body["position"] == 1 and body["eta_seconds"] == 0
    assert body["name"] == "Ada" and body["title"] == "Snow" and body["language"] == "python"
    assert resp.headers["Location"] == f"/api/submissions/{body['id']}"
    py, state = stored(app)[1], stored(app)[0]
    assert "user_id" not in body  # nobody's id is shown, not even to its owner
    assert py.name.endswith(f"_{body['id']}.py")
    assert py.read_bytes() == source.encode()
    assert json.loads(state.read_text())["status"] == "pending"


def test_cant_use_the_upload_file_name_as_a_path(app: Flask, editor: Any) -> None:
    data = b"import math\nprint(math.pi)\n"
    resp = editor.upload(data, filename="../../etc/passwd.py", name="Bob")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["title"] == "../../etc/passwd.py"  # only ever a label
    files = stored(app)
    assert [p.suffix for p in files] == [".json", ".py"]
    assert files[1].read_bytes() == data
    assert all(p.parent == Path(app.config["UPLOADS"]) for p in files)


def test_second_submission_waits_behind_the_first(editor: Any, other_client: FlaskClient) -> None:
    editor.submit(GOOD)
    resp = other_client.post("/api/submissions", json={"source": GOOD})
    assert resp.get_json()["position"] == 2 and resp.get_json()["eta_seconds"] == 45


@pytest.mark.parametrize(
    ("data", "filename", "status", "code"),
    [
        (b"", "tree.py", 400, "empty"),
        (b"  \n\t\n", "tree.py", 400, "empty"),
        (b"x = 1\n" * 11_000, "tree.py", 413, "too_large"),
        (b"print('\xff\xfe')\n", "tree.py", 400, "not_utf8"),
        (b"print(1)\x00\n", "tree.py", 400, "nul_byte"),
        (b"print(1)\n", "tree.txt", 415, "bad_extension"),
        (b"print(1)\n", "tree", 415, "bad_extension"),
        (b"print(1\n", "tree.py", 400, "syntax_error"),
        (b"\xef\xbb\xbf\r\n", "tree.py", 400, "empty"),  # a byte-order mark and nothing else
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    app: Flask, editor: Any, data: bytes, filename: str, status: int, code: str
) -> None:
    resp = editor.upload(data, filename=filename)
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code
    assert resp.get_json()["error"]["message"]
    assert stored(app) == []


BOM = b"\xef\xbb\xbf"


def test_a_file_saved_with_a_byte_order_mark_is_queued_as_it_came(app: Flask, editor: Any) -> None:
    """Windows editors' "UTF-8 with BOM": python3 runs such a file, so it is queued, and stored
    (and "Show source" gives back) byte for byte as received, SPEC §3; the protocol drops the
    mark on the way to the runner."""
    data = "# café\r\nsetLEDs([BLUE] * getLEDCount())\r\n".encode()
    resp = editor.upload(BOM + data)
    assert resp.status_code == 201, resp.get_json()
    assert stored(app)[1].read_bytes() == BOM + data
    source = editor.client.get(f"/api/submissions/{resp.get_json()['id']}/source")
    assert source.get_data() == BOM + data


def test_a_json_source_starting_with_a_byte_order_mark_is_queued_as_it_came(
    app: Flask, editor: Any
) -> None:
    resp = editor.submit("\ufeff" + GOOD)
    assert resp.status_code == 201, resp.get_json()
    assert stored(app)[1].read_bytes() == BOM + GOOD.encode()


def test_an_error_after_a_byte_order_mark_is_where_the_author_sees_it(editor: Any) -> None:
    """The mark is invisible in an editor: line and column count without it."""
    resp = editor.upload(BOM + b"print(1))\n")
    error = resp.get_json()["error"]
    assert (resp.status_code, error["code"]) == (400, "syntax_error")
    assert (error["line"], error["col"]) == (1, 9) and "FEFF" not in error["message"]


def test_64_kib_exactly_is_accepted(editor: Any) -> None:
    source = "print(1)\n#" + "a" * (64 * 1024 - 11) + "\n"
    assert len(source.encode()) == 64 * 1024
    assert editor.submit(source).status_code == 201


def test_request_over_the_body_limit_is_413_json(client: FlaskClient) -> None:
    resp = client.post(
        "/api/submissions", data=b"x" * (2 * 1024 * 1024), content_type="application/json"
    )
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"
    assert "64 KiB" in resp.get_json()["error"]["message"]  # a clear message, not werkzeug's


def test_syntax_error_reports_line_and_column(editor: Any) -> None:
    resp = editor.submit("x = 1\ny = (2,\nz = ]\n")
    err = resp.get_json()["error"]
    assert resp.status_code == 400 and err["code"] == "syntax_error"
    assert err["line"] == 3 and err["col"] >= 1


@pytest.mark.parametrize(
    "source",
    [
        "class Snow:\n    def __init__(self):\n        self.n = 1\n",
        "class A:\n    pass\nclass B(A):\n    def __init__(self):\n        super().__init__()\n",
        "print(type(3).__name__)\n",
        "import subprocess\n",  # the runner refuses it when it runs, with its own message
    ],
)
def test_offline_check_is_syntax_only(app: Flask, editor: Any, source: str) -> None:
    """Offline, web never judges the sandbox rules: only the runner's policy does (SPEC §5)."""
    assert editor.submit(source).status_code == 201


def test_offline_check_finds_compiler_errors(editor: Any) -> None:
    err = editor.submit("x = 1\nreturn x\n").get_json()["error"]
    assert err["code"] == "syntax_error" and err["line"] == 2


def test_a_programs_own_underscore_names_pass_offline(editor: Any) -> None:
    source = (
        "import colorsys\nfrom typing import List\n_ORDER: List[int] = []\n"
        "class _Frame(list):\n    def __init__(self):\n        super().__init__()\n"
        "        self._t = 1\n        print(_Frame.__name__)\n"
        "setLEDs([BLUE] * getLEDCount())\n"
    )
    assert editor.submit(source).status_code == 201  # offline: syntax only; the runner judges


def test_runner_verdict_is_used_when_online(app: Flask, editor: Any, runner: Any) -> None:
    runner.verdict = [
        ProgramError(type="RestrictedError", message="Eval calls are not allowed", line=2, col=5)
    ]
    resp = editor.submit("x = 1\ny = eval('1')\n")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {
        "code": "rejected", "message": "Eval calls are not allowed", "line": 2, "col": 5,
    }  # fmt: skip
    assert runner.checked == ["x = 1\ny = eval('1')\n"]
    assert stored(app) == []
    runner.verdict = []
    assert editor.submit(GOOD).status_code == 201


def test_runner_without_answer_falls_back_to_local_check(editor: Any, runner: Any) -> None:
    runner.verdict = None  # no answer in time
    assert editor.submit("print(1\n").get_json()["error"]["code"] == "syntax_error"
    assert editor.submit(GOOD).status_code == 201


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"src": "print(1)"}, 400),
        ({"source": 5}, 400),
        ({"source": GOOD, "name": "n" * 41}, 400),
        ({"source": GOOD, "title": ["x"]}, 400),
    ],
)
def test_bad_json_fields(editor: Any, payload: dict[str, Any], status: int) -> None:
    resp = editor.client.post("/api/submissions", json=payload)
    assert resp.status_code == status and resp.get_json()["error"]["code"] == "bad_request"


def test_not_json_body(client: FlaskClient) -> None:
    resp = client.post("/api/submissions", data="{oops", content_type="application/json")
    assert resp.status_code == 400
    resp = client.post("/api/submissions", data="print(1)", content_type="text/plain")
    assert resp.status_code == 415 and resp.get_json()["error"]["code"] == "unsupported_media_type"
    resp = client.post("/api/submissions", data={"other": "x"}, content_type="multipart/form-data")
    assert resp.status_code == 400


def test_label_is_one_line(editor: Any) -> None:
    body = editor.submit(GOOD, name="Ada\n\x1b[31mEvil", title="  a\tb ").get_json()
    assert body["name"] == "Ada [31mEvil" and body["title"] == "a b"


def test_unwritable_uploads_give_503_and_store_nothing(app: Flask, editor: Any) -> None:
    import os

    if os.geteuid() == 0:
        # root ignores folder permissions; make the folder's place a file instead
        folder = Path(app.config["UPLOADS"])
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
        folder.write_text("not a folder")
    else:
        Path(app.config["UPLOADS"]).chmod(0o555)
    resp = editor.submit(GOOD)
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "storage_unavailable"
    assert resp.headers["Retry-After"] == "30"
    assert app.extensions["scheduler"].snapshot()["pending"] == []
