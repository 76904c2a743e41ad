"""Red team: a run must not proceed in a child whose confinement failed (round four).

The runner refuses to *start* when its probe child reports a missing layer (unless
``TREE_SANDBOX_DEV``), but each run's own child reports its layers again in READY, and the
supervisor only logs a missing one (once per runner) and runs the program anyway. A layer can
fail in one child and not in the probe: seccomp's filter load or Landlock's ruleset can fail
with ENOMEM/EMFILE/EAGAIN when the machine is short of memory or descriptors at that moment,
which another program (a dry run beside it, a spare starting) can help bring about. This
plays that failure with the real child, whose seccomp layer raises as a failed load would.
"""

from __future__ import annotations

import sys

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

LEDS = 10

# The real sandbox child, except that loading its seccomp filter fails as ENOMEM would.
SECCOMP_FAILS = (
    "import sys\n"
    "import runner.sandbox.confine as confine\n"
    "def _fail():\n"
    "    raise OSError(12, 'Cannot allocate memory')\n"
    "confine._seccomp = _fail\n"
    "from runner.sandbox.child import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
PROGRAM = "print('the program ran')\nsetLEDs([BLUE] * getLEDCount())\n"


def test_cant_run_a_program_in_a_child_whose_seccomp_layer_failed() -> None:
    command = [sys.executable, "-I", "-B", "-c", SECCOMP_FAILS]
    config = RunnerConfig(led_count=LEDS, time_limit_s=5.0)
    strip = VirtualStrip(LEDS)
    with Supervisor(config, strip, spiral_cone(LEDS), child_command=command) as supervisor:
        result = supervisor.run("unconfined", PROGRAM)
        layers = dict(supervisor.layers)
    assert layers.get("seccomp", "").startswith("missing"), layers  # the child said so
    assert "the program ran" not in result.log, (
        f"the program ran without seccomp ({result.status}/{result.reason}, "
        f"{result.frames} frames shown); the child reported {layers}"
    )
    assert result.frames == 0
