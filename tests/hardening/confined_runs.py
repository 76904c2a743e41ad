"""Real confined children for the language red-team rounds (ten and on): a tree run under
the real ``Supervisor`` and a dry run under the real ``Previewer``, both with a prestarted
child as the server makes them, the logs of both for an accepted program, and the route every
memory escape of those rounds took from a fake ``bytearray`` over all memory to the real
``exec``.
"""

from __future__ import annotations

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.check import Checker
from runner.supervise.preview import Previewer, PreviewReport
from runner.supervise.supervisor import RunResult, Supervisor

LEDS = 10
LIMIT_S = 3.0


def config() -> RunnerConfig:
    return RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=LIMIT_S, preview_cpu_s=2)


def dry_run(program: str) -> PreviewReport:
    # prestart, as the runner's server makes them: the child waits, confined, for its program
    previewer = Previewer(config(), spiral_cone(LEDS), prestart=True)
    try:
        return previewer.preview(program)
    finally:
        previewer.close()


def tree_run(program: str, name: str) -> RunResult:
    with Supervisor(config(), VirtualStrip(LEDS), spiral_cone(LEDS), prestart=True) as tree:
        return tree.run(name, program)


def tree_and_dry_run_logs(program: str, name: str) -> tuple[str, str]:
    """The tree run's and the dry run's logs of a program the upload check accepts; neither
    child killed."""
    assert Checker(config()).check(program) == []
    real = tree_run(program, name)
    predicted = dry_run(program)
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error
    return real.log, predicted.log


def assert_no_escape(program: str, name: str) -> None:
    """Neither run of a program that attacks the language layer escapes or kills its child.

    The program may be refused at upload (each error with its line) or fail at run time, which
    is how a fix may stop it; the supervisor runs what it is given either way. "ESCAPED" and
    "memory over everything: True" are what the rounds' programs print when an attack works.
    """
    refused = Checker(config()).check(program)
    assert refused == [] or all(e.line is not None for e in refused), refused
    real = tree_run(program, name)
    predicted = dry_run(program)
    for log in (real.log, predicted.log):
        assert "ESCAPED" not in log, log
        assert "memory over everything: True" not in log, log
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error


FROM_MEMORY_TO_EXEC = """
memory = found[-1]
print("memory over everything:", isinstance(memory, bytearray) and len(memory) > (1 << 60))


def read(address):
    return int.from_bytes(memory[address : address + 8], "little")


def write(address, value):
    memory[address : address + 8] = word(value)


function = read(id(print) + 16)
module_globals = read(function + 16)
holder = [None]
write(module_globals, read(module_globals) + 1)
write(read(id(holder) + 24), module_globals)
real = holder[0]
namespace = {"__builtins__": real["builtins"]}
source = "import os; found = (os.getpid(), os.getuid(), sorted(os.environ))"
real["builtins"].exec(source, namespace)
print("ESC" + "APED: pid, uid, environment:", namespace["found"])
"""
