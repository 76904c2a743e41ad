"""Web benchmarks on one gunicorn process (issue 3): prints figures, asserts nothing.

    .venv/bin/python bench/bench_web.py [queue|events|submit|all] [--seconds N] [--viewers N]

* ``queue``: ``GET /api/queue`` with 100 pending, keep-alive clients; requests/s and p50/p99.
* ``events``: N ``/api/events`` viewers while a program runs at 40 fps (the runner forwards
  all 40/s, so web's 25/s viewer cap binds); frames per viewer per second against that cap,
  and the web worker's CPU (cores used).
* ``submit``: ``POST /api/submissions`` (JSON) throughput with the runner's check online.

The load generator is one asyncio process with raw keep-alive sockets, on the same 2 cores as
the server, so the figures are a floor for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOREVER_40FPS = "while True:\n    setLEDs([[0, 255, 0, 100]] * getLEDCount())\n"


def free_port() -> int:
    """A free TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """A runner (optional) and one gunicorn process on temp paths."""

    def __init__(
        self, with_runner: bool, time_limit: float = 120.0, runner_view_fps: float = 25.0
    ) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="ltb-", dir="/tmp"))
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TREE_")},
            "TREE_SOCKET": str(self.tmp / "r.sock"),
            "TREE_UPLOADS": str(self.tmp / "uploads"),
            "TREE_PORT": str(self.port),
            "TREE_BIND": "127.0.0.1",
            "TREE_LED_COUNT": "100",
            "TREE_FPS": "40",
            "TREE_TIME_LIMIT": str(time_limit),
            "TREE_MAX_PENDING_PER_USER": "100000",
            "TREE_MAX_PENDING_PER_IP": "100000",
            "TREE_RATE_PER_USER": "1000000/minute",
            "TREE_RATE_PER_IP": "1000000/minute",
            "TREE_LOG_LEVEL": "WARNING",
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        log = open(self.tmp / "log", "ab")  # noqa: SIM115 - handed to the processes
        if with_runner:
            runner_env = {**self.env, "TREE_VIEW_FPS": str(runner_view_fps)}
            self.procs.append(subprocess.Popen([sys.executable, "-m", "runner"], env=runner_env,
                                               cwd=ROOT, stdout=log, stderr=log))  # fmt: skip
            _wait(lambda: (self.tmp / "r.sock").exists())
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.web = subprocess.Popen([str(gunicorn), "-c", "web/gunicorn.conf.py"], env=self.env,
                                    cwd=ROOT, stdout=log, stderr=log)  # fmt: skip
        self.procs.append(self.web)
        log.close()
        _wait(lambda: self.health() is not None)
        if with_runner:
            _wait(lambda: (self.health() or {}).get("runner_online") is True)

    def health(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                return json.loads(r.read())  # type: ignore[no-any-return]
        except OSError:
            return None

    def post(self, source: str) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/submissions",
            data=json.dumps({"source": source}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children").read_text().split()
        return int(children[0])

    def close(self) -> None:
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _wait(pred: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out starting the stack")
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- GET /api/queue ---------------------------------------------------------------------------


async def _keepalive_client(port: int, path: str, until: float, lat: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        lat.append(time.perf_counter() - t0)
    writer.close()


def bench_queue(seconds: float, clients: int) -> None:
    """Requests/s and latency of GET /api/queue with 100 pending."""
    stack = Stack(with_runner=False)
    try:
        for i in range(100):
            stack.post(f"print({i})\n")
        lat: list[float] = []
        until = time.perf_counter() + seconds
        cpu0, t0 = cpu_seconds(stack.worker_pid()), time.perf_counter()

        async def main() -> None:
            await asyncio.gather(
                *(_keepalive_client(stack.port, "/api/queue", until, lat) for _ in range(clients))
            )

        asyncio.run(main())
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(stack.worker_pid()) - cpu0
        lat.sort()
        print(f"GET /api/queue (100 pending, {clients} keep-alive clients, {seconds:.0f} s):")
        p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
        print(f"  {len(lat) / wall:,.0f} req/s   p50 {p50:.2f} ms   p99 {p99:.2f} ms")
        # On a shared machine the worker may get a fraction of a core: say how much it got,
        # and what one full core of it serves.
        print(
            f"  web CPU {cpu / wall:.2f} cores; {len(lat) / cpu:,.0f} requests per web CPU-second"
        )
        print(f"  load average {os.getloadavg()[0]:.1f}")
    finally:
        stack.close()


# --- /api/events -------------------------------------------------------------------------------


async def _viewer(port: int, until: float, start: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    marker = b"event: frame\n"
    n, tail = 0, b""
    try:
        while True:
            left = until - time.perf_counter()
            if left <= 0:
                break
            # Raw reads, not readline: 500 viewers x 25 events/s must not make the client the
            # bottleneck. The tail keeps a marker split across two reads countable.
            data = tail + await asyncio.wait_for(reader.read(1 << 16), left)
            if time.perf_counter() >= start:
                n += data.count(marker)
            tail = data[-(len(marker) - 1) :]
            if marker in tail:
                tail = b""
    except TimeoutError:
        pass
    counts.append(n)
    writer.close()


async def _runner_frames(socket_path: str, until: float, start: float) -> int:
    """Count the frames the runner itself sends (a second client of its socket)."""
    reader, writer = await asyncio.open_unix_connection(socket_path, limit=1 << 22)
    writer.write(b'{"kind":"hello","version":1,"client":"bench"}\n')
    n = 0
    try:
        while (left := until - time.perf_counter()) > 0:
            line = await asyncio.wait_for(reader.readline(), left)
            if line.startswith(b'{"kind":"frame"') and time.perf_counter() >= start:
                n += 1
    except TimeoutError:
        pass
    writer.close()
    return n


def bench_events(seconds: float, viewers: int) -> None:
    """Frames per viewer per second (cap 25) and web CPU with many viewers."""
    # The runner forwards every frame it shows (40/s), so web's 25/s viewer cap is what binds.
    stack = Stack(with_runner=True, runner_view_fps=40.0)
    try:
        stack.post(FOREVER_40FPS)
        _wait(lambda: bool(json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{stack.port}/api/queue").read())["running"]))  # fmt: skip
        counts: list[int] = []
        warmup = 3.0
        start = time.perf_counter() + warmup
        until = start + seconds
        pid = stack.worker_pid()

        async def main() -> tuple[float, float, int]:
            tasks = [asyncio.create_task(_viewer(stack.port, until, start, counts))
                     for _ in range(viewers)]  # fmt: skip
            source = asyncio.create_task(_runner_frames(stack.env["TREE_SOCKET"], until, start))
            await asyncio.sleep(max(0.0, start - time.perf_counter()))
            cpu0, t0, mine0 = cpu_seconds(pid), time.perf_counter(), time.process_time()
            await asyncio.gather(*tasks)
            client_cpu.append(time.process_time() - mine0)
            return cpu_seconds(pid) - cpu0, time.perf_counter() - t0, await source

        client_cpu: list[float] = []
        cpu, wall, sent = asyncio.run(main())
        offered = min(sent / seconds, 25.0)  # what a viewer could get: the runner's rate, capped
        rates = sorted(c / seconds for c in counts)
        share = statistics.mean(min(r / offered, 1.0) for r in rates) if offered else 0.0
        print(f"/api/events: {len(counts)} viewers, program at 40 fps, {seconds:.0f} s window:")
        print(f"  runner sent {sent / seconds:.1f} frames/s to web; viewer cap 25/s")
        mean, p5 = statistics.mean(rates), rates[len(rates) // 20]
        print(f"  frames/viewer/s: mean {mean:.1f}  min {rates[0]:.1f}  p5 {p5:.1f}")
        print(f"  delivered {share:.1%} of what was offered (min(runner rate, cap))")
        print(f"  web CPU {cpu / wall:.2f} cores; {sum(counts) / cpu:,.0f} frame events/CPU-s; "
              f"this client {client_cpu[0] / wall:.2f} cores")  # fmt: skip
        print(f"  load average {os.getloadavg()[0]:.1f}")
    finally:
        stack.close()


# --- POST /api/submissions -----------------------------------------------------------------------


async def _poster(port: int, until: float, lat: list[float], codes: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    while time.perf_counter() < until:
        body = json.dumps({"source": f"x = {n}\nprint(x)\n"}).encode()
        n += 1
        t0 = time.perf_counter()
        writer.write(b"POST /api/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        code = int(head.split(b" ", 2)[1])
        codes[code] = codes.get(code, 0) + 1
        lat.append(time.perf_counter() - t0)
    writer.close()


def bench_submit(seconds: float, clients: int) -> None:
    """Accepted submissions per second (runner check over the socket, fsync'd files)."""
    stack = Stack(with_runner=True)
    try:
        # Keep the tree busy so the queue only grows (the dispatcher is not what we measure).
        stack.post(FOREVER_40FPS)
        lat: list[float] = []
        codes: dict[int, int] = {}
        until = time.perf_counter() + seconds
        t0 = time.perf_counter()

        async def main() -> None:
            await asyncio.gather(*(_poster(stack.port, until, lat, codes) for _ in range(clients)))

        asyncio.run(main())
        wall = time.perf_counter() - t0
        lat.sort()
        print(f"POST /api/submissions ({clients} clients, runner check online, {seconds:.0f} s):")
        p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
        print(f"  {codes.get(201, 0) / wall:,.0f} accepted/s   statuses {codes}")
        print(f"  p50 {p50:.1f} ms   p99 {p99:.1f} ms   load average {os.getloadavg()[0]:.1f}")
    finally:
        stack.close()


def main() -> None:
    """Run the chosen benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", default="all",
                        choices=["queue", "events", "submit", "all"])  # fmt: skip
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; one gunicorn process (gevent worker)")
    if args.which in ("queue", "all"):
        bench_queue(args.seconds, args.clients)
    if args.which in ("events", "all"):
        bench_events(args.seconds, args.viewers)
    if args.which in ("submit", "all"):
        bench_submit(args.seconds, args.clients)


if __name__ == "__main__":
    main()
