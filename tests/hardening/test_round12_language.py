"""Red team, round twelve: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round12-language.md`` has the reproductions, what
held, and the suggested fixes; the numbers below are its findings'. Every memory experiment
runs in a child, never in the pytest process.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import FROM_MEMORY_TO_EXEC as _FROM_MEMORY_TO_EXEC
from tests.hardening.confined_runs import config as _config
from tests.hardening.confined_runs import dry_run as _dry_run
from tests.hardening.confined_runs import tree_run as _tree_run

# From a fake bytearray over the whole address space to the real ``exec``, as in rounds eight,
# ten and eleven: ``id(print) + 16`` is the ``SandboxFunction``'s ``_call`` (a function of
# ``runner.sandbox.guards``), ``+ 16`` its ``__globals__``, stored into a list of the program's.
FROM_MEMORY_TO_EXEC = _FROM_MEMORY_TO_EXEC


# --- 1. a set item's __eq__ that adds to the set overcounts it: the real builtins --------------
#
# CPython 3.11's ``set_add_entry`` remembers the first dummy slot (``freeslot``) before it
# compares the new key with an item of the same hash. When that comparison (the key's
# ``__eq__``, reflected from an item without one) adds the key to the same set, the nested add
# fills that dummy slot and counts it; the outer add then fills the same slot again and counts
# it again: ``used`` is one more than the set's items (python/cpython gh-141805, gh-139071;
# fixed in 3.13+, never in 3.11). ``set.clear()`` (and the set's dealloc) decrefs ``used`` keys
# walking from the table's start, so it reads one entry past the table's end. A 64-entry table
# is a 1024-byte malloc chunk; a 1031-byte bytearray buffer freed just before the table is made
# is the same tcache chunk, and its bytes 1024-1030 (never zeroed: the table's memset covers
# 1024) hold ``id(holder[0])``: the walk decrefs the program's own int to zero while ``holder``
# still points at it, and a bytearray buffer of the same 48-byte class refills it with a fake
# bytearray over all memory. Found: every run (runner 10 of 10, tree and dry run), ``completed``/
# ``ended``, log "ESCAPED: pid, uid, environment: (..., 65534, ['LC_CTYPE'])"; plain CPython
# 3.11.7 gets the fake too.
SET_ESCAPE = (
    """def word(value):
    return value.to_bytes(8, "little")


class Same:
    def __hash__(self):
        return 0


class Trigger:
    def __init__(self):
        self.calls = 0

    def __hash__(self):
        return 0

    def __eq__(self, other):
        self.calls += 1
        if self.calls == 1:
            table.add(self)  # fills the dummy slot the outer add fills again: used + 1
        return False


# A bytearray over all memory, as CPython 3.11 lays one out, in 47 bytes (+ the NUL: 48).
FAKE = word(1 << 40) + word(id(bytearray)) + word(1 << 62) + word(1 << 62) + word(0) + bytes(7)
holder = [int("1" * 31)]  # a 48-byte block with one reference: this list's
first = Same()
source = {first, Same()}
for i in range(40, 54):
    source.add(i)
pad = bytearray(1031)  # a 1040-byte malloc chunk, as a 64-entry set table's
pad[1024:1031] = word(id(holder[0]))[:7]  # the word just past that table's end
pad = None  # freed: the table below gets the chunk back
table = set(source)  # 16 items: a 64-entry table
table.discard(first)  # slot 0: a dummy, before the other Same in slot 1
table.add(Trigger())
%s
spray = [bytearray(FAKE) for i in range(3000)]
found = [holder[0]]
"""
    + FROM_MEMORY_TO_EXEC
)


@pytest.mark.parametrize(
    "release", ["table.clear()", "table = None"], ids=["set.clear", "set dealloc"]
)
def test_a_program_cant_overcount_a_set_and_free_an_object_past_its_table(release: str) -> None:
    program = SET_ESCAPE % release
    # Fixed by refusing __hash__ (rules.ALLOWED_DUNDER_DEFS): an object with a __eq__ of the
    # program's is unhashable, so no set runs program code while it adds an item.
    errors = Checker(_config()).check(program)
    assert [e.line for e in errors] == [6, 14], errors
    assert all('special method "__hash__"' in e.message for e in errors), errors
    without_hash = program.replace("    def __hash__(self):\n        return 0\n", "    pass\n")
    assert Checker(_config()).check(without_hash) == []
    real_without = _tree_run(without_hash, "set-escape")
    assert "ESCAPED" not in real_without.log and "unhashable type" in real_without.log
    real = _tree_run(program, "set-escape")
    predicted = _dry_run(program)
    for log in (real.log, predicted.log):
        assert "ESCAPED" not in log, log
    # However a fix refuses it, the program must not end as if nothing happened, nor crash.
    assert real.status == "failed" and real.error is not None, real
    assert real.reason != "killed", real.error
    assert predicted.status == "failed" and predicted.error is not None, predicted
    assert real_without.status == "failed" and real_without.reason != "killed", real_without


# --- 2. a list subclass's own __getitem__ / __len__ change how it compares ---------------------
#
# CPython compares lists by their items and size as stored (``ob_item``, ``Py_SIZE``), whatever
# a subclass's ``__getitem__`` or ``__len__`` say. The child's Python ``list.__eq__`` & co
# (``runner/sandbox/cpython_fixes.py``) read them with ``len(v)`` and ``v[i]``: a subclass's own
# methods. A grid indexed by (x, y) cannot be compared at all (TypeError inside its
# ``__getitem__``, line 6), a dimmed view compares the dimmed values, a list that reports how
# many of its slots are filled compares only those. Found: every run, tree and dry run.
SUBCLASS_COMPARISONS = {
    "grid indexed by (x, y)": (
        """WIDTH = 4


class Grid(list):
    def __getitem__(self, position):
        x, y = position
        return super().__getitem__(y * WIDTH + x)


before = Grid([(0, 0, 0)] * 8)
after = Grid([(0, 0, 0)] * 8)
print(before[1, 1], before == after)
""",
        "(0, 0, 0) True\n",
    ),
    "dimmed view": (
        """class Dimmed(list):
    def __getitem__(self, i):
        return super().__getitem__(i) // 2


old = Dimmed([10, 20, 31])
new = Dimmed([10, 20, 30])
print(old[2], new[2], old == new)
""",
        "15 15 False\n",
    ),
    "slots filled": (
        """class Slots(list):
    def __len__(self):
        return sum(1 for item in super().__iter__() if item is not None)


trail = Slots([(1, 2), None, None])
print(len(trail), trail == [(1, 2)], trail == [(1, 2), None, None])
""",
        "1 False True\n",
    ),
}


@pytest.mark.parametrize("name", sorted(SUBCLASS_COMPARISONS))
def test_a_list_subclass_with_its_own_indexing_compares_as_in_python(name: str) -> None:
    program, expected = SUBCLASS_COMPARISONS[name]
    assert Checker(_config()).check(program) == []
    real = _tree_run(program, "subclass-compare")
    assert (real.status, real.reason) == ("completed", "ended"), real.error
    assert real.log == expected
    predicted = _dry_run(program)
    assert predicted.status == "completed" and predicted.error is None, predicted
    assert predicted.log == expected


# --- 3. nested lists compare only half as deep as in CPython ------------------------------------
#
# Each level of a nested list comparison is now a Python call (the child's ``list.__eq__``)
# inside a C comparison: two recursion levels where CPython spends one. A snake kept as nested
# pairs ``[head, rest]`` 600 long compares fine in plain CPython 3.11 (the limit is about 990
# levels) and fails in the sandbox at about 490: tree run ``failed``/``error``
# "RecursionError: maximum recursion depth exceeded", line 8, every run.
DEEP_LISTS = """def snake(length):
    body = None
    for i in range(length):
        body = [(i, 0), body]
    return body


print(snake(600) == snake(600))
"""


@pytest.mark.xfail(
    strict=True,
    reason="red team round twelve, known and documented (runner/README.md, 'Lists that "
    "hold lists'): ordering nested lists costs two recursion levels per level",
)
def test_nested_lists_compare_as_deep_as_in_python() -> None:
    real = _tree_run(DEEP_LISTS, "deep-lists")
    assert (real.status, real.reason) == ("completed", "ended"), real.error
    assert real.log == "True\n"
    predicted = _dry_run(DEEP_LISTS)
    assert predicted.status == "completed" and predicted.log == "True\n", predicted


# --- 4. a list that contains itself fails with another RecursionError message -------------------
#
# CPython's comparison says "maximum recursion depth exceeded in comparison" (the C check in
# ``PyObject_RichCompare`` is what trips); the child's Python ``list.__eq__`` trips the Python
# frame check first: "maximum recursion depth exceeded". The program's own error text differs.
SELF_CONTAINING = """a = []
a.append(a)
b = []
b.append(b)
try:
    a == b
except RecursionError as error:
    print(error)
"""


@pytest.mark.xfail(
    strict=True,
    reason="red team round twelve, known and documented (runner/README.md, 'Lists that "
    "hold lists'): a runaway ordering of lists says 'maximum recursion depth exceeded' "
    "without Python's 'in comparison'",
)
def test_a_self_containing_list_comparison_fails_with_pythons_message() -> None:
    real = _tree_run(SELF_CONTAINING, "self-containing")
    assert (real.status, real.reason) == ("completed", "ended"), real.error
    assert real.log == "maximum recursion depth exceeded in comparison\n"
