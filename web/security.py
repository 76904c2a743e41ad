"""Security headers, CSRF for form posts, a same-origin check for the API, JSON errors.

* CSP ``script-src 'self'``: no inline script anywhere (templates load static files).
* Form posts (pages) carry ``csrf_token`` (signed, bound to the user id).
* The JSON API is used by our own JavaScript and by curl: state-changing requests are refused
  when the browser says they come from another site (``Sec-Fetch-Site``/``Origin``), and the
  identity cookie is ``SameSite=Lax``; curl sends neither header and works.
* Errors never show a stack trace: 500s are logged and answered with a short message.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from web.errors import error_body
from web.identity import form_owner_id

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MAX_AGE_S = 60 * 60 * 24


def _csrf_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt="tree-csrf")


def csrf_token() -> str:
    """A token for the hidden ``csrf_token`` field of a form (bound to the user id)."""
    token = getattr(g, "csrf_token", None)
    if token is None:
        token = g.csrf_token = _csrf_serializer().dumps(form_owner_id())
    return str(token)


def csrf_valid(token: str | None) -> bool:
    """Whether a submitted form token belongs to this user and is fresh."""
    if not token:
        return False
    try:
        owner = _csrf_serializer().loads(token, max_age=CSRF_MAX_AGE_S)
    except BadData:
        return False
    return hmac.compare_digest(str(owner), str(getattr(g, "user_id", "")))


def cross_site() -> bool:
    """True when the browser says this request was made by another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in {"same-origin", "none"}
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != request.host


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/healthz"))


def refusal(
    status: int, code: str, message: str, retry_after: int | None = None
) -> ResponseReturnValue:
    """An error answer: the JSON of SPEC §4 for the API, a short plain text for pages."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if _wants_json():
        return jsonify(error_body(code, message, retry_after=retry_after)), status, headers
    return Response(message + "\n", status, mimetype="text/plain", headers=headers)


def _guard() -> ResponseReturnValue | None:
    if request.method not in UNSAFE_METHODS:
        return None
    if cross_site():
        return refusal(403, "forbidden", "cross-site request refused")
    is_form = request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}
    if is_form and not _wants_json() and not csrf_valid(request.form.get("csrf_token")):
        return refusal(400, "bad_request", "The form has expired: go back, reload and try again.")
    return None


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    code = {413: "too_large", 415: "unsupported_media_type", 404: "not_found"}.get(
        exc.code or 500, "bad_request" if (exc.code or 500) < 500 else "internal"
    )
    if not _wants_json():
        return exc  # pages get werkzeug's plain error page (fixed, escaped text)
    message = exc.description or exc.name
    if exc.code == 413:  # werkzeug's text ("data value ... capacity") says nothing useful
        message = "the request is too large: a program can be at most 64 KiB"
    return refusal(exc.code or 500, code, message)


def _internal_error(exc: Exception) -> ResponseReturnValue:
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return refusal(500, "internal", "something went wrong on our side")


def init_app(app: Flask) -> None:
    """Install the guards, headers, Jinja helpers and error handlers."""
    app.before_request(_guard)
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    app.jinja_env.globals["csrf_token"] = csrf_token
