"""``/queue``: now playing, pending with position and ETA, recently finished; ``?kiosk=1``."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

import segno
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from web.pages._data import queue_snapshot, require_csrf
from web.services import scheduler

bp = Blueprint("queue_page", __name__)

# The kiosk screen cannot scroll: it shows this many rows and counts the rest.
KIOSK_PENDING = 6
KIOSK_RECENT = 3

# A guessed address must look like one a person could type, and be short: the QR code is drawn
# in pure Python in the one worker, and its cost grows with the text (~8 ms at 100 characters,
# ~120 ms at 2,000), so a forged ``Host`` must not choose it. Real site names are far shorter.
MAX_GUESSED_HOST = 100
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_GUESSABLE_HOST = re.compile(
    rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[(?P<ipv6>[0-9a-f:.]+)\])(?::[0-9]{{1,5}})?", re.IGNORECASE
)
# The kiosk shows one address; a few entries cover TREE_PUBLIC_URL changing and several names.
QR_CACHE_SIZE = 4


@bp.get("/queue")
def show() -> str:
    """Render the queue; kiosk mode drops the chrome, adds the live tree, the QR code, big type."""
    kiosk = request.args.get("kiosk") in ("1", "true", "yes")
    address = public_url() if kiosk else None
    return render_template(
        "queue_page/show.html",
        queue=queue_snapshot(),
        kiosk=kiosk,
        kiosk_pending=KIOSK_PENDING,
        kiosk_recent=KIOSK_RECENT,
        public_url=address,
        public_label=_label(address) if address else None,
        qr_svg=qr_svg(address) if address else None,
    )


def public_url() -> str | None:
    """The address people in the room should open: ``TREE_PUBLIC_URL``, else a guess.

    The guess is the address the kiosk browser itself used, unless that is a loopback host
    (``localhost:8000`` on the Pi), which nobody else can open: then there is no address.
    """
    configured = str(current_app.config.get("PUBLIC_URL") or "").strip()
    if configured:
        # Phone cameras only open a QR code as a link when it carries a scheme.
        return configured if "://" in configured else f"http://{configured}"
    if not guessable_host(request.host):
        return None
    host = (urlsplit(request.host_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost") or _is_loopback(host):
        return None
    return request.host_url


def guessable_host(host: str) -> bool:
    """Whether a ``Host`` header may be shown and drawn: a hostname or IP, optional port, short."""
    match = _GUESSABLE_HOST.fullmatch(host) if len(host) <= MAX_GUESSED_HOST else None
    if match is None:
        return False
    return match["ipv6"] is None or _is_ip(match["ipv6"])


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _label(url: str) -> str:
    """The address as people type it: no ``http://``, no trailing slash."""
    text = url.split("://", 1)[-1]
    return text[:-1] if text.endswith("/") and text.count("/") == 1 else text


@bp.app_template_filter("breakable")
def breakable(text: str) -> Markup:
    """``text`` escaped, with a line-break chance after each dot and slash (long addresses)."""
    return Markup("").join(
        Markup("{}<wbr>").format(part) for part in re.split(r"(?<=[./])", text) if part
    )


@lru_cache(maxsize=QR_CACHE_SIZE)
def qr_svg(url: str) -> Markup:
    """An inline SVG QR code of ``url`` (black on white, as every scanner expects)."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(
        scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="kiosk-qr-code"
    )
    return Markup(svg)  # noqa: S704 - segno writes only path data made from our URL's bits


@bp.post("/queue/cancel/<submission_id>")
def cancel(submission_id: str) -> Response | tuple[str, int]:
    """Cancel one of the requester's pending submissions (the no-JavaScript Cancel button)."""
    require_csrf()
    try:
        scheduler().cancel(submission_id, g.user_id)
    except KeyError:
        return "No such submission.", 404
    except PermissionError:
        return "Only its author can cancel a submission.", 403
    except ValueError:
        flash("It has already finished, so it cannot be cancelled.", "error")
    return redirect(url_for("queue_page.show"))
