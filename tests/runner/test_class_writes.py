"""Writes into a program's own classes (``runner.sandbox.class_writes``): everything a program
does to its classes works and fails as in CPython, and an old value's finalizer, run by the
write, sees the class as it is after the write (gh-118492; red team round thirty)."""

from __future__ import annotations

import subprocess
import sys

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

CLASS_WRITES = """
class Counter:
    total = 0
    step = 2


class Child(Counter):
    pass


Counter.total = 5
Counter.total += Counter.step
Child.step = 3
Child.total += Child.step  # reads Counter's, stores Child's own
setattr(Counter, "name", "tree")
print(Counter.total, Child.total, Child.step, Counter.step, Counter.name)
del Child.step
print(Child.step, hasattr(Child, "total"))
delattr(Counter, "name")
print(hasattr(Counter, "name"))
for Counter.loop in range(3):
    pass
print(Counter.loop)
try:
    del Counter.missing
except AttributeError as error:
    print("AttributeError:", error)
try:
    Counter.missing += 1
except AttributeError as error:
    print("AttributeError:", error)
try:
    Counter[0] = 1
except TypeError as error:
    print("TypeError:", error)
try:
    del Counter[0]
except TypeError as error:
    print("TypeError:", error)
try:
    setattr(Counter, "missing", 1)
    Counter.missing += "x"
except TypeError as error:
    print("TypeError:", error)
"""

# The old value's finalizer reads the attribute the write replaced, after the caches learnt it
# (three reads): CPython 3.11 itself answers with the value being freed.
FINALIZER_READS_THE_CLASS = """
class Counter:
    total = 0


def finalizer_sees():
    try:
        yield 1
    finally:
        print("finalizer sees", type(Counter.total).__name__)


generator = finalizer_sees()
next(generator)
Counter.total = (generator,)
generator = None
for i in range(3):
    Counter.total
Counter.total = "new"
"""


def _tree_log(program: str) -> str:
    config = RunnerConfig(led_count=10, fps=40.0, time_limit_s=5.0)
    with Supervisor(config, VirtualStrip(10), spiral_cone(10)) as tree:
        result = tree.run("class-writes", program)
    assert (result.status, result.reason) == ("completed", "ended"), result
    return result.log


def _plain_log(program: str) -> str:
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_class_writes_work_and_fail_as_in_python() -> None:
    assert _tree_log(CLASS_WRITES) == _plain_log(CLASS_WRITES)


def test_an_old_class_attribute_dies_after_the_write_is_seen() -> None:
    # Plain CPython 3.11.7 hands the finalizer the dying tuple, and crashes (SIGSEGV).
    assert _tree_log(FINALIZER_READS_THE_CLASS) == "finalizer sees str\n"
