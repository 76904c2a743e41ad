"""Runs INSIDE the runner container (piped to ``python -I -``), as the runner's own user.

Starts one sandbox child exactly as the runner does (same command, same limits from the same
settings) and prints the layer report it sends before reading a program (its READY record).
Then confines a second interpreter with the same limits and tries to read a file outside the
Landlock paths and one inside them. Prints one JSON object.
"""

import json
import subprocess
import sys

import runner
from runner.childproc import CHILD_COMMAND, child_limits, discard_child, spawn_child
from runner.config import RunnerConfig
from runner.wire import HEADER, READY

limits = json.dumps(child_limits(RunnerConfig.from_environ()).to_dict())
child = spawn_child([*CHILD_COMMAND, limits])
assert child.stdout is not None
kind, size = HEADER.unpack(child.stdout.read(HEADER.size))
report = json.loads(child.stdout.read(size)) if kind == READY else {"record": repr(kind)}
discard_child(child)

READER = """
import json, sys
import runner
from runner.limits import Limits, confine
confine(Limits.from_dict(json.loads(sys.argv[1])))
def read(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        return type(exc).__name__
    return "read"
print(json.dumps({"outside": read("/etc/hostname"), "inside": read(runner.__file__)}))
"""
reads = subprocess.run(
    [sys.executable, "-I", "-B", "-c", READER, limits],
    capture_output=True,
    text=True,
    env={},
    cwd="/",
    timeout=30,
)
result = json.loads(reads.stdout) if reads.returncode == 0 else {"error": reads.stderr[-500:]}
print(json.dumps({"report": report, "reads": result, "package": runner.__file__}))
