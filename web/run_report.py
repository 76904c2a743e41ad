"""A run's report in plain words (the ``/runs/<id>`` page and ``report`` in its JSON)."""

from __future__ import annotations

from typing import Any

from web.storage import Submission

ENDINGS = {
    "ended": "finished by itself",
    "time_limit": "ran out of time (normal for an endless animation)",
    "invalid_frame": "sent an invalid frame",
    "memory_limit": "used too much memory",
    "cpu_limit": "used too much computing time",
    "killed": "was stopped by the sandbox",
    "crashed": "could not be run (the sandbox failed, not the program)",
    "runner_lost": "was cut short: the tree went offline",
    "operator": "stopped by the operator",
    "author": "stopped by its author",
}


def outcome(sub: Submission) -> str:
    """One sentence: how the run ended ("crashed at line 5", "stopped by its author")."""
    if sub.status == "pending":
        return "waiting for its turn"
    if sub.status == "running":
        return "on the tree now"
    line = (sub.error or {}).get("line")
    at = f" at line {line}" if line else ""
    if sub.status == "cancelled" and sub.started_at is None:
        who = "its author" if sub.reason == "author" else "the operator"
        return f"cancelled by {who} before it ran"
    if sub.reason == "error":
        return f"crashed{at}"
    if sub.reason == "invalid_frame":
        return f"sent an invalid frame{at}"
    return ENDINGS.get(sub.reason or "", (sub.reason or sub.status).replace("_", " "))


def protection(sub: Submission) -> list[str]:
    """What the power budget and the flash limiter changed, one sentence each (or none)."""
    words = []
    if sub.frames_scaled:
        share = round(sub.power_scale_min * 100)
        words.append(
            f"{_frames(sub.frames_scaled)} dimmed to at most {share} % to stay within the "
            "power supply"
        )
    if sub.frames_damped:
        words.append(f"{_frames(sub.frames_damped)} softened to avoid flashing")
    return words


def _frames(n: int) -> str:
    return f"{n} frame" if n == 1 else f"{n} frames"


def report(sub: Submission) -> dict[str, Any]:
    """The report's JSON: ``outcome``, ``fps`` achieved (frames / duration), ``protection``."""
    fps = None
    if sub.duration_s and sub.duration_s > 0 and sub.status not in ("pending", "running"):
        fps = round(sub.frames / sub.duration_s, 1)
    return {"outcome": outcome(sub), "fps": fps, "protection": protection(sub)}
