"""Red team, round fifteen: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round15-language.md`` has the reproductions, what
held, and the suggested fixes; the numbers below are its findings'. Every memory experiment
runs in a child, never in the pytest process. The escape's two halves (a fake ``bytearray``,
then the real ``exec``) are round fourteen's, imported from its tests.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import assert_no_escape
from tests.hardening.test_round14_language import (
    FAKE_BYTEARRAY,
    FROM_MEMORY_TO_EXEC,
    _config,
    _dry_run,
    _tree_run,
)

# --- 1. A list or tuple subclass as the values of an extended slice store ------------------
#
# Round fourteen's fix (``runner/sandbox/lists.py``) makes ``lst[::2] = values`` take the
# values as a list first, unless they already are a list or tuple: ``isinstance(value, (list,
# tuple))``, which a program's *subclass* of list or tuple passes. CPython's own store then
# calls ``PySequence_Fast(values)``, which returns only an *exact* list or tuple as it is; a
# subclass goes through ``PyObject_GetIter``, i.e. the subclass's ``__iter__`` (program code),
# after the slice was sized: gh-120384 again, unchanged. Found: every run (runner 3 of 3,
# tree and dry run, list and tuple subclass alike), ``completed``/``ended``, log "ESCAPED:
# pid, uid, environment: (..., 65534, ['LC_CTYPE'])".
SUBCLASS_SLICE_ESCAPE = (
    FAKE_BYTEARRAY
    + """

class Ornament(tuple):
    pass


found = [Ornament(range(100))]  # an 848-byte malloc chunk
lights = list(range(10))
lights[6] = found[0]
spray = []


class Twinkle(BASE):  # a list (or tuple) to the sandbox's check, not to CPython's
    def __iter__(self):
        del lights[6:]  # the list shrinks; slot 6 keeps the (now uncounted) pointer
        return iter([100, 101, 102, 103, 104])


lights[::2] = Twinkle()  # slots 0, 2, 4, 6, 8 as sized before: slot 6 released once more
spray = [bytearray(FAKE) for i in range(50)]
"""
    + FROM_MEMORY_TO_EXEC
)


@pytest.mark.parametrize("base", ["list", "tuple"])
def test_a_program_cant_release_a_list_item_twice_through_a_subclass_as_slice_values(
    base: str,
) -> None:
    assert_no_escape(SUBCLASS_SLICE_ESCAPE.replace("BASE", base), f"slice-{base}-escape")


# --- 2. A property __iter__ that fails brings back CPython's sequence iterator ------------
#
# Round fourteen's fix gives a class that defines ``__getitem__`` and no ``__iter__`` an
# ``__iter__`` of its own (``guards.make_class_guards``). A class that defines ``__iter__`` as
# a ``@property`` whose getter raises ``AttributeError`` is left alone, and CPython 3.11's
# ``slot_tp_iter``, finding no ``__iter__`` it can get, falls back to ``PySeqIter_New`` (the
# getter's error is left pending; ``zip``'s second iterable's ``__iter__`` catches an error of
# its own, which clears it). ``zip`` holds that sequence iterator, and ``next(pairs)`` from
# inside ``__getitem__`` re-enters it: round fourteen's double release, unchanged. Found:
# every run (runner 3 of 3, tree and dry run), ``completed``/``ended``, "ESCAPED: ...".
PROPERTY_ITER_ESCAPE = (
    FAKE_BYTEARRAY
    + """
state = {"inner": False, "spray": None}


class Clear:
    # zip asks this one second: its __iter__ clears the error the property left pending
    def __iter__(self):
        try:
            raise ValueError("done")
        except ValueError:
            pass
        return iter([1, 2, 3])


class Ring(int):
    @property
    def __iter__(self):  # fails: CPython falls back to its own sequence iterator
        raise AttributeError("by index")

    def __getitem__(self, index):
        if not state["inner"]:
            state["inner"] = True
            try:
                next(pairs)  # the inner call ends the sequence iterator: one release...
            except StopIteration:
                pass
        raise IndexError  # ...and the outer call, ending too, releases it once more


found = [Ring(1 << 6000)]  # an 844-byte malloc chunk
pairs = zip(found[0], Clear())
try:
    next(pairs)
except StopIteration:
    pass
state["spray"] = [bytearray(FAKE) for i in range(50)]
"""
    + FROM_MEMORY_TO_EXEC
)


def test_a_program_cant_get_cpythons_sequence_iterator_through_a_failing_iter_property() -> None:
    assert_no_escape(PROPERTY_ITER_ESCAPE, "property-iter-escape")


# --- 3. A UnicodeDecodeError of the program's reads memory before any bytes object ----------
#
# Round fourteen's fix refuses *subclasses* of ``UnicodeDecodeError`` (whose fields a program
# could rewrite). A built-in instance needs no rewriting: its constructor takes any ``start``,
# negative too, and 3.11's ``UnicodeDecodeError_str`` only checks ``start < len(object)``
# before it reads ``PyBytes_AS_STRING(object)[start]`` (unclamped start/end: gh-123378, fixed
# in 3.12/3.13, not in 3.11). ``str(UnicodeDecodeError("utf-8", data, -n, 1 - n, "..."))``
# names the byte ``n`` bytes before the data: any address below any bytes object, one byte per
# ``str()`` (an unmapped one kills the child). Below, the bytes object's own type pointer.
# Found: every run, ``completed``/``ended``, "raw memory: True"; plain CPython 3.11.7 the same.
DECODE_ERROR_NEGATIVE_START = """def byte_before(data, offset):
    # the byte `offset` bytes before the data of `data`, read by a UnicodeDecodeError's str()
    problem = UnicodeDecodeError("utf-8", data, -offset, 1 - offset, "bad")
    return int(str(problem).split("byte 0x")[1][:2], 16)


data = bytes(200)
# A bytes object's data starts 32 bytes in (refcount, type, size, cached hash): the 8 bytes
# from 24 before it are the object's type pointer, memory no program may read.
kind = int.from_bytes(bytes([byte_before(data, 24 - i) for i in range(8)]), "little")
print("raw memory:", kind == id(bytes))
"""


def test_a_program_cant_read_raw_memory_through_a_decode_errors_negative_start() -> None:
    refused = Checker(_config()).check(DECODE_ERROR_NEGATIVE_START)
    assert refused == [] or all(e.line is not None for e in refused), refused
    real = _tree_run(DECODE_ERROR_NEGATIVE_START, "decode-negative")
    predicted = _dry_run(DECODE_ERROR_NEGATIVE_START)
    for log in (real.log, predicted.log):
        assert "raw memory: True" not in log, log
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error


# --- 4. The extended slice store's error message is not Python's -----------------------------
#
# ``lists.py`` turns non-sequence values into a list with ``list(values)``, so a value that is
# not iterable gets ``list``'s message, not the slice store's. Plain CPython 3.11: "must assign
# iterable to extended slice"; sandbox: "'int' object is not iterable".
NOT_ITERABLE_SLICE = """lights = list(range(6))
try:
    lights[::2] = 5
except TypeError as problem:
    print("message:", problem)
"""


def test_a_non_iterable_extended_slice_value_gets_pythons_message() -> None:
    assert Checker(_config()).check(NOT_ITERABLE_SLICE) == []
    real = _tree_run(NOT_ITERABLE_SLICE, "slice-message")
    predicted = _dry_run(NOT_ITERABLE_SLICE)
    for log in (real.log, predicted.log):
        assert "message: must assign iterable to extended slice" in log, log


# --- 5. Lists compare only half as deep as in Python ------------------------------------------
#
# ``lists.install`` points ``list``'s ``tp_richcompare`` at CPython's generic slot function, so
# every list comparison, ``==`` and ``!=`` included, is a lookup in the type's dictionary and a
# call of the method found there; that call is one more level of the interpreter's recursion
# count per nesting level. Lists nested 600 deep (the result of a recursive subdivision, a
# tree of branches) compare in plain CPython 3.11 (limit 1000); in the sandbox, tree and dry
# run, ``==`` raises ``RecursionError`` from about 480 levels on, ``<`` from about 500.
NESTED_COMPARE = """def nested(leaf, depth):
    for level in range(depth):
        leaf = [leaf]
    return leaf


left, right = nested(1, 600), nested(2, 600)
try:
    print("equal:", left == right, "less:", left < right)
except RecursionError:
    print("RecursionError")
"""


@pytest.mark.xfail(
    strict=True,
    reason="red team round fifteen, known and documented (runner/README.md, 'Lists that "
    "hold lists'): ordering nested lists costs two recursion levels per level",
)
def test_nested_lists_compare_as_deep_as_in_python() -> None:
    assert Checker(_config()).check(NESTED_COMPARE) == []
    real = _tree_run(NESTED_COMPARE, "nested-compare")
    predicted = _dry_run(NESTED_COMPARE)
    for log in (real.log, predicted.log):
        assert "equal: False less: True" in log, log
