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

import os
import sys

import pytest

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.sandbox.confine import LAYERS
from runner.supervise.check import Checker
from runner.supervise.preview import Previewer
from runner.supervise.spawn import required_layers
from runner.supervise.supervisor import Supervisor

LEDS = 10

# The real sandbox child, except that loading its seccomp filter fails as ENOMEM would.
SECCOMP_FAILS = (
    "import sys\n"
    "import runner.sandbox.confine as confine\n"
    "def _fail(lib):\n"
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


def test_cant_dry_run_a_program_in_a_child_whose_seccomp_layer_failed() -> None:
    command = [sys.executable, "-I", "-B", "-c", SECCOMP_FAILS]
    config = RunnerConfig(led_count=LEDS, time_limit_s=5.0, preview_cpu_s=1)
    previewer = Previewer(config, spiral_cone(LEDS), child_command=command)
    try:
        report = previewer.preview(PROGRAM)
    finally:
        previewer.close()
    assert "the program ran" not in report.log
    assert (report.status, report.reason, report.frames) == ("failed", "crashed", 0)
    assert report.error is not None
    assert "could not confine this program: seccomp" in report.error.message


def test_cant_check_a_program_in_a_child_whose_seccomp_layer_failed() -> None:
    command = [sys.executable, "-I", "-B", "-c", SECCOMP_FAILS]
    errors = Checker(RunnerConfig(led_count=LEDS), child_command=command).check(PROGRAM)
    assert [e.type for e in errors] == ["SandboxError"]
    assert "could not confine the checker: seccomp" in errors[0].message


def test_a_failed_layer_is_a_clear_reason_and_a_logged_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    command = [sys.executable, "-I", "-B", "-c", SECCOMP_FAILS]
    config = RunnerConfig(led_count=LEDS, time_limit_s=5.0)
    with Supervisor(config, VirtualStrip(LEDS), spiral_cone(LEDS), child_command=command) as sup:
        result = sup.run("unconfined", PROGRAM)
    assert (result.status, result.reason) == ("failed", "crashed")
    assert result.error is not None
    assert result.error.message.startswith("the sandbox could not confine this program: seccomp")
    assert any(
        r.levelname == "ERROR" and "could not confine" in r.getMessage() for r in caplog.records
    )


def test_a_development_machine_runs_without_the_layers_it_started_without() -> None:
    """TREE_SANDBOX_DEV: a layer missing at start-up is allowed to be missing in each child."""
    command = [sys.executable, "-I", "-B", "-c", SECCOMP_FAILS]
    config = RunnerConfig(led_count=LEDS, time_limit_s=5.0, sandbox_dev=True)
    # What the start-up check found in force: all but seccomp (of what this account can apply).
    in_force_at_start = required_layers(RunnerConfig()) - {"seccomp"}
    strip = VirtualStrip(LEDS)
    with Supervisor(
        config, strip, spiral_cone(LEDS), child_command=command, required=in_force_at_start
    ) as supervisor:
        result = supervisor.run("dev", PROGRAM)
    assert (result.status, result.reason, result.frames) == ("completed", "ended", 1)
    assert "the program ran" in result.log


def test_without_a_start_up_check_every_layer_this_account_can_apply_is_required() -> None:
    """Tests and tools build a Supervisor without the server's start-up check: as root every
    layer is required; an ordinary account cannot drop uid or (without user namespaces) make
    a network namespace, so the other four are; a development machine requires none."""
    required = required_layers(RunnerConfig())
    if os.geteuid() == 0:
        assert required == frozenset(LAYERS)
    else:
        assert required == frozenset(LAYERS) - {"uid", "netns"}
    assert {"seccomp", "landlock", "no_new_privs", "rlimits"} <= required
    assert required_layers(RunnerConfig(sandbox_dev=True)) == frozenset()


# The real child, on a machine without libseccomp (a runner image that lost libseccomp2): the
# child opens the library by its soname, before Landlock closes the file system.
LIBSECCOMP_MISSING = (
    "import sys\n"
    "import runner.sandbox.libseccomp as libseccomp\n"
    "libseccomp.SONAME = 'libseccomp-not-installed.so.2'\n"
    "from runner.sandbox.child import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.mark.parametrize(
    ("soname", "reported"),
    [
        ("libseccomp-not-installed.so.2", "missing: OSError: libseccomp-not-installed.so.2"),
        # A library by that name without libseccomp's functions (red team round 46's note).
        ("libc.so.6", "missing: OSError: libc.so.6 lacks a function the filter needs"),
    ],
)
def test_cant_run_a_program_in_a_child_without_libseccomp(soname: str, reported: str) -> None:
    script = LIBSECCOMP_MISSING.replace("libseccomp-not-installed.so.2", soname)
    command = [sys.executable, "-I", "-B", "-c", script]
    config = RunnerConfig(led_count=LEDS, time_limit_s=5.0)
    with Supervisor(config, VirtualStrip(LEDS), spiral_cone(LEDS), child_command=command) as sup:
        result = sup.run("unconfined", PROGRAM)
        layers = dict(sup.layers)
    assert layers["seccomp"].startswith(reported), layers
    assert "the program ran" not in result.log
    assert (result.status, result.reason, result.frames) == ("failed", "crashed", 0)
