"""Red team, round six: a confined child must learn nothing about the processes around it.

Seccomp allows ``clock_gettime``, ``clock_getres`` and ``clock_nanosleep`` whatever their clock
id (``runner/sandbox/syscalls.py``). A negative clock id is a *dynamic* clock: the CPU-time clock
of any process or thread, named by its pid (``((~pid) << 3) | 2``), and the kernel reads a
process's CPU clock for anyone, without the permission checks ``/proc`` has. So raw code in the
fully confined child (dropped uid, Landlock, no ``/proc``) enumerates every process in its pid
namespace and reads how much CPU each has used (found: all 98 processes of this machine from
40,000 probes in 0.14 s), and can watch one live: the runner's CPU, another user's dry run or
upload check next to it, or on an install without containers every process on the Pi. A side
channel, but a broad one: what the other children compute, when the runner is busy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

LEDS = 10

# Raw Python (as ``python -m runner.audit raw`` runs it): the language layer has fallen.
PEEK = """
import time


def cpu_clock(pid):
    return ((~pid) << 3) | 2  # CPUCLOCK_SCHED of the whole process


seen = []
for name, pid in (("runner", {runner}), ("neighbour", {neighbour})):
    try:
        seen.append(f"{{name}} used {{time.clock_gettime(cpu_clock(pid)):.3f}} s of CPU")
    except OSError as error:
        seen.append(f"{{name}}: refused ({{error.errno}})")
try:
    time.clock_getres(cpu_clock({neighbour}))
    seen.append("neighbour exists")
except OSError as error:
    seen.append(f"neighbour existence: refused ({{error.errno}})")
print("; ".join(seen))
"""


def test_a_confined_child_cant_read_the_cpu_time_of_other_processes(tmp_path: Path) -> None:
    # A neighbour that burns a little CPU, as another child or the web would.
    neighbour = subprocess.Popen(
        [sys.executable, "-c", "import time\nwhile True:\n    sum(range(10**5)); time.sleep(0.01)"]
    )
    try:
        config = RunnerConfig(
            socket_path=str(tmp_path / "runner.sock"),
            led_count=LEDS,
            fps=50.0,
            time_limit_s=3.0,
            cpu_limit_s=2,
        )
        with Supervisor(config, VirtualStrip(LEDS), spiral_cone(LEDS), raw=True) as supervisor:
            result = supervisor.run(
                "peek", PEEK.format(runner=os.getpid(), neighbour=neighbour.pid)
            )
    finally:
        neighbour.kill()
        neighbour.wait()
    assert (result.status, result.reason) == ("completed", "ended"), result.log
    assert "s of CPU" not in result.log and "exists" not in result.log, result.log
    # Refused by the filter (EPERM), not missing: the program still ran to its end.
    assert result.log.strip() == (
        "runner: refused (1); neighbour: refused (1); neighbour existence: refused (1)"
    ), result.log
