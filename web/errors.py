"""The one builder of the error JSON of SPEC §4: ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    """The error JSON: code, a sentence for people, and any non-None extras (line, col, ...)."""
    err: dict[str, object] = {"code": code, "message": message}
    err.update({k: v for k, v in extra.items() if v is not None})
    return {"error": err}
