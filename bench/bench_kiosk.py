"""The kiosk's QR code (red team round four, finding 6): the worker's CPU per kiosk request.

``/queue?kiosk=1`` without ``TREE_PUBLIC_URL`` guesses the site's address from the request's
``Host`` and draws its QR code in pure Python (segno) in the one gevent worker. Prints the CPU
time (process time, so other load on the machine does not count) per request, through the real
app and Flask's test client, for:

(a) a forged ~2,000-character ``Host`` (dot-separated 59-character labels), fresh each time,
    and what drawing its QR code alone costs (what every such request cost before the fix);
(b) a fresh, well-formed 100-character host each time (the longest still guessed; the worst an
    attacker can now ask for);
(c) the same host again and again (the kiosk itself: the QR code comes from the cache).

    .venv/bin/python bench/bench_kiosk.py [--requests 20]
"""

from __future__ import annotations

import argparse
import random
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient

from web import create_app
from web.pages.queue_page import MAX_GUESSED_HOST, qr_svg


def _label(length: int) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=length))


def forged_host() -> str:
    """What the red team sent: 34 labels of 59 characters, 2,039 characters in all."""
    return ".".join(_label(59) for _ in range(34))


def longest_guessable_host() -> str:
    """A fresh, well-formed host of exactly ``MAX_GUESSED_HOST`` characters, with a port."""
    name = f"{_label(60)}.{_label(MAX_GUESSED_HOST - 60 - 1 - 4 - 6)}.org"
    host = f"{name}:{random.randint(10000, 65535)}"
    assert len(host) == MAX_GUESSED_HOST
    return host


def cpu_ms_per_request(client: FlaskClient, hosts: Callable[[], str], n: int) -> tuple[float, bool]:
    """Mean CPU milliseconds per kiosk request, and whether the last page carried a QR code."""
    page = b""
    start = time.process_time()
    for _ in range(n):
        answer = client.get("/queue?kiosk=1", headers={"Host": hosts()})
        assert answer.status_code == 200, answer.status_code
        page = answer.get_data()
    return (time.process_time() - start) / n * 1000, b"kiosk-qr-code" in page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"TESTING": True, "UPLOADS": f"{tmp}/uploads", "SECRET_KEY": "bench",
             "SOCKET": str(Path(tmp) / "no-runner.sock")}
        )  # fmt: skip
        client = app.test_client()
        client.get("/queue?kiosk=1", headers={"Host": "warm.example.org"})  # templates compiled
        n = args.requests
        for what, hosts in [
            ("(a) forged 2,039-character Host, fresh", forged_host),
            ("(b) well-formed 100-character host, fresh", longest_guessable_host),
            ("(c) the kiosk's own host, repeated", lambda: "tree.example.org:8000"),
        ]:
            ms, drawn = cpu_ms_per_request(client, hosts, n)
            print(f"{what:45} {ms:7.1f} ms CPU/request  QR code: {'drawn' if drawn else 'none'}")
        start = time.process_time()
        for _ in range(max(1, n // 4)):
            qr_svg(f"http://{forged_host()}/")
        ms = (time.process_time() - start) / max(1, n // 4) * 1000
        print(f"{'    drawing (a) QR code alone (before the fix)':45} {ms:7.1f} ms CPU")


if __name__ == "__main__":
    main()
