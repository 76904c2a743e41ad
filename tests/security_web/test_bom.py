"""A ``.py`` file saved with a UTF-8 byte-order mark is an ordinary Python file and must run.

Windows editors (Notepad before 2019, Visual Studio, "UTF-8 with BOM" elsewhere) start the file
with ``EF BB BF``; ``python3 file.py`` accepts it. On the code this was written against, the
upload page and the API refuse it with ``syntax_error`` "invalid non-printable character
U+FEFF" at line 1, column 1: the student sees an error on a line that looks empty and cannot
tell what to fix. (A JSON ``source`` beginning with U+FEFF gets the same answer.)
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.security_web.conftest import Client, multipart

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROGRAM = "setLEDs([BLUE] * getLEDCount())\r\nprint('with a BOM')\r\n"


def test_a_py_file_saved_with_a_byte_order_mark_is_queued_and_runs(start_stack: Any) -> None:
    stack = start_stack()
    student = Client(stack.url, "127.0.0.3", "Notepad user/1.0")
    body, content_type = multipart({"file": ("tree.py", b"\xef\xbb\xbf" + PROGRAM.encode())})
    answer = student.request(
        "POST", "/api/submissions", raw=body, headers={"Content-Type": content_type}
    )
    assert answer.status == 201, f"a BOM-prefixed .py file was refused: {answer.body!r}"
    sid = answer.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sub = student.request("GET", f"/api/submissions/{sid}").json()
        if sub["status"] not in ("pending", "running"):
            break
        time.sleep(0.2)
    assert (sub["status"], sub["reason"]) == ("completed", "ended"), sub
    assert "with a BOM" in sub["log"]
