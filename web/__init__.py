"""The web app: pages, JSON API and the FCFS scheduler (SPEC §3, §4)."""

from __future__ import annotations

import atexit
import os
from typing import Any

from flask import Config, Flask

from web import identity, limits, security
from web.config import defaults
from web.runner_client import RunnerClient
from web.scheduler import Scheduler
from web.sse import EventHub
from web.storage import Store


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``TREE_*`` environment variables, then ``test_config``."""
    app = Flask(__name__)
    app.config.from_mapping(defaults())
    app.config.from_prefixed_env("TREE")
    _raw_strings(app.config)
    if test_config:
        app.config.update(test_config)
    _normalise(app.config)
    store = Store(app.config["UPLOADS"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = store.secret_key()

    identity.init_app(app)  # first: the other hooks need g.user_id
    security.init_app(app)
    limits.init_app(app)
    _init_services(app, store)

    from web import admin_api, api
    from web.pages import register_pages

    app.register_blueprint(api.bp)
    app.register_blueprint(api.health_bp)
    if app.config.get("ADMIN_TOKEN"):
        app.register_blueprint(admin_api.bp)
    register_pages(app)

    if app.config["START_SERVICES"] and not app.testing:
        start_services(app)
    return app


# Settings that are text whatever they look like: ``from_prefixed_env`` would turn a token
# ``null`` into None (operator controls silently off) or ``1.50`` into ``1.5`` (token refused).
_TEXT_SETTINGS = ("SECRET_KEY", "ADMIN_TOKEN", "SOCKET", "UPLOADS", "RATE_PER_USER", "RATE_PER_IP")


def _raw_strings(config: Config) -> None:
    """Take the text settings from the environment exactly as written."""
    for key in _TEXT_SETTINGS:
        raw = os.environ.get(f"TREE_{key}")
        if raw is not None:
            config[key] = raw


def _normalise(config: Config) -> None:
    """Give every setting its type: ``from_prefixed_env`` parses values as JSON when it can."""
    for key in ("SECRET_KEY", "ADMIN_TOKEN"):
        if config.get(key) is not None and config[key] != "":
            config[key] = str(config[key])
    for key in ("SOCKET", "UPLOADS", "RATE_PER_USER", "RATE_PER_IP"):
        config[key] = str(config[key])
    for key in ("TIME_LIMIT", "VIEW_FPS", "CHECK_TIMEOUT"):
        config[key] = float(config[key])
    for key in ("MAX_PENDING_PER_USER", "MAX_PENDING_PER_IP", "TRUSTED_PROXIES"):
        config[key] = int(config[key])


def _init_services(app: Flask, store: Store) -> None:
    hub = EventHub(frame_rate=float(app.config["VIEW_FPS"]))
    scheduler = Scheduler(store, time_limit_s=float(app.config["TIME_LIMIT"]), publish=hub.publish)
    client = RunnerClient(str(app.config["SOCKET"]), listener=scheduler)
    scheduler.runner = client
    scheduler.load()
    hub.publish("tree", scheduler.tree_event())
    app.extensions.update(store=store, events=hub, scheduler=scheduler, runner_client=client)


def start_services(app: Flask) -> None:
    """Start the runner connection and the dispatcher (in the process that serves requests)."""
    app.extensions["runner_client"].start()
    app.extensions["scheduler"].start()
    atexit.register(stop_services, app)


def stop_services(app: Flask, timeout: float = 5.0) -> None:
    """Stop the dispatcher and the runner connection, and end every event stream."""
    app.extensions["events"].close()
    app.extensions["scheduler"].stop(timeout)
    app.extensions["runner_client"].close(timeout)
