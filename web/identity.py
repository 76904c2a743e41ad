"""Who is asking: a ``user_id`` fingerprint in a signed cookie, and the client's IP address.

``user_id`` is an HMAC (keyed with the app's secret, so it cannot be reversed into an IP) of
the client IP and User-Agent. The browser keeps it in a signed cookie; a forged or tampered
cookie fails the signature check and counts as no cookie. The client IP is ``remote_addr``,
which werkzeug's ``ProxyFix`` rewrites from ``X-Forwarded-For`` only when
``TREE_TRUSTED_PROXIES`` says how many proxies to trust.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

COOKIE = "tree_uid"
COOKIE_MAX_AGE = 60 * 60 * 24 * 365


def _digest(kind: str, text: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{kind}\n{text}".encode(), hashlib.sha256).hexdigest()[:24]


def fingerprint(ip: str, user_agent: str) -> str:
    """The user id for a client IP and User-Agent."""
    return _digest("user", f"{ip}\n{user_agent}")


def ip_id(ip: str) -> str:
    """A keyed hash of the client IP (what per-IP limits and stored state use)."""
    return _digest("ip", ip)


def _serializer() -> URLSafeSerializer:
    # Built once per app: constructing one costs more than using it.
    serializer: URLSafeSerializer | None = current_app.extensions.get("identity_serializer")
    if serializer is None:
        secret = str(current_app.config["SECRET_KEY"])
        serializer = URLSafeSerializer(secret, salt="tree-user-id")
        current_app.extensions["identity_serializer"] = serializer
    return serializer


def _identify() -> None:
    g.client_ip = request.remote_addr or "unknown"
    g.ip_id = ip_id(g.client_ip)
    g.set_identity_cookie = False
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            user_id = _serializer().loads(raw)
            if isinstance(user_id, str) and user_id:
                g.user_id = user_id
                return
        except BadSignature:
            pass  # forged or tampered: treat as no cookie
    g.user_id = fingerprint(g.client_ip, request.headers.get("User-Agent", ""))
    g.set_identity_cookie = True


def _set_cookie(response: Response) -> Response:
    if getattr(g, "set_identity_cookie", False):
        response.set_cookie(
            COOKIE,
            _serializer().dumps(g.user_id),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


def current_user_id() -> str | None:
    """The requester's user id (for templates: highlight "your" submissions)."""
    return getattr(g, "user_id", None)


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
    app.jinja_env.globals["current_user_id"] = current_user_id
