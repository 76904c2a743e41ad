"""The process manager behind ``make run``: runner and web side by side, restarted like containers.

Starts ``python -m runner`` (the virtual tree unless ``TREE_LED_BACKEND`` says otherwise) and web
under gunicorn with the repo's config, both with the caller's ``TREE_*`` settings and a socket in a
fresh temporary directory (or ``TREE_SOCKET``). Prints the URL once web answers. A service that
dies is started again after a back-off, as compose's ``restart: unless-stopped`` would do; web
meanwhile keeps serving and says "tree offline". Ctrl-C (SIGINT) or SIGTERM stops web, then the
runner (which blanks the LEDs), and exits 0.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER_ARGV = [sys.executable, "-m", "runner"]
WEB_ARGV = [sys.executable, "-m", "gunicorn", "-c", "web/gunicorn.conf.py", "web:create_app()"]
# A service that dies sooner than this after starting counts as a failed start.
QUICK_DEATH_S = 10.0
# Give up after this many failed starts in a row (a broken install, a port already in use).
MAX_QUICK_DEATHS = 5
MAX_BACKOFF_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.2
PR_SET_PDEATHSIG = 1


def say(text: str) -> None:
    """Print one status line, flushed at once so ``make run`` shows it live."""
    print(f"[ledtree] {text}", flush=True)


def _die_with_parent() -> None:
    # If this manager is SIGKILLed it cannot stop its children; the kernel does it for us then.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class GiveUp(RuntimeError):
    """A service keeps dying right after it starts; restarting it again would not help."""


@dataclass
class Service:
    """One long-running child process and its restart bookkeeping."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    stop_signal: int = signal.SIGTERM
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    next_start: float = 0.0

    def start(self, now: float) -> None:
        """Start the process in its own session so a terminal Ctrl-C reaches only the manager."""
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=dict(self.env),
            start_new_session=True,
            preexec_fn=_die_with_parent,  # safe: this manager starts no threads
        )
        self.started_at = now
        say(f"{self.name} started (pid {self.proc.pid})")

    def check(self, now: float) -> None:
        """Restart the process if it has died, with back-off; raise GiveUp if it keeps dying."""
        if self.proc is None:
            if now >= self.next_start:
                self.start(now)
            return
        code = self.proc.poll()
        if code is None:
            return
        self.proc = None
        lived = now - self.started_at
        self.quick_deaths = self.quick_deaths + 1 if lived < QUICK_DEATH_S else 0
        if self.quick_deaths >= MAX_QUICK_DEATHS:
            raise GiveUp(f"{self.name} died {self.quick_deaths} times right after starting")
        delay = min(MAX_BACKOFF_S, 0.5 * 2**self.quick_deaths)
        self.next_start = now + delay
        say(f"{self.name} exited with code {code} after {lived:.1f}s; restarting in {delay:.1f}s")

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask the process to stop, wait, then kill its whole process group."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        _signal_group(proc.pid, self.stop_signal)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            say(f"{self.name} did not stop within {timeout_s:.0f}s; killing it")
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        say(f"{self.name} stopped")


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone: nothing to stop
        os.killpg(pid, sig)


def web_answers(port: str) -> bool:
    """True when web's /healthz answers on the local port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@dataclass
class Manager:
    """Keeps runner and web alive until told to stop."""

    runner: Service
    web: Service
    port: str
    announced: bool = False
    stopping: bool = field(default=False, repr=False)

    def run_once(self, now: float) -> None:
        """One supervision step: restart what died, announce the URL once web answers."""
        self.runner.check(now)
        self.web.check(now)
        if not self.announced and self.web.proc is not None and web_answers(self.port):
            self.announced = True
            say(f"ledtree is running at http://127.0.0.1:{self.port}  (Ctrl-C stops it)")

    def request_stop(self, signum: int, _frame: object = None) -> None:
        """Signal handler: leave the loop at its next turn."""
        self.stopping = True

    def loop(self) -> None:
        """Supervise until a stop is requested."""
        while not self.stopping:
            self.run_once(time.monotonic())
            time.sleep(POLL_S)

    def shutdown(self) -> None:
        """Stop web first (no new runs), then the runner, which blanks the LEDs on SIGTERM."""
        self.web.stop()
        self.runner.stop()


def port_in_use(host: str, port: str) -> bool:
    """True when something already listens on ``host:port`` (gunicorn would fail to bind)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError:
            return True
    return False


def build_env(environ: Mapping[str, str], socket_dir: str | None) -> dict[str, str]:
    """The children's environment: the caller's, with the socket, port and defaults filled in."""
    env = dict(environ)
    if not env.get("TREE_SOCKET"):
        assert socket_dir is not None
        env["TREE_SOCKET"] = os.path.join(socket_dir, "runner.sock")
    env.setdefault("TREE_PORT", "8000")
    # A laptop's playground stays on the laptop unless TREE_BIND=0.0.0.0 says otherwise.
    env.setdefault("TREE_BIND", "127.0.0.1")
    env.setdefault("TREE_LED_BACKEND", "virtual")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # A laptop is a development machine: the runner starts even if a sandbox layer cannot be
    # applied here (e.g. no root, so no uid drop), and its log names each missing layer.
    env.setdefault("TREE_SANDBOX_DEV", "1")
    return env


def serve(env: dict[str, str]) -> int:
    """Supervise runner and web with ``env``; 0 after a clean stop, 1 when they cannot run."""
    port = env["TREE_PORT"]
    if port_in_use(env["TREE_BIND"], port):
        say(f"port {port} is already in use; pick another, e.g. TREE_PORT=9000 make run")
        return 1
    say(
        f"socket {env['TREE_SOCKET']}, backend {env['TREE_LED_BACKEND']}, "
        f"{env.get('TREE_LED_COUNT', '100')} LEDs, port {port}"
    )
    manager = Manager(
        runner=Service("runner", RUNNER_ARGV, env),
        # SIGQUIT is gunicorn's quick shutdown: open live-view streams must not hold up Ctrl-C.
        web=Service("web", WEB_ARGV, env, stop_signal=signal.SIGQUIT),
        port=port,
    )
    signal.signal(signal.SIGINT, manager.request_stop)
    signal.signal(signal.SIGTERM, manager.request_stop)
    code = 0
    try:
        manager.loop()
    except GiveUp as exc:
        say(f"giving up: {exc}")
        code = 1
    finally:
        manager.shutdown()
    say("stopped")
    return code


def main() -> int:
    """Entry point of ``make run``: a private socket directory unless ``TREE_SOCKET`` is set."""
    socket_dir = None if os.environ.get("TREE_SOCKET") else tempfile.mkdtemp(prefix="ledtree-")
    try:
        return serve(build_env(os.environ, socket_dir))
    finally:
        if socket_dir:
            shutil.rmtree(socket_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
