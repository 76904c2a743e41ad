"""gunicorn settings for web: ``gunicorn -c web/gunicorn.conf.py`` (SPEC §7, §9).

ONE worker process, always: the queue, the runner connection and the live-view fan-out live
in that process's memory, so a second worker would run a second, competing queue.

The worker is gevent rather than gthread: every open ``/api/events`` stream holds its
connection for as long as the page is open, and at an event hundreds of phones keep one open.
A greenlet per stream costs a few KiB, where a thread per stream would need hundreds of OS
threads fighting over the GIL. gunicorn patches the standard library before it loads the app,
so the scheduler and runner-client "threads" run as greenlets in the same worker.
"""

import os
import tempfile

wsgi_app = "web:create_app()"
bind = f"{os.environ.get('TREE_BIND', '0.0.0.0')}:{os.environ.get('TREE_PORT', '8000')}"
workers = 1  # the queue is in memory: see above
# No gunicorn control socket: nothing uses it, and several local servers would share one path.
control_socket_disable = True
worker_class = "gevent"
worker_connections = int(os.environ.get("TREE_WORKER_CONNECTIONS", "2000"))
# Event streams never end on their own; don't let them hold a restart up for long.
graceful_timeout = 3
timeout = 30
keepalive = 5
# The app (and its threads) must be created in the worker, after gevent's patching.
preload_app = False
accesslog = os.environ.get("TREE_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("TREE_LOG_LEVEL", "info")
# gunicorn's runtime control socket lives at one fixed path per user; we don't use it, and
# two servers on one machine (tests, make run) would fight over it.
control_socket_disable = True


def worker_exit(server: object, worker: object) -> None:
    """Stop the scheduler and runner connection cleanly when the worker ends."""
    app = getattr(worker, "wsgi", None)
    if app is not None and "scheduler" in getattr(app, "extensions", {}):
        from web import stop_services

        stop_services(app, timeout=2.0)


def on_starting(server: object) -> None:
    """Refuse to start, in one line, when the uploads folder is not writable by this uid.

    Without this, a root-owned ``./uploads`` (a clone made as root) gave a PermissionError
    traceback on every restart of the container. README: ``sudo chown 1000:1000 uploads``.
    """
    folder = os.path.abspath(os.environ.get("TREE_UPLOADS", "uploads"))
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        uid, gid = os.getuid(), os.getgid()
        raise SystemExit(
            f"web: cannot write to {folder} ({exc.strerror}): it must belong to uid {uid}; "
            f"on the host run `sudo chown -R {uid}:{gid} uploads`"
        ) from None
