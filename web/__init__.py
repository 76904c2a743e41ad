"""The web app: pages, JSON API and the FCFS scheduler (SPEC §3, §4)."""

from __future__ import annotations

import atexit
import dataclasses
import os
from typing import Any

from flask import Flask

from web import identity, intake, limits, security
from web.config import FLASK_DEFAULTS, WebConfig
from web.idle_show import IdleShow
from web.predictions import Predictor
from web.preview_gate import PreviewGate
from web.runner_client import RunnerClient
from web.scheduler import Scheduler
from web.sse import EventHub
from web.storage import Store


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``TREE_*`` environment variables, then ``test_config``."""
    app = Flask(__name__)
    overrides = dict(test_config or {})
    config = WebConfig.from_environ(os.environ, overrides)
    app.config.from_mapping(FLASK_DEFAULTS)
    app.config.from_mapping(config.flask_settings())
    app.config.update({k: v for k, v in overrides.items() if k not in WebConfig.setting_keys()})
    store = Store(config.uploads)
    if not config.secret_key:
        config = dataclasses.replace(config, secret_key=store.secret_key())
        app.config["SECRET_KEY"] = config.secret_key
    app.extensions["web_config"] = config

    identity.init_app(app)  # first: the other hooks need g.user_id
    intake.init_app(app, config)  # before anything reads a body (the CSRF guard reads forms)
    security.init_app(app)
    limits.init_app(app, config)
    _init_services(app, config, store)

    from web import admin_api, api, preview_api, runs_api
    from web.pages import register_pages

    app.register_blueprint(api.bp)
    app.register_blueprint(runs_api.bp)
    app.register_blueprint(preview_api.bp)
    app.register_blueprint(api.health_bp)
    if config.admin_token:
        app.register_blueprint(admin_api.bp)
    register_pages(app)

    if app.config["START_SERVICES"] and not app.testing:
        start_services(app)
    return app


def _init_services(app: Flask, config: WebConfig, store: Store) -> None:
    hub = EventHub(frame_rate=config.view_fps)
    windows = app.extensions["submission_limits"]
    scheduler = Scheduler(
        store,
        time_limit_s=config.time_limit,
        publish=hub.publish,
        keep_finished=config.keep_finished,
        cancelled_keep_per_user=config.cancelled_keep_per_user,
        cancelled_keep=config.cancelled_keep,
        on_finished=windows.refund_if_free,
    )
    client = RunnerClient(config.socket, listener=scheduler.events)
    scheduler.runner = client
    scheduler.load()
    show = IdleShow(scheduler)
    gate = PreviewGate(config.preview_slots)
    predictor = Predictor(scheduler, timeout_s=config.preview_timeout, gate=gate)
    hub.publish("tree", scheduler.tree_event())
    app.extensions.update(
        store=store, events=hub, scheduler=scheduler, runner_client=client, idle_show=show,
        predictor=predictor, preview_gate=gate,
    )  # fmt: skip


def start_services(app: Flask) -> None:
    """Start the runner connection and the dispatcher (in the process that serves requests)."""
    app.extensions["runner_client"].start()
    app.extensions["scheduler"].start()
    app.extensions["idle_show"].start()
    app.extensions["predictor"].start()
    atexit.register(stop_services, app)


def stop_services(app: Flask, timeout: float = 5.0) -> None:
    """Stop the dispatcher and the runner connection, and end every event stream."""
    app.extensions["events"].close()
    app.extensions["idle_show"].stop(timeout)
    app.extensions["scheduler"].stop(timeout)
    app.extensions["runner_client"].close(timeout)
    # Last: closing the runner connection wakes a dry run that is waiting for its answer.
    app.extensions["predictor"].stop(timeout)
