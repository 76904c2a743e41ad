"""Runs INSIDE the runner container (piped to ``python -I -``), as the runner's own user.

Asks the runner's own probe (``probe_layers``: one sandbox child started exactly as for a
program, its READY report read) which layers hold here. Then Landlock alone, with the child's
read paths, in a second interpreter: a world-readable file outside those paths must be refused,
one inside them read (the child's seccomp would refuse both, so it is left out here).
Prints one JSON object.
"""

import json
import subprocess
import sys

from runner.config import RunnerConfig
from runner.supervise.spawn import child_limits, probe_layers

config = RunnerConfig.from_environ()
report = probe_layers(config)
read_paths = child_limits(config).read_paths

READER = """
import json, sys
import runner
from runner.sandbox.confine import _landlock
_landlock(tuple(json.loads(sys.argv[1])))
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
    [sys.executable, "-I", "-B", "-c", READER, json.dumps(list(read_paths))],
    capture_output=True,
    text=True,
    env={},
    cwd="/",
    timeout=30,
)
result = json.loads(reads.stdout) if reads.returncode == 0 else {"error": reads.stderr[-500:]}
print(json.dumps({"report": report, "reads": result}))
