"""Red team, round six: what the runner's children may hold together must fit the container.

Each sandbox child has its own address-space limit (``TREE_MEMORY_LIMIT``, 256 MiB), and an
ordinary program fills it with plain strings (found: ~250 MiB resident). But dry runs run
*beside* the tree program by design (``TREE_PREVIEW_SLOTS``, one by default), so a program on
the tree and a dry run of the same program (its author clicking Preview, or the queue's own
background prediction of the next submission) hold two such children at once, next to the
runner itself, inside the runner container's ``mem_limit`` (512m in ``compose.yaml``). Found:
250 + 250 MiB of children beside a runner of at least 32 MiB: 533 MiB. Past the cgroup's limit the
kernel reclaims the runner's own code pages and then OOM-kills the largest process: a child of
~250 MiB, the tree program as likely as the dry run (whoever is on the tree gets
``failed``/``killed`` because someone else pressed Preview); on a Raspberry Pi without
the memory cgroup (Raspberry Pi OS's default, see compose.yaml) it is the whole Pi's memory,
with swap on its SD card.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml  # type: ignore[import-untyped]

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer, PreviewReport
from runner.supervise.supervisor import RunResult, Supervisor

LEDS = 10
COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"

# An ordinary tree program: it fills its memory with strings, then computes its frames (so its
# dry run, whose sleeps take no real time, holds that memory for its CPU budget's seconds too).
MEMORY_HUNGRY = """
import time

blocks = []
try:
    while True:
        blocks.append("x" * (1 << 20))
except MemoryError:
    pass
blocks.pop()
blocks.pop()
print(len(blocks), "MiB held")
while True:
    level = sum(range(100000)) % 100
    setLEDs([(255, 0, 0, level)] * getLEDCount())
"""


def _mem_limit_bytes() -> int:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    value = str(services["runner"]["mem_limit"]).lower()
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def _rss_bytes(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _children_rss() -> dict[int, int]:
    me = f"PPid:\t{os.getpid()}\n"
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        if me in status:
            found[int(entry.name)] = _rss_bytes(int(entry.name))
    return found


def _runner_baseline_rss() -> int:
    """Resident memory of a process that has imported the runner's server and nothing else
    (a lower bound for the real runner, which also holds the strip, sockets and clients)."""
    probe = (
        "import runner.server.tree_server, runner.protect, runner.leds\n"
        "import os\n"
        "print(open(f'/proc/{os.getpid()}/status').read().split('VmRSS:')[1].split()[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return int(out.stdout.strip()) * 1024


def test_a_run_and_a_dry_run_together_cant_outgrow_the_runner_containers_memory() -> None:
    limit = _mem_limit_bytes()
    runner_rss = _runner_baseline_rss()
    config = RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=4.0, preview_cpu_s=3)
    results: dict[str, RunResult | PreviewReport] = {}
    peak, at_peak = 0, {}
    others = set(_children_rss())  # other tests' servers may run beside this one
    with Supervisor(config, VirtualStrip(LEDS), spiral_cone(LEDS), prestart=True) as supervisor:
        previewer = Previewer(config, spiral_cone(LEDS), prestart=True)
        try:
            run = threading.Thread(
                target=lambda: results.setdefault("run", supervisor.run("hungry", MEMORY_HUNGRY))
            )
            dry = threading.Thread(
                target=lambda: results.setdefault("dry", previewer.preview(MEMORY_HUNGRY))
            )
            run.start()
            time.sleep(0.3)  # the tree program first; someone presses Preview meanwhile
            dry.start()
            while run.is_alive() or dry.is_alive():
                children = {p: rss for p, rss in _children_rss().items() if p not in others}
                if sum(children.values()) > peak:
                    peak, at_peak = sum(children.values()), children
                time.sleep(0.05)
            run.join()
            dry.join()
        finally:
            previewer.close()
    held = results["run"]
    assert isinstance(held, RunResult)
    assert (held.status, held.reason) == ("completed", "time_limit"), held.log
    mib = 1 << 20
    assert runner_rss + peak <= limit, (
        f"the runner ({runner_rss // mib} MiB at least) and its children at their peak "
        f"({', '.join(f'{v // mib}' for v in sorted(at_peak.values()))} MiB) hold "
        f"{(runner_rss + peak) // mib} MiB; the container's mem_limit is {limit // mib} MiB"
    )


def _oom_score_adj(pid: int) -> int:
    return int(Path(f"/proc/{pid}/oom_score_adj").read_text())


def test_under_memory_pressure_a_dry_run_dies_before_the_program_on_the_tree() -> None:
    """Should the container's memory ever run short (a Pi whose kernel ignores mem_limit, more
    dry-run slots than the limit was sized for), the kernel's OOM killer takes the child with
    the highest score: dry runs and checks ask for the highest, the tree program keeps its own."""
    config = RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=4.0, preview_cpu_s=3)
    others = set(_children_rss())  # other tests' servers may run beside this one
    with Supervisor(config, VirtualStrip(LEDS), spiral_cone(LEDS), prestart=True) as supervisor:
        previewer = Previewer(config, spiral_cone(LEDS), prestart=True)
        try:
            assert supervisor.run("warm", "setLEDs([OFF] * getLEDCount())").status == "completed"
            assert previewer.preview("setLEDs([OFF] * getLEDCount())").status == "completed"
            time.sleep(1.0)  # both spares have confined themselves and wait for a program
            scores = {pid: _oom_score_adj(pid) for pid in set(_children_rss()) - others}
        finally:
            previewer.close()
    assert sorted(scores.values()) == [0, 1000], scores  # the tree's spare, the dry run's
    assert _oom_score_adj(os.getpid()) == 0
