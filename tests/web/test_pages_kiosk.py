"""The kiosk's address and QR code, and the operator's notice when the address is unset.

The QR code on the page is an inline SVG drawn by segno; these tests paint its path data into an
image and decode it with zxing-cpp, so they check what a phone camera would read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw

TOKEN = "operator-secret"
PUBLIC = "http://tree.example.org:8000/"


def decode_svg_qr(html: str) -> list[str]:
    """Paint the page's QR path (``M x y``, ``m dx dy``, ``h n`` segments) and decode it."""
    svg = re.search(r'<svg viewBox="0 0 (\d+) (\d+)" class="kiosk-qr-code">(.*?)</svg>', html)
    assert svg, "no QR code on the page"
    size, scale = int(svg.group(1)), 8
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg.group(3))
    assert path is not None
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for op, args in re.findall(r"([Mmh])([-\d. ]+)", path.group(1)):
        numbers = [float(n) for n in args.split()]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:  # a run of dark modules along the row y - 0.5
            row = int(y)
            box = (x * scale, row * scale, (x + numbers[0]) * scale - 1, (row + 1) * scale - 1)
            draw.rectangle(box, fill=0)
            x += numbers[0]
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.fixture
def kiosk_app(make_app: Any, tmp_path: Path) -> Flask:
    """An app whose kiosk knows its public address."""
    return make_app(tmp_path, PUBLIC_URL=PUBLIC, ADMIN_TOKEN=TOKEN)  # type: ignore[no-any-return]


def test_kiosk_shows_the_public_address_and_its_qr_code(kiosk_app: Flask) -> None:
    """TREE_PUBLIC_URL is shown in text and the QR code on the page decodes to it."""
    html = kiosk_app.test_client().get("/queue?kiosk=1").get_data(as_text=True)
    shown = html.replace("<wbr>", "")  # line-break chances in a long address
    assert '<p class="kiosk-url" id="kiosk-url">tree.example.org:8000</p>' in shown
    assert decode_svg_qr(html) == [PUBLIC]


def test_kiosk_adds_a_scheme_so_cameras_open_it(make_app: Any, tmp_path: Path) -> None:
    """An address set without http:// still becomes a link a phone camera opens."""
    app = make_app(tmp_path, PUBLIC_URL="tree.local")
    html = app.test_client().get("/queue?kiosk=1").get_data(as_text=True)
    assert decode_svg_qr(html) == ["http://tree.local"]
    assert ">tree.local</p>" in html.replace("<wbr>", "")


def test_kiosk_on_localhost_without_an_address_shows_no_qr(app: Flask, client: FlaskClient) -> None:
    """Unset, on the Pi's own localhost: no QR code of an address nobody else can open."""
    html = client.get("/queue?kiosk=1").get_data(as_text=True)
    assert "kiosk-qr-code" not in html
    assert "TREE_PUBLIC_URL" in html and "Ask at the tree" in html


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "[::1]:8000", "localhost", "tree.localhost"])
def test_kiosk_never_guesses_a_loopback_address(app: Flask, host: str) -> None:
    """Every loopback spelling counts as "nobody else can open this"."""
    html = app.test_client().get("/queue?kiosk=1", base_url=f"http://{host}").get_data(True)
    assert "kiosk-qr-code" not in html


def test_kiosk_guesses_its_own_lan_address_when_unset(app: Flask) -> None:
    """Unset, opened by the Pi's LAN address: that address is what people can open too."""
    client = app.test_client()
    html = client.get("/queue?kiosk=1", base_url="http://192.168.1.20:8000").get_data(True)
    assert decode_svg_qr(html) == ["http://192.168.1.20:8000/"]
    assert ">192.168.1.20:8000</p>" in html.replace("<wbr>", "")


@pytest.mark.parametrize("host", ["tree.cs.example.edu", "[fe80::1]:8000", "10.0.0.7"])
def test_kiosk_guesses_any_ordinary_host_name_or_address(app: Flask, host: str) -> None:
    """A name, an IPv6 address in brackets, an IPv4 address: each drawn as people type it."""
    html = app.test_client().get("/queue?kiosk=1", base_url=f"http://{host}").get_data(True)
    assert decode_svg_qr(html) == [f"http://{host}/"]


FORGED_HOSTS = [
    ".".join(["label" + "x" * 40] * 3),  # 140 characters: longer than any site name
    "tree.example.org:http",
    "tree_house.example.org",
    "-tree.example.org",
    "[not-an-address]:8000",
]


@pytest.mark.parametrize("host", FORGED_HOSTS)
def test_kiosk_draws_nothing_for_a_host_nobody_could_type(app: Flask, host: str) -> None:
    """A forged Host header gets no QR code (drawing one costs the worker), and no echo of it,
    but the note telling the operator to set TREE_PUBLIC_URL."""
    answer = app.test_client().get("/queue?kiosk=1", headers={"Host": host})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "kiosk-qr-code" not in html and host not in html
    assert "TREE_PUBLIC_URL" in html and "Ask at the tree" in html


def test_kiosk_draws_a_long_configured_address(make_app: Any, tmp_path: Path) -> None:
    """The length bound is for guesses only: TREE_PUBLIC_URL is the operator's and is drawn."""
    public = "http://" + ".".join(["christmas-tree-of-the-department"] * 4) + ":8000/"
    app = make_app(tmp_path, PUBLIC_URL=public)
    forged = ".".join(["x" * 50] * 4)
    html = app.test_client().get("/queue?kiosk=1", headers={"Host": forged}).get_data(True)
    assert decode_svg_qr(html) == [public]


def test_plain_queue_has_no_qr_code(kiosk_app: Flask) -> None:
    """Only the kiosk screen carries the QR code."""
    assert "kiosk-qr-code" not in kiosk_app.test_client().get("/queue").get_data(as_text=True)


def _admin_console(app: Flask) -> str:
    client = app.test_client()
    html = client.get("/admin").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert csrf is not None
    client.post("/admin/login", data={"csrf_token": csrf.group(1), "token": TOKEN})
    return client.get("/admin").get_data(as_text=True)


def test_admin_says_when_the_public_address_is_unset(make_app: Any, tmp_path: Path) -> None:
    """The operator console has a one-line notice while TREE_PUBLIC_URL is unset."""
    html = _admin_console(make_app(tmp_path, ADMIN_TOKEN=TOKEN))
    assert 'id="admin-blank"' in html  # really the console, not the login form
    notice = re.search(r'<p class="flash notice" id="public-url-unset">(.*?)</p>', html)
    assert notice and "TREE_PUBLIC_URL</code> is unset" in notice.group(1)


def test_admin_is_quiet_when_the_public_address_is_set(kiosk_app: Flask) -> None:
    """With the address set, the notice is gone."""
    html = _admin_console(kiosk_app)
    assert 'id="admin-blank"' in html and "public-url-unset" not in html


def test_admin_login_page_does_not_show_the_notice(make_app: Any, tmp_path: Path) -> None:
    """Visitors who are not logged in learn nothing about the settings."""
    html = make_app(tmp_path, ADMIN_TOKEN=TOKEN).test_client().get("/admin").get_data(True)
    assert "public-url-unset" not in html
