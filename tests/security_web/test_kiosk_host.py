"""The kiosk must not draw a QR code of whatever ``Host`` header a client sends.

Without ``TREE_PUBLIC_URL`` the kiosk guesses the site's address from the request's own
``Host`` and draws its QR code on the server (segno, pure Python) for every such request; the
cache keeps 8 addresses. A forged ``Host`` of ~2,000 characters (dot-separated labels, which
werkzeug accepts) costs ~0.7 s of CPU in the one gevent worker, during which nothing else is
served. Measured on the code this was written against: four clients looping on
``GET /queue?kiosk=1`` with fresh random hosts made ``GET /healthz`` from a fifth take 2.6-4.3 s
(15 ms otherwise), and the live view stalled with it.
"""

from __future__ import annotations

from pathlib import Path

from tests.security_web.conftest import make_app

FORGED_HOST = ".".join(["attacker" + "x" * 50] * 34)  # 2,000+ characters in 59-character labels


def test_cant_make_the_kiosk_draw_a_qr_code_of_a_forged_host(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    answer = client.get("/queue?kiosk=1", headers={"Host": FORGED_HOST})
    page = answer.get_data(as_text=True)
    assert "kiosk-qr-code" not in page and "attackerxxxx" not in page, (
        f"the kiosk drew a QR code of a {len(FORGED_HOST)}-character Host header it was sent"
    )
