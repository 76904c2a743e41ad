"""Who is asking: a random ``user_id`` kept in a signed cookie, and the client's IP address.

On a browser's first page view web mints a random id (``secrets``) and hands it out in a signed
cookie; from then on that cookie is the browser's identity, so two identical machines behind
one address are two people. A forged, tampered or old-style cookie fails the signature check
and counts as no cookie. A request without a valid cookie (curl, or a client that refuses
cookies) is identified by its fingerprint, a keyed hash of client IP + User-Agent: such clients
share an identity with their look-alikes, which is documented; a minted id never equals a
fingerprint (different lengths), so the fingerprint alone never reaches a browser's programs.
The fingerprint of IP alone keys the per-IP limits. The client IP is ``remote_addr``, which
werkzeug's ``ProxyFix`` rewrites from ``X-Forwarded-For`` only when ``TREE_TRUSTED_PROXIES``
says how many proxies to trust.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

COOKIE = "tree_uid"
COOKIE_MAX_AGE = 60 * 60 * 24 * 365
_MINTED = re.compile(r"[0-9a-f]{32}")
# The API never hands out a cookie: a script without one keeps one identity (its fingerprint)
# instead of owning its first submission under one id and the rest under another. Browsers
# get theirs with the first page, before any API call.
_NO_COOKIE_PATHS = ("/api/", "/healthz", "/static/")


def _digest(kind: str, text: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{kind}\n{text}".encode(), hashlib.sha256).hexdigest()[:24]


def fingerprint(ip: str, user_agent: str) -> str:
    """The id of a client without a valid cookie: a keyed hash of its IP and User-Agent."""
    return _digest("user", f"{ip}\n{user_agent}")


def mint_user_id() -> str:
    """A new random user id for a browser's first visit (32 hex digits; fingerprints have 24)."""
    return secrets.token_hex(16)


def ip_id(ip: str) -> str:
    """A keyed hash of the client IP (what per-IP limits and stored state use)."""
    return _digest("ip", ip)


def _serializer() -> URLSafeSerializer:
    # Built once per app: constructing one costs more than using it.
    serializer: URLSafeSerializer | None = current_app.extensions.get("identity_serializer")
    if serializer is None:
        secret = str(current_app.config["SECRET_KEY"])
        # A new salt: cookies of the old fingerprint ids count as no cookie.
        serializer = URLSafeSerializer(secret, salt="tree-user-id-random")
        current_app.extensions["identity_serializer"] = serializer
    return serializer


def _identify() -> None:
    g.client_ip = request.remote_addr or "unknown"
    g.ip_id = ip_id(g.client_ip)
    g.new_user_id = None
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            user_id = _serializer().loads(raw)
            if isinstance(user_id, str) and _MINTED.fullmatch(user_id):
                g.user_id = user_id
                return
        except BadSignature:
            pass  # forged or tampered: treat as no cookie
    g.user_id = fingerprint(g.client_ip, request.headers.get("User-Agent", ""))
    if not request.path.startswith(_NO_COOKIE_PATHS):
        g.new_user_id = mint_user_id()  # this browser's id from its next request on


def form_owner_id() -> str:
    """The id a form on this page will be posted under (the new cookie's, on a first visit)."""
    return str(getattr(g, "new_user_id", None) or getattr(g, "user_id", ""))


def _set_cookie(response: Response) -> Response:
    new_id = getattr(g, "new_user_id", None)
    if new_id:
        response.set_cookie(
            COOKIE,
            _serializer().dumps(new_id),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


def init_app(app: Flask) -> None:
    """Trust ``TREE_TRUSTED_PROXIES`` proxies, identify every request and hand out the cookie."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    @app.before_request
    def identify() -> ResponseReturnValue | None:
        _identify()
        return None

    app.after_request(_set_cookie)
