"""Replay ``bench/eta_accuracy.py --dump`` files under other per-run overhead rules.

The queue's ETA is the running program's time left by its prediction, plus the predictions of
those ahead, plus one per-run overhead for each run that must end first; only the overhead is a
choice. This rebuilds every scored observation whose programs ahead all had their predictions
(the rest are ruled by the missing predictions, not by the overhead), first with the rule web
uses (the median of the last 10 back-to-back runs, as ``web.queue_state`` learns it) to check the
rebuild against the ETA web really showed, then with fixed and other learned overheads, and
prints the median relative error, its bias and p90 for each.

    .venv/bin/python bench/eta_accuracy.py --dump /tmp/eta1.json   # a few times
    .venv/bin/python bench/eta_replay.py /tmp/eta*.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eta_accuracy import epoch, quantile  # bench/ is the script's folder, first on sys.path

from web.queue_state import MAX_OVERHEAD_S, OVERHEAD_SAMPLES, RUN_OVERHEAD_S

Rule = Callable[[list[float]], float]


def window(n: int, pick: Callable[[list[float]], float]) -> Rule:
    """A learned overhead: ``pick`` over the last ``n`` samples, the first guess before any."""
    return lambda xs: pick(xs[-n:]) if xs else RUN_OVERHEAD_S


RULES: dict[str, Rule] = {
    "web (median of 10)": window(OVERHEAD_SAMPLES, statistics.median),
    "fixed 0.2 s (before)": lambda xs: 0.2,
    "fixed 0.4 s": lambda xs: 0.4,
    "median of 5": window(5, statistics.median),
    "median of 20": window(20, statistics.median),
    "mean of 10": window(10, statistics.fmean),
    "mean of 15": window(15, statistics.fmean),
}


def replay(data: dict[str, Any], limit: float) -> tuple[dict[str, list[float]], list[float]]:
    """Signed relative errors per rule, and |rebuilt - shown| of web's own rule, in seconds."""
    subs = data["subs"]
    for s in subs:
        f = s["final"] or {}
        s["start"], s["end"] = epoch(f.get("started_at")), epoch(f.get("finished_at"))
        s["pred"] = None if f.get("predicted_s") is None else min(f["predicted_s"], limit)
    runs = sorted((s for s in subs if s["start"] is not None), key=lambda s: s["start"])
    # What web learns: when a run that ran to its own end, with a prediction and others waiting,
    # is followed by the next, how late the next came after the predicted end.
    samples = []
    for a, b in zip(runs, runs[1:], strict=False):
        if a["final"]["status"] == "cancelled" or a["pred"] is None or b["queued_at"] >= a["end"]:
            continue
        late = b["start"] - (a["start"] + a["pred"])
        if 0.0 <= late <= MAX_OVERHEAD_S:
            samples.append((b["start"], late))
    errors: dict[str, list[float]] = {name: [] for name in RULES}
    rebuilt: list[float] = []
    for s in runs:
        ahead = [a for a in subs if a["queued_at"] < s["queued_at"]]
        for t, shown, _position, _when in s["seen"]:
            real = s["start"] - t
            live = [a for a in ahead if a["end"] is None or a["end"] > t]
            if real < 1.0 or any(a["predicted_at"] is None or a["predicted_at"] > t for a in live):
                continue
            running = [a for a in live if a["start"] is not None and a["start"] <= t]
            pending = [a for a in live if a not in running]
            learned = [late for when, late in samples if when <= t]
            for name, rule in RULES.items():
                o = rule(learned)
                eta = sum(a["pred"] + o for a in pending)
                if running:
                    eta += max(0.0, running[0]["start"] + running[0]["pred"] - t) + o
                errors[name].append((eta - real) / real)
                if name.startswith("web"):
                    rebuilt.append(abs(round(eta) - shown))
    return errors, rebuilt


def main(argv: list[str] | None = None) -> int:
    """Replay the dumps; print one line per rule."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("dumps", type=Path, nargs="*")
    parser.add_argument("--time-limit", type=float, default=10.0)
    args = parser.parse_args(argv)
    if not args.dumps:  # ``make bench`` runs every script without arguments
        print("nothing to replay: pass files written by bench/eta_accuracy.py --dump")
        return 0
    errors: dict[str, list[float]] = {name: [] for name in RULES}
    rebuilt: list[float] = []
    for path in args.dumps:
        errs, diffs = replay(json.loads(path.read_text()), args.time_limit)
        for name, values in errs.items():
            errors[name] += values
        rebuilt += diffs
    if not rebuilt:
        print("no observation with every program ahead predicted")
        return 1
    print(
        f"{len(args.dumps)} dumps, {len(rebuilt)} observations; web's rule rebuilt: "
        f"{sum(d <= 1 for d in rebuilt) / len(rebuilt) * 100:.1f} % within 1 s of the shown ETA "
        "(the dumps must come from the same rule for this to be 100 %)"
    )
    print(f"{'overhead rule':24}{'median |error|':>16}{'median error':>14}{'p90 |error|':>14}")
    for name, values in errors.items():
        size = [abs(v) for v in values]
        print(
            f"{name:24}{statistics.median(size) * 100:>14.1f} %"
            f"{statistics.median(values) * 100:>+12.1f} %{quantile(size, 0.9) * 100:>12.1f} %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
