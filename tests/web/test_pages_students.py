"""Pages that fit students: the 404 page, one main heading, labelled fields, student-only /docs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

REPO = Path(__file__).resolve().parents[2]
TOKEN = "operator-secret"


@pytest.fixture
def admin_app(app: Flask) -> Flask:
    """The app with operator controls on (so /admin is a page)."""
    app.config["ADMIN_TOKEN"] = TOKEN
    return app


# The editor's own template is outside this change; its heading is listed in the report.
@pytest.mark.parametrize(
    "path", ["/", "/upload", "/queue", "/queue?kiosk=1", "/tree", "/docs", "/admin", "/nope"]
)
def test_every_page_has_one_main_heading(admin_app: Flask, client: FlaskClient, path: str) -> None:
    """Exactly one <h1> per page, so a screen reader can jump to what the page is."""
    html = client.get(path).get_data(as_text=True)
    assert len(re.findall(r"<h1[\s>]", html)) == 1, path


def test_unknown_page_is_a_styled_404_with_a_way_back(client: FlaskClient) -> None:
    """A mistyped address gets the site's look, says what was asked for, and links home."""
    response = client.get("/runs/<b>oops</b>")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "This page is not on the tree" in html
    assert 'href="/"' in html and 'href="/editor"' in html
    assert "/static/css/site.css" in html and 'class="site-nav"' in html
    assert "<b>oops</b>" not in html and "&lt;b&gt;oops&lt;/b&gt;" in html


def test_unknown_api_path_keeps_its_json_404(client: FlaskClient) -> None:
    """The API still answers SPEC §4's error JSON, never the HTML page."""
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_admin_without_a_token_is_the_styled_404(client: FlaskClient) -> None:
    """Operator controls off: /admin is simply not there, like any unknown page."""
    response = client.get("/admin")
    assert response.status_code == 404 and "not on the tree" in response.get_data(True)


def test_upload_name_and_title_have_real_labels(client: FlaskClient) -> None:
    """Each text field has a <label for=…> with words, not only a placeholder."""
    html = client.get("/upload").get_data(as_text=True)
    for field, words in [("name", "Your nickname"), ("title", "Title")]:
        label = re.search(rf'<label class="field" for="{field}">(.*?)</label>', html, re.S)
        assert label and words in label.group(1), field
        assert f'id="{field}"' in label.group(1)


def test_upload_box_offers_tap_as_well_as_drop(client: FlaskClient) -> None:
    """Both wordings are there; site.css shows "Tap to pick" on phones, "Drop" elsewhere."""
    html = client.get("/upload").get_data(as_text=True)
    assert '<span class="dz-touch">Tap to pick a <code>.py</code> file</span>' in html
    assert '<span class="dz-pointer">Drop a' in html
    css = (REPO / "web" / "static" / "css" / "site.css").read_text()
    assert re.search(r"@media \(max-width: 860px\)[^{]*\{\s*\.dz-pointer \{ display: none; \}", css)


def test_docs_are_for_students_only(app: Flask, client: FlaskClient) -> None:
    """The real /docs has the API, examples and limits, and no operator settings or wiring."""
    html = client.get("/docs").get_data(as_text=True)
    for needle in ["setLEDs", "getLEDPositions", "fromHSV", "Limits and how a run ends"]:
        assert needle in html, needle
    for operator in ["TREE_WS281X", "TREE_SOCKET", "GPIO", "For operators", "Layout file"]:
        assert operator not in html, operator


def test_operator_material_lives_in_docs_runner(app: Any) -> None:
    """What left /docs is in docs/runner.md, which the README links to."""
    operator = (REPO / "docs" / "runner.md").read_text()
    assert "TREE_WS281X_STRIP_TYPE" in operator and "Layout file" in operator
    assert "Live view colours" in operator
    assert "docs/runner.md" in (REPO / "README.md").read_text()
