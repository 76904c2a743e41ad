"""Red team, round thirty: CPython 3.11 memory-safety bugs reachable from ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks (``tests/hardening/confined_runs.py``). Every memory experiment runs
in a child, never in the pytest process. ``docs/red-team/round30-cpython.md`` has the
reproductions, what held and the suggested fixes; the numbers below are its findings'. The
escape's second half (from a fake ``bytearray`` over all memory to the real ``exec``) is the one
every round since eight used (``FROM_MEMORY_TO_EXEC``), and the refill is round sixteen's
(``FAKE_MEM``: an 848-byte ``Ornament`` freed, its chunk taken by a ``bytearray`` whose bytes
are a ``Mem`` header).

Each finding is a strict xfail until it is fixed; the tests not marked assert what held.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import (
    FROM_MEMORY_TO_EXEC,
    assert_no_escape,
    config,
    tree_run,
)
from tests.hardening.test_round16_language import FAKE_MEM

# --- 1. A class attribute's old value, dying, is handed out again by the type's method cache ----
#
# CPython 3.11's ``type_setattro`` stores the new value in the class's dictionary
# (``insertdict``, which releases the old value) and only *then* calls ``PyType_Modified``, which
# invalidates the type's version tag. While the old value is being freed, the interpreter's
# method cache (``_PyType_Lookup``; also the specialised LOAD_METHOD caches) still maps
# (version, name) to it: a finalizer run by that release (a suspended generator's ``finally``,
# the sandbox's stand-in for ``__del__``) that reads ``Shelf.attr`` is given the object being
# freed, with a new reference. After the finalizer, the interpreter frees it anyway: the
# program holds a freed ``Ornament``, refills its chunk, and asks its repr.
# python/cpython gh-118492 ("Type cache can expose previous values during finalization of an
# object", open; 3.13's gh-118454 reorders ``type_setattro`` for the free-threaded build, 3.11
# and 3.12 are as they were). ``del Shelf.attr`` is the same path.
# Found: every run (tree and dry run, both variants), ``completed``/``ended``, log "ESCAPED:
# pid, uid, environment: (..., 65534, ['LC_CTYPE'])". Plain CPython 3.11.7 gets the fake too.
STALE_CLASS_ATTRIBUTE_ESCAPE = (
    FAKE_MEM
    + """

class Shelf:
    pass


stale = []


def keeper():
    try:
        yield 1
    finally:
        stale.append(Shelf.attr)  # the method cache still answers with the dying value


g = keeper()
next(g)
Shelf.attr = Ornament((g,) + tuple(range(99)))
g = None
for i in range(3):
    Shelf.attr
Shelf.attr = 5  # frees the Ornament, whose generator runs its finally first
spray.extend([bytearray(FAKE) for i in range(50)])
print("text:", repr(stale[0]))
"""
    + FROM_MEMORY_TO_EXEC
)
STALE_CLASS_ATTRIBUTE_VARIANTS = {
    "assignment": STALE_CLASS_ATTRIBUTE_ESCAPE,
    "deletion": STALE_CLASS_ATTRIBUTE_ESCAPE.replace(
        "Shelf.attr = 5  # frees", "del Shelf.attr  # frees"
    ),
    "setattr": STALE_CLASS_ATTRIBUTE_ESCAPE.replace(
        "Shelf.attr = 5  # frees", 'setattr(Shelf, "attr", 5)  # frees'
    ),
}


@pytest.mark.parametrize("variant", sorted(STALE_CLASS_ATTRIBUTE_VARIANTS))
def test_a_program_cant_get_a_class_attribute_back_while_it_is_freed(variant: str) -> None:
    assert_no_escape(STALE_CLASS_ATTRIBUTE_VARIANTS[variant], f"stale-class-attr-{variant}")


def test_the_stale_class_attribute_program_is_accepted() -> None:
    # Nothing in it is refused at upload: classes, generators, class attributes, del.
    for program in STALE_CLASS_ATTRIBUTE_VARIANTS.values():
        assert Checker(config()).check(program) == []


# --- What held: other finalizers run by a release in the middle of a C routine -----------------
#
# A suspended generator's ``finally`` runs wherever the interpreter drops its last reference:
# the same primitive as finding 1, aimed at two routines that release objects before they are
# done. ``list.sort``'s keys are released while the list is still emptied for the sort, and a key
# that refills the list is caught ("list modified during sort", the list as it was); ``dict.update``
# releases the target's old values while it walks the source's entries, and a finalizer that
# resizes the source (two deletions, two insertions: the same entry count on new storage) is
# read from the new storage, never the freed one. The logs are plain CPython 3.11.7's.
SORT_KEY_FINALIZER = """victim = [3, 1, 2]


def fin():
    try:
        yield 1
    finally:
        victim.append(99)
        victim.clear()
        victim.extend(range(50))


def key(x):
    g = fin()
    next(g)
    return (x, g)


try:
    victim.sort(key=key)
except ValueError as e:
    print("ValueError", e)
print(len(victim), victim[:5])
"""

DICT_UPDATE_FINALIZER = """done = []


def fin(tag):
    try:
        yield 1
    finally:
        if not done:
            done.append(1)
            del src[3]
            del src[4]
            src[10] = "a"
            src[11] = "b"
            junk = [bytearray(b"A" * 200) for i in range(50)]


src = {i: i for i in range(5)}
tgt = {}
for i in range(5):
    g = fin(i)
    next(g)
    tgt[i] = (g,)
g = None
tgt.update(src)
print(sorted(k for k in tgt), tgt[0], tgt[1], tgt[2], tgt[10], tgt[11])
"""


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        (SORT_KEY_FINALIZER, "ValueError list modified during sort\n3 [1, 2, 3]\n"),
        (DICT_UPDATE_FINALIZER, "[0, 1, 2, 3, 4, 10, 11] 0 1 2 a b\n"),
    ],
    ids=["sort-key", "dict-update"],
)
def test_finalizers_in_the_middle_of_sort_and_update_are_caught(
    program: str, expected: str
) -> None:
    assert Checker(config()).check(program) == []
    real = tree_run(program, "finalizer-held")
    assert real.reason != "killed", real.error
    assert real.log == expected, real.log
