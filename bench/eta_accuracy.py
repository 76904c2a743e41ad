"""How true are the queue's ETAs? A load simulation over the real runner and gunicorn (issue 11).

Starts ``load_sim.Stack`` (the REAL ``python -m runner`` on the virtual tree and the REAL
gunicorn) with a shortened but otherwise production-like setup: a 10 s time limit, pacing on at
40 fps, 50 LEDs, dry runs of every queued submission as in production. Several simulated users
(each its own cookie jar, User-Agent and ``X-Forwarded-For`` address) submit a shuffled mix in a
burst, so a queue builds up, and a few more while it drains:

- ``short``: sleep-paced animations of 1-3 s;
- ``long``: endless animations that run into the time limit;
- ``fails``: animations that raise ZeroDivisionError at a known line after 0.5-3 s;
- ``paced``: no sleep at all, held back only by the tree's frame rate (1-3 s of frames);
- ``compute``: frames after busy loops, so their length depends on CPU speed (and load).

Every ETA a user could read is sampled: the ``eta_seconds`` of the 201 answer (the moment of
queueing) and, every ``--sample-s`` seconds while the submission waits,
``GET /api/submissions/<id>``. The real remaining wait is the submission's ``started_at`` (when
web sent it to the runner, its own wall clock; the same clock as ours on this machine) minus the
observation's time. An observation's error is ``|ETA shown - real wait| / real wait``; those
with a real wait under ``--min-wait-s`` (1 s) are skipped, since the shown ETA is rounded to
whole seconds and a share of nearly nothing says nothing. The same observations are also scored
under the old worst-case rule (the running program at its full remaining limit, everyone ahead at
the full limit, no overhead), from the position in the same answer.

It also listens to ``/api/events`` to measure the per-run overhead: from web's ``finished``
event of one run to the first frame of the next (the tree shows it), and per run how much
longer than its prediction the queue really took (next start - this start - prediction).

Settings the bench relaxes (so only the queue shapes the waits): ``TREE_MAX_PENDING_PER_USER``
and ``TREE_MAX_PENDING_PER_IP`` (room for every user's burst), ``TREE_RATE_PER_USER`` and
``TREE_RATE_PER_IP`` (wide windows), ``TREE_TRUSTED_PROXIES=1`` (each user its own address).

It exits 1 only on real discrepancies (a submission refused despite the relaxed limits, lost,
or started out of order); the goal (median error at most 15 %) is printed as PASS or MISS.
``--dump FILE`` keeps every observation for ``bench/eta_replay.py``, which replays them under
other per-run overhead rules.

    .venv/bin/python bench/eta_accuracy.py            # ~2-3 minutes
    .venv/bin/python bench/eta_accuracy.py --burst 12 --later 4 --users 4
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from load_sim import FINAL, Stack, request  # bench/ is the script's folder, first on sys.path

TIME_LIMIT_S = 10.0
FPS = 40
LEDS = 50
GOAL = 0.15  # the goal for the median relative error

HEADER = "import time\nn = getLEDCount()\n"
FRAME = "setLEDs([fromHSV(j / n + i * 0.01, 1, 1) for j in range(n)])"


def program(kind: str, rng: random.Random) -> tuple[str, str]:
    """A program of ``kind`` and a short description of what it should do."""
    if kind == "short":
        s = rng.uniform(1, 3)
        body = f"for i in range({round(s / 0.05)}):\n    {FRAME}\n    time.sleep(0.05)\n"
        return HEADER + body, f"sleeps {s:.1f} s"
    if kind == "long":
        body = f"i = 0\nwhile True:\n    {FRAME}\n    time.sleep(0.05)\n    i += 1\n"
        return HEADER + body, "endless"
    if kind == "fails":
        s = rng.uniform(0.5, 3)
        body = f"for i in range({round(s / 0.05)}):\n    {FRAME}\n    time.sleep(0.05)\nx = 0\n"
        return HEADER + body + "print(1 / x)  # line 7\n", f"fails at line 7 after {s:.1f} s"
    if kind == "paced":
        s = rng.uniform(1, 3)
        body = f"for i in range({round(s * FPS)}):\n    {FRAME}\n"  # the frame rate paces it
        return HEADER + body, f"{round(s * FPS)} frames at {FPS} fps"
    if kind == "compute":
        work = rng.randrange(20_000, 80_000, 5_000)
        body = (
            f"total = 0\nfor i in range(20):\n    {FRAME}\n"
            f"    for k in range({work}):\n        total += k * k % 7\n"
        )
        return HEADER + body, f"20 frames after {work} loop steps each"
    raise ValueError(kind)


MIX = {"short": 0.35, "long": 0.15, "fails": 0.2, "paced": 0.15, "compute": 0.15}


@dataclass
class Sub:
    """One accepted submission and every ETA seen for it."""

    id: str
    kind: str
    what: str
    user: int
    # (our wall time, eta_seconds shown, position shown, "queued" | "sample")
    seen: list[tuple[float, float, int, str]] = field(default_factory=list)
    queued_at: float = 0.0  # our wall time
    predicted_at: float | None = None  # when a sample first showed its prediction
    final: dict[str, Any] | None = None


@dataclass
class Run:
    """Everything the simulation saw, shared by its threads."""

    url: str
    sample_s: float
    subs: list[Sub] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_frame: dict[str, float] = field(default_factory=dict)  # id -> our wall time
    finished_event: dict[str, float] = field(default_factory=dict)  # id -> our wall time
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)


def epoch(iso: str | None) -> float | None:
    """Seconds since the epoch of web's ISO timestamps."""
    return datetime.fromisoformat(iso).timestamp() if iso else None


class User:
    """A simulated user: own cookies, User-Agent and address."""

    def __init__(self, index: int, url: str) -> None:
        self.index, self.url = index, url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.headers = {
            "User-Agent": f"eta-sim-user-{index}/1.0",
            "X-Forwarded-For": f"10.1.{index}.7",
        }

    def submit(self, run: Run, kind: str, source: str, what: str) -> None:
        """POST one program; keep its first ETA, or note why it was refused."""
        t0 = time.time()
        status, _, body = request(
            self.opener,
            "POST",
            self.url + "/api/submissions",
            self.headers,
            {"source": source, "name": f"user{self.index}", "title": kind},
        )
        t = (t0 + time.time()) / 2
        with run.lock:
            if status != 201 or not isinstance(body, dict):
                run.problems.append(f"user {self.index} {kind}: {status} {body!r:.200}")
                return
            sub = Sub(body["id"], kind, what, self.index, queued_at=t)
            if body.get("eta_seconds") is not None:
                sub.seen.append((t, float(body["eta_seconds"]), int(body["position"]), "queued"))
            run.subs.append(sub)


def sample(run: Run, interval_s: float) -> None:
    """Every ``interval_s``: the ETA of each submission not yet started, as its page shows it."""
    opener = urllib.request.build_opener()
    while not run.done.wait(interval_s):
        with run.lock:
            waiting = [s for s in run.subs if s.final is None]
        for sub in waiting:
            t0 = time.time()
            status, _, body = request(opener, "GET", f"{run.url}/api/submissions/{sub.id}", {})
            t = (t0 + time.time()) / 2
            if status != 200 or not isinstance(body, dict):
                continue
            if body.get("predicted_s") is not None and sub.predicted_at is None:
                sub.predicted_at = t
            if body["status"] == "pending" and body.get("eta_seconds") is not None:
                sub.seen.append((t, float(body["eta_seconds"]), int(body["position"]), "sample"))
            elif body["status"] in FINAL:
                sub.final = body


def listen(run: Run) -> None:
    """Follow ``/api/events``: when web announced each run's end, when each run's first frame
    came (our wall time)."""
    with urllib.request.urlopen(run.url + "/api/events", timeout=30) as resp:
        kind = ""
        while not run.done.is_set():
            line = resp.readline()
            if not line:
                return
            text = line.decode().rstrip("\n")
            if text.startswith("event: "):
                kind = text[7:]
            elif text.startswith("data: ") and kind in ("frame", "submission"):
                data = json.loads(text[6:])
                now = time.time()
                if kind == "frame" and data.get("submission_id"):
                    run.first_frame.setdefault(data["submission_id"], now)
                elif kind == "submission" and data.get("status") in FINAL:
                    run.finished_event.setdefault(data["id"], now)


def follow(run: Run, deadline: float) -> None:
    """Wait until every submission is final (the sampler also fills them in)."""
    opener = urllib.request.build_opener()
    while time.monotonic() < deadline:
        with run.lock:
            todo = [s for s in run.subs if s.final is None]
        if not todo:
            return
        for sub in todo:
            status, _, body = request(opener, "GET", f"{run.url}/api/submissions/{sub.id}", {})
            if status == 200 and isinstance(body, dict) and body["status"] in FINAL:
                sub.final = body
        time.sleep(1.0)


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def worst_case_eta(t: float, position: int, runs: list[tuple[float, float]], limit: float) -> float:
    """The old rule at time ``t``: the running program's full remaining limit plus the full limit
    for each program ahead. ``runs`` are (start, end) of every run, to find the one running."""
    running = [start for start, end in runs if start <= t < end]
    left = max(0.0, running[0] + limit - t) if running else 0.0
    return left + (position - 1) * limit


def score(run: Run, limit: float, min_wait_s: float) -> dict[str, Any]:
    """Relative and absolute errors of both rules over every observation."""
    runs = []
    for sub in run.subs:
        f = sub.final or {}
        start, end = epoch(f.get("started_at")), epoch(f.get("finished_at"))
        if start is not None and end is not None:
            runs.append((start, end))
    rel: dict[str, list[float]] = {k: [] for k in ("now", "old", "now_queued", "old_queued",
                                                    "now_ready", "old_ready")}  # fmt: skip
    absolute: dict[str, list[float]] = {"now": [], "old": []}
    signed: list[float] = []
    signed_ready: list[float] = []
    skipped = 0
    for sub in run.subs:
        start = epoch((sub.final or {}).get("started_at"))
        if start is None:
            continue
        ahead = [
            (epoch((a.final or {}).get("finished_at")) or math.inf, a.predicted_at or math.inf)
            for a in run.subs
            if a.queued_at < sub.queued_at
        ]
        for t, eta, position, when in sub.seen:
            real = start - t
            if real < min_wait_s:
                skipped += 1
                continue
            old = worst_case_eta(t, position, runs, limit)
            rel["now"].append(abs(eta - real) / real)
            rel["old"].append(abs(old - real) / real)
            absolute["now"].append(abs(eta - real))
            absolute["old"].append(abs(old - real))
            signed.append(eta - real)
            if when == "queued":
                rel["now_queued"].append(abs(eta - real) / real)
                rel["old_queued"].append(abs(old - real) / real)
            # Every program still running or waiting ahead had shown its prediction by then
            # (as sampled: a prediction may have come up to one sample earlier).
            if all(predicted <= t for end, predicted in ahead if end > t):
                rel["now_ready"].append(abs(eta - real) / real)
                rel["old_ready"].append(abs(old - real) / real)
                signed_ready.append(eta - real)
    return {
        "rel": rel,
        "abs": absolute,
        "signed": signed,
        "signed_ready": signed_ready,
        "skipped": skipped,
    }


def overheads(run: Run) -> dict[str, list[float]]:
    """Per-run costs beyond the programs' own time, between consecutive runs."""
    done = sorted(
        (s for s in run.subs if s.final and s.final.get("started_at")),
        key=lambda s: epoch(s.final["started_at"]) or 0.0,  # type: ignore[index]
    )
    out: dict[str, list[float]] = {
        "finished_to_start": [],
        "finished_to_frame": [],
        "step_minus_pred": [],
        "run_extra": [],
    }
    for this, nxt in zip(done, done[1:], strict=False):
        assert this.final is not None and nxt.final is not None
        start, nstart = epoch(this.final["started_at"]), epoch(nxt.final["started_at"])
        end = epoch(this.final.get("finished_at"))
        assert start is not None and nstart is not None
        if end is not None and nstart - end > 1.0:
            continue  # the queue ran dry in between: no one was waiting
        if end is not None:
            out["finished_to_start"].append(nstart - end)
        if this.id in run.finished_event and nxt.id in run.first_frame:
            out["finished_to_frame"].append(run.first_frame[nxt.id] - run.finished_event[this.id])
        if this.final.get("predicted_s") is not None:
            out["step_minus_pred"].append(nstart - start - float(this.final["predicted_s"]))
        if end is not None and this.final.get("duration_s") is not None:
            # web's span of the run minus the program's own time on the runner's clock
            out["run_extra"].append(end - start - float(this.final["duration_s"]))
    return out


def pct(x: float) -> str:
    """A share as a percentage."""
    return f"{x * 100:.1f} %"


def row(label: str, now: str, old: str) -> None:
    """One line of the side-by-side table."""
    print(f"{label:42}{now:>18}{old:>18}")


def report(run: Run, limit: float, min_wait_s: float, elapsed: float) -> int:
    """Print the figures; 1 on discrepancies (lost or out of order), else 0."""
    lost = [s.id for s in run.subs if s.final is None]
    problems = list(run.problems) + [f"lost: {sid} never reached a final state" for sid in lost]
    started = sorted(
        (s for s in run.subs if s.final and s.final.get("started_at")),
        key=lambda s: epoch(s.final["started_at"]) or 0.0,  # type: ignore[index]
    )
    accepted = sorted(
        (s for s in run.subs if s.final),
        key=lambda s: epoch(s.final["timestamp"]) or 0.0,  # type: ignore[index]
    )
    if [s.id for s in started] != [s.id for s in accepted if s in started]:
        problems.append("programs started out of their accepted order")
    outcomes = Counter(
        f"{s.kind}->{s.final['status']}/{s.final.get('reason')}" for s in run.subs if s.final
    )
    sc = score(run, limit, min_wait_s)
    rel, ab = sc["rel"], sc["abs"]
    n_obs = len(rel["now"])
    users = len({s.user for s in run.subs})
    print(f"time limit {limit:g} s, pacing {FPS} fps, {LEDS} LEDs; run took {elapsed:.0f} s")
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"submissions {len(run.subs)} from {users} users; lost {len(lost)}")
    print("outcomes    " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print(
        f"observations {n_obs} scored ({sum(1 for s in run.subs if s.seen)} submissions), "
        f"{sc['skipped']} skipped (real wait under {min_wait_s:g} s)"
    )
    if n_obs:
        print(f"{'':42}{'prediction rule':>18}{'worst-case rule':>18}")
        med, p90 = statistics.median, lambda v: quantile(v, 0.9)
        row("median |ETA - wait| / wait", pct(med(rel["now"])), pct(med(rel["old"])))
        row("p90    |ETA - wait| / wait", pct(p90(rel["now"])), pct(p90(rel["old"])))
        row("median |ETA - wait|", f"{med(ab['now']):.1f} s", f"{med(ab['old']):.1f} s")
        if rel["now_queued"]:
            now_q, old_q = rel["now_queued"], rel["old_queued"]
            row(f"  at queueing only (n={len(now_q)}): median", pct(med(now_q)), pct(med(old_q)))
            row(f"  at queueing only (n={len(now_q)}): p90", pct(p90(now_q)), pct(p90(old_q)))
        if rel["now_ready"]:
            now_r, old_r = rel["now_ready"], rel["old_ready"]
            row(f"  all ahead predicted (n={len(now_r)}): median", pct(med(now_r)), pct(med(old_r)))
            row(f"  all ahead predicted (n={len(now_r)}): p90", pct(p90(now_r)), pct(p90(old_r)))
        for key, label in (("signed", "all"), ("signed_ready", "all ahead predicted")):
            signed = sc[key]
            if signed:
                print(
                    f"prediction rule bias ({label}): median ETA - wait "
                    f"{statistics.median(signed):+.2f} s "
                    f"({sum(1 for x in signed if x < 0)} of {len(signed)} too early)"
                )
        median = statistics.median(rel["now"])
        verdict = "PASS" if median <= GOAL else "MISS"
        print(f"goal median <= {GOAL * 100:.0f} %: {verdict} ({median * 100:.1f} %)")
    oh = overheads(run)
    for key, label in (
        ("finished_to_start", "Finished (web) -> next run sent"),
        ("finished_to_frame", "Finished (web) -> next run's first frame"),
        ("step_minus_pred", "next start - start - prediction"),
        ("run_extra", "web's run span - runner's run time"),
    ):
        vals = oh[key]
        if vals:
            print(
                f"overhead {label:42} median {statistics.median(vals):+.3f} s, "
                f"mean {statistics.fmean(vals):+.3f} s, p90 {quantile(vals, 0.9):+.3f} s "
                f"(n={len(vals)})"
            )
    by_kind: dict[str, list[float]] = {}
    for s in run.subs:
        f = s.final or {}
        if f.get("predicted_s") is not None and f.get("duration_s") is not None:
            by_kind.setdefault(s.kind, []).append(float(f["duration_s"]) - float(f["predicted_s"]))
    for kind, vals in sorted(by_kind.items()):
        print(
            f"run time - prediction  {kind:8} median {statistics.median(vals):+.2f} s, "
            f"max {max(vals, key=abs):+.2f} s (n={len(vals)})"
        )
    lags = [s.predicted_at - s.queued_at for s in run.subs if s.predicted_at is not None]
    if lags:
        print(
            f"prediction seen after queueing (sampled every {run.sample_s:g} s): median "
            f"{statistics.median(lags):.1f} s, max {max(lags):.1f} s (n={len(lags)})"
        )
    unpredicted = sum(1 for s in run.subs if s.final and s.final.get("predicted_s") is None)
    print(f"started without a prediction: {unpredicted}")
    print(f"discrepancies {len(problems)}")
    for p in problems[:20]:
        print("  " + p)
    return 1 if problems else 0


def simulate(url: str, args: argparse.Namespace) -> int:
    """Submit the mix, sample ETAs until everything ran, print figures."""
    rng = random.Random(args.seed)
    total = args.burst + args.later
    kinds = [k for k, share in MIX.items() for _ in range(round(share * total))]
    kinds = (kinds + ["short"] * total)[:total]
    rng.shuffle(kinds)
    users = [User(i, url) for i in range(args.users)]
    run = Run(url, args.sample_s)
    threading.Thread(target=listen, args=(run,), daemon=True).start()
    time.sleep(0.5)  # the event stream is open before the first run
    t0 = time.monotonic()
    for i, kind in enumerate(kinds[: args.burst]):
        source, what = program(kind, rng)
        users[i % len(users)].submit(run, kind, source, what)
    sampler = threading.Thread(target=sample, args=(run, args.sample_s), daemon=True)
    sampler.start()
    for i, kind in enumerate(kinds[args.burst :]):
        time.sleep(rng.uniform(3, 12))
        source, what = program(kind, rng)
        users[(args.burst + i) % len(users)].submit(run, kind, source, what)
    follow(run, time.monotonic() + args.timeout)
    run.done.set()
    sampler.join()
    if args.dump:
        keep = ("id", "kind", "what", "user", "seen", "queued_at", "predicted_at", "final")
        subs = [{k: getattr(s, k) for k in keep} for s in run.subs]
        events = {"first_frame": run.first_frame, "finished_event": run.finished_event}
        args.dump.write_text(json.dumps({"subs": subs, **events}, indent=1))
    return report(run, args.time_limit, args.min_wait_s, time.monotonic() - t0)


def main(argv: list[str] | None = None) -> int:
    """Start a stack in a temporary folder, simulate, stop it."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--burst", type=int, default=24, help="submissions at once")
    parser.add_argument("--later", type=int, default=8, help="submissions while it drains")
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_S)
    parser.add_argument("--sample-s", type=float, default=2.0)
    parser.add_argument("--min-wait-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--dump", type=Path, help="write every observation here as JSON")
    args = parser.parse_args(argv)
    env = {
        "TREE_TIME_LIMIT": f"{args.time_limit:g}",
        "TREE_FPS": str(FPS),
        "TREE_LED_COUNT": str(LEDS),
        "TREE_TRUSTED_PROXIES": "1",
        "TREE_MAX_PENDING_PER_USER": str(args.burst + args.later),
        "TREE_MAX_PENDING_PER_IP": str(args.burst + args.later),
        "TREE_RATE_PER_USER": "100000/10 minutes",
        "TREE_RATE_PER_IP": "100000/10 minutes",
    }
    with tempfile.TemporaryDirectory(prefix="ledtree-eta-") as tmp:
        stack = Stack(Path(tmp), env)
        try:
            stack.start()
            return simulate(stack.url, args)
        finally:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
