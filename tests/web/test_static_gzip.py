"""Static files go out gzip-compressed to browsers that accept it (issue 12, item 6)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.mark.parametrize("name", ["dist/editor.js", "css/site.css", "js/queue_view.js"])
def test_text_assets_are_gzipped_when_accepted(client: FlaskClient, name: str) -> None:
    """The browser gets gzip, and it unpacks to the file byte for byte."""
    with client.get(f"/static/{name}", headers=GZIP) as response:
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["Vary"]
        assert gzip.decompress(response.get_data()) == (STATIC / name).read_bytes()


def test_the_editor_bundle_shrinks_to_a_third(client: FlaskClient) -> None:
    """The ~460 KB CodeMirror bundle crosses the network as well under half its size."""
    plain = (STATIC / "dist" / "editor.js").stat().st_size
    with client.get("/static/dist/editor.js", headers=GZIP) as response:
        sent = len(response.get_data())
    assert sent < plain * 0.4, f"{sent} of {plain} bytes"


def test_without_accept_encoding_the_file_is_plain(client: FlaskClient) -> None:
    """A client that does not accept gzip gets the file as it is."""
    with client.get("/static/css/site.css", headers={"Accept-Encoding": "identity"}) as response:
        assert "Content-Encoding" not in response.headers
        assert response.get_data() == (STATIC / "css" / "site.css").read_bytes()


def test_gzip_answers_revalidate_with_their_own_etag(client: FlaskClient) -> None:
    """A reload with the gzip ETag gets 304, so the bundle is not sent twice."""
    with client.get("/static/dist/editor.js", headers=GZIP) as first:
        etag = first.headers["ETag"]
    assert etag.endswith('-gzip"')
    headers = {**GZIP, "If-None-Match": etag}
    with client.get("/static/dist/editor.js", headers=headers) as again:
        assert again.status_code == 304
        assert again.get_data() == b""


def test_images_are_not_compressed_again(client: FlaskClient) -> None:
    """Only text formats are compressed; the tiny SVG icon is below the threshold anyway."""
    with client.get("/static/favicon.svg", headers=GZIP) as response:
        assert response.status_code == 200 and "Content-Encoding" not in response.headers


def test_a_missing_static_file_is_still_404(client: FlaskClient) -> None:
    """Compression never hides a missing file."""
    assert client.get("/static/js/nope.js", headers=GZIP).status_code == 404


def test_a_rebuilt_file_is_compressed_afresh(app: Flask, tmp_path: Path) -> None:
    """The cache is keyed by size and modification time, so a new bundle is never stale."""
    cache = app.extensions["static_gzip"]
    path = tmp_path / "bundle.js"
    path.write_text("a" * 5000)
    first = gzip.decompress(cache.compressed(path))
    path.write_text("b" * 6000)
    assert gzip.decompress(cache.compressed(path)) == b"b" * 6000 != first
