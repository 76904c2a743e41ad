"""Web's memory over a long evening (issue 9): prints the gunicorn worker's RSS, asserts nothing.

    .venv/bin/python bench/bench_web_memory.py [--frames 12000] [--leds 500] [--history 5000]
                                               [--runs 1000] [--keep 500]

One real gunicorn worker, with ``uploads/`` holding ``--history`` finished submissions from
earlier in the evening (16 KiB of log each). On the runner socket sits a stand-in runner that
speaks the real protocol (web cannot tell): it answers each Run at once with Started, a log
line and Finished, and sends ``--frames`` frames of ``--leds`` LEDs, every one of them (the
real runner forwards at most 25 per second, so this is the worst case for web). ``--runs``
programs are submitted over HTTP meanwhile. RSS is read from /proc after start, after the
frames and after the runs; SPEC-side budget: 120 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocol.framing import read_message, write_message  # noqa: E402
from protocol.messages import (  # noqa: E402
    PROTOCOL_VERSION,
    Check,
    CheckResult,
    Finished,
    Frame,
    Hello,
    Idle,
    Log,
    Run,
    Started,
    Welcome,
)

BUDGET_MB = 120.0


def free_port() -> int:
    """A free TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LOG_16K = ("frame done\n" * 1500)[: 16 * 1024]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A /proc/<pid>/status memory field in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_history(uploads: Path, count: int) -> None:
    """Finished submissions as a long evening leaves them (state + source files)."""
    uploads.mkdir(parents=True, exist_ok=True)
    user = "ab" * 16
    for n in range(count):
        sid = f"{n:032x}"
        state = {
            "id": sid, "timestamp": f"2026-12-01T{10 + n // 3600 % 10:02d}:{n // 60 % 60:02d}:"
            f"{n % 60:02d}+00:00", "user_id": user, "ip_id": "ip", "language": "python",
            "name": "bench", "title": f"run {n}", "status": "completed", "reason": "time_limit",
            "error": None, "started_at": None, "finished_at": None, "duration_s": 45.0,
            "frames": 1800, "log": LOG_16K, "seq": n,
        }  # fmt: skip
        (uploads / f"{user}_{sid}.py").write_text("setLEDs([RED] * getLEDCount())\n")
        (uploads / f"{user}_{sid}.json").write_text(json.dumps(state))


class StandInRunner:
    """Listens on the runner socket and speaks the protocol as a very fast runner would."""

    def __init__(self, path: str, leds: int) -> None:
        self.leds = leds
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.write_lock = threading.Lock()
        self.wfile: object = None
        self.connected = threading.Event()
        self.runs = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _send(self, msg: object) -> None:
        with self.write_lock:
            write_message(self.wfile, msg)  # type: ignore[arg-type]

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        rfile, self.wfile = conn.makefile("rb"), conn.makefile("wb")
        hello = read_message(rfile)
        assert isinstance(hello, Hello)
        positions = [(0.0, 0.0, i / self.leds) for i in range(self.leds)]
        self._send(Welcome(version=PROTOCOL_VERSION, led_count=self.leds, positions=positions,
                           fps=40.0, backend="virtual"))  # fmt: skip
        self._send(Idle())
        self.connected.set()
        while (msg := read_message(rfile)) is not None:
            if isinstance(msg, Check):
                self._send(CheckResult(request_id=msg.request_id, ok=True))
            elif isinstance(msg, Run):
                self.runs += 1
                self._send(Started(submission_id=msg.submission_id))
                self._send(Log(submission_id=msg.submission_id, text=LOG_16K))
                self._send(
                    Finished(
                        submission_id=msg.submission_id,
                        status="completed",
                        reason="ended",
                        duration_s=0.1,
                        frames=1,
                        log=LOG_16K,
                    )
                )
                self._send(Idle())  # fmt: skip

    def frames(self, count: int) -> None:
        """Send ``count`` frames, each a different picture."""
        for n in range(count):
            level = n % 256
            leds = [[level, 0, 255 - level, 100]] * self.leds
            self._send(Frame(submission_id=None, index=n, leds=leds))


def start_web(folder: Path, keep: int) -> subprocess.Popen[bytes]:
    """One gunicorn worker on ``folder``'s uploads and socket, with roomy submission limits."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TREE_")},
        "TREE_SOCKET": str(folder / "r.sock"),
        "TREE_UPLOADS": str(folder / "uploads"),
        "TREE_PORT": str(free_port()),
        "TREE_BIND": "127.0.0.1",
        "TREE_MAX_PENDING_PER_USER": "100000",
        "TREE_MAX_PENDING_PER_IP": "100000",
        "TREE_RATE_PER_USER": "1000000/minute",
        "TREE_RATE_PER_IP": "1000000/minute",
        "TREE_LOG_LEVEL": "WARNING",
        "TREE_KEEP_FINISHED": str(keep),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = open(folder / "web.log", "ab")  # noqa: SIM115 - handed to the process
    web = subprocess.Popen([str(gunicorn), "-c", "web/gunicorn.conf.py"], env=env, cwd=ROOT,
                           stdout=log, stderr=log)  # fmt: skip
    log.close()
    web.url = f"http://127.0.0.1:{env['TREE_PORT']}"  # type: ignore[attr-defined]
    return web


def post(url: str, source: str) -> None:
    """Queue a program as a cookie-less script would."""
    req = urllib.request.Request(
        f"{url}/api/submissions", data=json.dumps({"source": source}).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def worker_pid(master: int, timeout: float = 60.0) -> int:
    """The pid of gunicorn's (only) worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise SystemExit("gunicorn started no worker")


def main() -> None:
    """Run the scenario and print the worker's RSS at each step."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--frames", type=int, default=12_000)
    parser.add_argument("--leds", type=int, default=500)
    parser.add_argument("--history", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--keep", type=int, default=500, help="TREE_KEEP_FINISHED")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ltm-", dir="/tmp"))
    write_history(folder / "uploads", args.history)
    runner = StandInRunner(str(folder / "r.sock"), args.leds)
    web = start_web(folder, args.keep)
    try:
        if not runner.connected.wait(60):
            raise SystemExit("web never connected to the runner socket")
        pid = worker_pid(web.pid)
        print(f"TREE_KEEP_FINISHED={args.keep}")
        print(f"web RSS after start with {args.history} finished submissions on disk: "
              f"{rss_mb(pid):.1f} MB")  # fmt: skip
        t0 = time.monotonic()
        runner.frames(args.frames)
        time.sleep(1.0)  # let the worker take the last frames
        print(f"web RSS after {args.frames} frames of {args.leds} LEDs "
              f"({time.monotonic() - t0:.1f} s): {rss_mb(pid):.1f} MB")  # fmt: skip
        for _ in range(args.runs):
            post(web.url, "setLEDs([RED] * getLEDCount())\n")  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120
        while runner.runs < args.runs and time.monotonic() < deadline:
            time.sleep(0.1)
        print(f"web RSS after {runner.runs} more runs (16 KiB log each): {rss_mb(pid):.1f} MB")
        peak = rss_mb(pid, "VmHWM")
        verdict = "within" if peak <= BUDGET_MB else "OVER"
        print(f"web peak RSS (VmHWM): {peak:.1f} MB, {verdict} the {BUDGET_MB:.0f} MB budget")
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(15)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
