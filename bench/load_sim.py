"""Produced-vs-consumed load simulator: many users submit over HTTP, nothing may be lost.

Starts the REAL runner (``python -m runner``, virtual tree, pacing off, tiny time limit) and REAL
gunicorn (``web/gunicorn.conf.py``) on a free port with a temporary socket and uploads folder,
then lets N simulated users (each its own User-Agent, cookie jar and - with
``TREE_TRUSTED_PROXIES=1`` - its own ``X-Forwarded-For`` address) submit M short programs in
total. It checks that every 201 reaches a final state, that programs started in exactly the order
they were accepted, and that every 429 carries ``Retry-After``; it prints figures and exits
non-zero on any discrepancy.

    .venv/bin/python bench/load_sim.py --submissions 1000 --users 50

``Stack`` (the two real processes) is also what the fault-injection tests use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FINAL = {"completed", "failed", "cancelled"}


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """The real runner and the real gunicorn, as child processes on temporary paths."""

    def __init__(
        self, workdir: Path, env: dict[str, str] | None = None, web_user: str | None = None
    ) -> None:
        self.workdir = workdir
        # Run web as this user (root only): file permissions then bind it as they would in a
        # container, which they never do for root.
        self.web_user = web_user if os.geteuid() == 0 else None
        self.socket = str(workdir / "sock" / "runner.sock")
        self.uploads = workdir / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "TREE_SOCKET": self.socket,
            "TREE_UPLOADS": str(self.uploads),
            "TREE_PORT": str(self.port),
            "TREE_BIND": "127.0.0.1",
            "TREE_LED_COUNT": "10",
            "TREE_LED_BACKEND": "virtual",
            "TREE_FPS": "0",
            "TREE_TIME_LIMIT": "2",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.runner: subprocess.Popen[bytes] | None = None
        self.web: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        out = open(self.workdir / log, "ab")  # noqa: SIM115 - the child owns it until it exits
        try:
            return subprocess.Popen(
                args,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()

    def start_runner(self) -> None:
        """Start ``python -m runner`` on the stack's socket."""
        self.runner = self._spawn([sys.executable, "-m", "runner"], "runner.log")

    def start_web(self) -> None:
        """Start gunicorn with the project's config file."""
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "web" / "gunicorn.conf.py"),
            "web:create_app()",
        ]
        if self.web_user:
            args = [
                "setpriv",
                f"--reuid={self.web_user}",
                f"--regid={self.web_user}",
                "--clear-groups",
                "--",
                *args,
            ]
        self.web = self._spawn(args, "web.log")

    def kill(self, which: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the runner or web process group and reap it."""
        proc = self.runner if which == "runner" else self.web
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def health(self) -> dict[str, Any] | None:
        """``/healthz`` as JSON, or None when web does not answer."""
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                return json.loads(resp.read())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return None

    def wait_until(self, ready: str = "runner", timeout: float = 60.0) -> None:
        """Wait until web answers (``web``) or also sees the runner (``runner``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc, name in ((self.web, "web"), (self.runner, "runner")):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.logs()}")
            h = self.health()
            if h is not None and (ready == "web" or h.get("runner_online")):
                return
            time.sleep(0.1)
        raise TimeoutError(f"stack not ready ({ready}) after {timeout}s:\n{self.logs()}")

    def start(self) -> Stack:
        """Start both and wait until web sees the runner."""
        self.start_runner()
        self.start_web()
        self.wait_until("runner")
        return self

    def logs(self) -> str:
        """The tail of both processes' output, for failure messages."""
        parts = []
        for name in ("runner.log", "web.log"):
            path = self.workdir / name
            if path.exists():
                parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop both politely, then firmly."""
        for which in ("web", "runner"):
            proc = self.web if which == "web" else self.runner
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(which)


@dataclass
class Figures:
    """What the simulation saw."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected_429: int = 0
    missing_retry_after: int = 0
    other_errors: list[str] = field(default_factory=list)
    post_latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def request(
    opener: urllib.request.OpenerDirector,
    method: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request: ``(status, headers, parsed JSON or None)``."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with opener.open(req, timeout=30) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        status, hdrs, raw = err.code, dict(err.headers), err.read()
    try:
        return status, hdrs, json.loads(raw) if raw else None
    except ValueError:
        return status, hdrs, raw.decode(errors="replace")


def user(index: int, count: int, url: str, figures: Figures, deadline: float) -> None:
    """One simulated user: submit ``count`` programs, waiting briefly whenever told to."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    headers = {
        "User-Agent": f"load-sim-user-{index}/1.0",
        "X-Forwarded-For": f"10.{index // 250}.{index % 250}.7",
    }
    sent = 0
    while sent < count and time.monotonic() < deadline:
        source = f"# user {index} program {sent}\nsetLEDs([RED] * getLEDCount())\n"
        t0 = time.perf_counter()
        status, hdrs, body = request(
            opener,
            "POST",
            url + "/api/submissions",
            headers,
            {"source": source, "name": f"user{index}", "title": f"#{sent}"},
        )
        with figures.lock:
            figures.post_latencies.append(time.perf_counter() - t0)
            if status == 201:
                figures.accepted.append(body)
                sent += 1
            elif status == 429:
                figures.rejected_429 += 1
                if "Retry-After" not in hdrs:
                    figures.missing_retry_after += 1
            else:
                figures.other_errors.append(f"user {index}: {status} {body!r:.200}")
                sent += 1  # do not hammer a broken server
        if status == 429:
            # Retry-After is an ETA for the whole queue ahead; coming back a little sooner
            # (at most a second later) keeps the simulation quick without flooding web.
            wait = float(hdrs.get("Retry-After") or 1)
            time.sleep(min(wait, 1.0) * random.uniform(0.5, 1.0))


def follow(url: str, figures: Figures, deadline: float) -> dict[str, dict[str, Any]]:
    """Poll every accepted submission until it is final or the deadline passes."""
    opener = urllib.request.build_opener()
    final: dict[str, dict[str, Any]] = {}
    todo = [s["id"] for s in figures.accepted]
    while todo and time.monotonic() < deadline:
        still = []
        for sid in todo:
            status, _, body = request(opener, "GET", f"{url}/api/submissions/{sid}", {})
            if status == 200 and isinstance(body, dict) and body.get("status") in FINAL:
                final[sid] = body
            else:
                still.append(sid)
        todo = still
        if todo:
            time.sleep(0.5)
    return final


def check(figures: Figures, final: dict[str, dict[str, Any]]) -> list[str]:
    """Every discrepancy between what was accepted and what was run, worst first."""
    problems = [
        f"lost: {s['id']} never reached a final state"
        for s in figures.accepted
        if s["id"] not in final
    ]
    subs = [final[s["id"]] for s in figures.accepted if s["id"] in final]
    accepted = [s["id"] for s in sorted(subs, key=lambda s: s["timestamp"])]
    started = [s["id"] for s in sorted(subs, key=lambda s: s.get("started_at") or "~")]
    if accepted != started:
        first = next(i for i, (a, b) in enumerate(zip(accepted, started, strict=True)) if a != b)
        problems.append(
            f"out of order from position {first}: accepted {accepted[first]}, "
            f"started {started[first]}"
        )
    if figures.missing_retry_after:
        problems.append(f"{figures.missing_retry_after} responses 429 without Retry-After")
    problems += figures.other_errors
    # The programs are trivial: anything but completed means the run itself went wrong.
    # (completed/time_limit can happen on a loaded machine and is still a finished run.)
    problems += [
        f"{s['id']}: {s['status']}/{s.get('reason')} {s.get('error')}"
        for s in subs
        if s["status"] != "completed"
    ]
    return problems


def simulate(url: str, submissions: int, users: int, timeout: float = 1800.0) -> int:
    """Run the simulation against a running stack; print figures; return the exit code."""
    figures, deadline = Figures(), time.monotonic() + timeout
    per_user = [submissions // users + (1 if i < submissions % users else 0) for i in range(users)]
    t0 = time.monotonic()
    threads = [
        threading.Thread(target=user, args=(i, n, url, figures, deadline), daemon=True)
        for i, n in enumerate(per_user)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    produced = time.monotonic() - t0
    final = follow(url, figures, deadline)
    consumed = time.monotonic() - t0
    problems = check(figures, final)
    lat = sorted(figures.post_latencies) or [0.0]
    completed = Counter(f"{s['status']}/{s.get('reason')}" for s in final.values())
    print(f"users {users}, submissions wanted {submissions}")
    print(f"accepted (201)        {len(figures.accepted)}")
    print(
        f"429 answers           {figures.rejected_429} (without Retry-After: "
        f"{figures.missing_retry_after})"
    )
    print(
        f"final                 {len(final)}  lost {len(figures.accepted) - len(final)}  "
        f"({', '.join(f'{k} {v}' for k, v in sorted(completed.items()))})"
    )
    print(
        f"POST latency          p50 {statistics.median(lat) * 1000:.1f} ms, "
        f"p99 {lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0] * 1000:.1f} ms"
    )
    print(
        f"all submitted after   {produced:.1f} s; all final after {consumed:.1f} s "
        f"({len(final) / consumed:.1f} runs/s)"
    )
    print(f"discrepancies         {len(problems)}")
    for p in problems[:20]:
        print("  " + p)
    return 1 if problems or len(figures.accepted) < submissions else 0


def main(argv: list[str] | None = None) -> int:
    """Start a stack in a temporary folder, simulate, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--url", help="use a running web instead of starting a stack")
    args = parser.parse_args(argv)
    if args.url:
        return simulate(args.url, args.submissions, args.users)
    with tempfile.TemporaryDirectory(prefix="ledtree-load-") as tmp:
        env = {
            "TREE_TRUSTED_PROXIES": "1",
            "TREE_TIME_LIMIT": "1",
            # Windows wide enough for the whole simulation; the pending caps stay at their
            # defaults so users do meet 429s and must come back.
            "TREE_RATE_PER_USER": "100000/10 minutes",
            "TREE_RATE_PER_IP": "100000/10 minutes",
        }
        stack = Stack(Path(tmp), env)
        try:
            stack.start()
            return simulate(stack.url, args.submissions, args.users)
        finally:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
