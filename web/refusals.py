"""Why a submission must wait (SPEC §3's per-user and per-IP limits), in full sentences.

Each refusal says how long to wait (the page counts it down) and, when the user's own pending
programs are what blocks them, which ones they could cancel to make room.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web.services import scheduler, submission_windows, web_config


@dataclass(frozen=True)
class Refusal:
    """A 429: code, sentence, seconds to wait, and the programs the user could cancel."""

    code: str
    message: str
    retry_after: int
    cancellable: list[dict[str, Any]] | None = None


def fmt_duration(seconds: float) -> str:
    """``42 s`` or ``4 min 05 s`` (as the pages write durations)."""
    s = max(0, round(seconds))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


def _programs(subs: list[dict[str, Any]]) -> str:
    names = [f"“{s['title'] or 'Untitled'}” (#{s['position']})" for s in subs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def limit_refusal(user_id: str, ip_id: str) -> Refusal | None:
    """The first limit this user or network has reached, or None when they may submit."""
    cfg, sched = web_config(), scheduler()
    mine = sched.pending_of(user_id=user_id)
    if len(mine) >= cfg.max_pending_per_user:
        wait = max(1, int(mine[0]["eta_seconds"] + cfg.time_limit))
        message = (
            f"You already have {len(mine)} programs waiting, the most one person may have: "
            f"{_programs(mine)}. Cancel one of them on the Queue page to send this one now, "
            f"or send it once the first has run, in about {fmt_duration(wait)}."
        )
        listed = [{"id": s["id"], "title": s["title"], "position": s["position"]} for s in mine]
        return Refusal("too_many_pending", message, wait, listed)
    network = sched.pending_of(ip_id=ip_id)
    if len(network) >= cfg.max_pending_per_ip:
        wait = max(1, int(network[0]["eta_seconds"] + cfg.time_limit))
        message = (
            f"Your network already has {len(network)} programs waiting, the most one address "
            f"may have. Please try again in about {fmt_duration(wait)}."
        )
        return Refusal("too_many_pending", message, wait)
    windows = submission_windows()
    limited = windows.retry_after(user_id, ip_id)
    if limited is None:
        return None
    wait, who = limited
    rate = windows.per_user if who == "user" else windows.per_ip
    subject = "You have" if who == "user" else "Your network has"
    message = (
        f"{subject} sent {rate.amount} programs in {_period(rate.period_s)}, the most allowed. "
        f"You can send the next one in {fmt_duration(wait)}."
    )
    return Refusal("rate_limited", message, wait)


def _period(seconds: float) -> str:
    minutes = seconds / 60
    if minutes >= 1 and minutes == int(minutes):
        return "the last minute" if minutes == 1 else f"the last {int(minutes)} minutes"
    return f"the last {int(seconds)} seconds"
