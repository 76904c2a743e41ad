"""A program refused from the editor's plain form (no JavaScript) must come back to its author.

Without JavaScript the editor's Run button posts the textarea to ``/upload``; a refusal (a
syntax error, a forbidden import, 429) answers with the upload page, which shows the error but
not the code: the program the student typed is gone from the answer (SPEC's "every bad input
gets a clear message and loses nothing").
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.security_web.conftest import make_app

TYPED = "n = getLEDCount()\nfor i in range(n)\n    setLEDs([RED] * n)  # my_unique_marker_42\n"


def test_a_program_refused_from_the_no_javascript_editor_is_not_lost(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    editor = client.get("/editor").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', editor)
    assert token is not None
    answer = client.post("/upload", data={"csrf_token": token[1], "source": TYPED})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "SyntaxError" in page  # refused, with the reason
    assert "my_unique_marker_42" in page, "the refusal page does not give the typed program back"
