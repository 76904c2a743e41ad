"""The one way pages and API reach this app's long-lived services (``app.extensions``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import current_app

if TYPE_CHECKING:
    from web.config import WebConfig
    from web.idle_show import IdleShow
    from web.limits import SubmissionWindows
    from web.predictions import Predictor
    from web.preview_gate import PreviewGate
    from web.runner_client import RunnerLink
    from web.scheduler import Scheduler
    from web.sse import EventHub
    from web.storage import Store


def web_config() -> WebConfig:
    """This app's settings."""
    return cast("WebConfig", current_app.extensions["web_config"])


def scheduler() -> Scheduler:
    """This app's scheduler (the queue)."""
    return cast("Scheduler", current_app.extensions["scheduler"])


def event_hub() -> EventHub:
    """This app's Server-Sent Events fan-out."""
    return cast("EventHub", current_app.extensions["events"])


def runner_link() -> RunnerLink | None:
    """This app's connection to the runner."""
    return cast("RunnerLink | None", current_app.extensions.get("runner_client"))


def submission_windows() -> SubmissionWindows:
    """This app's per-user and per-IP submission windows."""
    return cast("SubmissionWindows", current_app.extensions["submission_limits"])


def preview_windows() -> SubmissionWindows:
    """This app's per-user and per-IP dry-run windows (``TREE_PREVIEW_RATE_PER_*``)."""
    return cast("SubmissionWindows", current_app.extensions["preview_limits"])


def predictor() -> Predictor:
    """This app's background dry runs of queued submissions."""
    return cast("Predictor", current_app.extensions["predictor"])


def preview_gate() -> PreviewGate:
    """This app's fair turns at the runner's dry-run slots."""
    return cast("PreviewGate", current_app.extensions["preview_gate"])


def store() -> Store:
    """This app's ``uploads/`` folder."""
    return cast("Store", current_app.extensions["store"])


def idle_show() -> IdleShow:
    """This app's idle show (starred recordings between programs)."""
    return cast("IdleShow", current_app.extensions["idle_show"])
