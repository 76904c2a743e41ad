"""Red team, round thirteen: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round13-language.md`` has the reproductions, what
held, and the suggested fixes; the numbers below are its findings'. Every memory experiment
runs in a child, never in the pytest process.
"""

from __future__ import annotations

from runner.supervise.check import Checker
from tests.hardening.confined_runs import FROM_MEMORY_TO_EXEC as _FROM_MEMORY_TO_EXEC
from tests.hardening.confined_runs import config as _config
from tests.hardening.confined_runs import dry_run as _dry_run
from tests.hardening.confined_runs import tree_run as _tree_run

# From a fake bytearray over the whole address space to the real ``exec``, as in rounds eight
# to twelve: ``id(print) + 16`` is the ``SandboxFunction``'s ``_call`` (a function of
# ``runner.sandbox.guards``), ``+ 16`` its ``__globals__``, stored into a list of the program's.
FROM_MEMORY_TO_EXEC = _FROM_MEMORY_TO_EXEC


# --- 1. iter(callable, sentinel) compares through a borrowed sentinel: the real builtins -------
#
# CPython 3.11's ``calliter_iternext`` calls ``PyObject_RichCompareBool(it->it_sentinel,
# result, Py_EQ)`` with the iterator's own pointer to the sentinel, no reference of its own.
# The sentinel needs no hash (nothing is put in a set or dict), so its class may define
# ``__eq__``. That ``__eq__`` calls ``next()`` on the same iterator; the inner call's
# comparison says "equal" and clears ``it_sentinel`` (the iterator's reference goes). The outer
# ``__eq__`` then returns ``NotImplemented``: its frame's reference goes too, the sentinel is
# freed, and ``do_richcompare`` goes on to the reflected operation, the *result's* ``__eq__``,
# handing it the freed sentinel as ``other``. A tuple subclass of 100 items is an 848-byte
# malloc chunk (its ``ob_refcnt`` at offset 16, past tcache's two words); a ``bytearray`` of
# the same size, made inside the result's ``__eq__``, gets the chunk back and lays a fake
# ``bytearray`` over all memory where the sentinel was. Found: every run (runner 4 of 4, tree
# and dry run), ``completed``/``ended``, log "ESCAPED: pid, uid, environment: (..., 65534,
# ['LC_CTYPE'])"; plain CPython 3.11.7 gets the fake too.
CALLITER_ESCAPE = (
    """def word(value):
    return value.to_bytes(8, "little")


# A bytearray over all memory at offset 16 of an 848-byte chunk (after the GC header).
FAKE = bytes(16) + word(1 << 40) + word(id(bytearray)) + word(1 << 62) + word(1 << 62)
FAKE = FAKE + bytes(847 - len(FAKE))
state = {"depth": 0, "spray": None}
found = []


class Sentinel(tuple):
    def __eq__(self, other):
        if state["depth"] == 0:
            state["depth"] = 1
            try:
                next(stream)  # the inner comparison says equal: the iterator lets go of us
            except StopIteration:
                pass
            return NotImplemented  # our frame lets go too: freed, and then...
        return True


class Reading:
    def __eq__(self, other):  # ...the reflected comparison is handed the freed sentinel
        state["spray"] = [bytearray(FAKE) for i in range(50)]
        found.append(other)
        return False


def read_sensor():
    return Reading()


stream = iter(read_sensor, Sentinel(range(100)))
next(stream)
"""
    + FROM_MEMORY_TO_EXEC
)


def test_a_program_cant_free_a_callable_iterators_sentinel_while_it_compares() -> None:
    # Accepted today. A fix may refuse it at upload (each error with its line) or at run time;
    # the runs below must not escape either way (the supervisor runs what it is given).
    program = CALLITER_ESCAPE
    refused = Checker(_config()).check(program)
    assert refused == [] or all(e.line is not None for e in refused), refused
    real = _tree_run(program, "calliter-escape")
    predicted = _dry_run(program)
    for log in (real.log, predicted.log):
        assert "ESCAPED" not in log, log
        assert "memory over everything: True" not in log, log
    # However a fix refuses it, the program must not crash the child.
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error


# --- 2. bytearray % reads its format after a __repr__ freed it: freed memory in the output -----
#
# CPython 3.11's ``bytearray.__mod__`` hands ``_PyBytes_FormatEx`` the bytearray's buffer
# pointer and length, then formats: ``%r`` calls the argument's ``__repr__``, which may clear
# the bytearray (its buffer is freed) and make another of the same size (which gets that
# memory). The formatting goes on reading the old pointer: the result holds whatever now lives
# there (python/cpython gh-142557, fixed in 3.13/3.14 in December 2025, never in 3.11). Found:
# every run (runner 4 of 4, tree and dry run), ``completed``/``ended``, log "206
# bytearray(b'labelBBBB...') 2 198" where Python's answer is b'label|AAAA...' (200 A).
BYTEARRAY_FORMAT = """fmt = bytearray(b"%r|" + b"A" * 200)
keep = []


class Label:
    def __repr__(self):
        fmt.clear()  # the format's buffer is freed while % still reads it
        keep.append(bytearray(b"B" * 200))  # the same size: it gets the freed memory
        return "label"


out = fmt % Label()
print(out.count(b"B"), len(out))
"""


def test_a_program_cant_read_freed_memory_through_a_bytearray_format() -> None:
    program = BYTEARRAY_FORMAT
    refused = Checker(_config()).check(program)
    assert refused == [] or all(e.line is not None for e in refused), refused
    real = _tree_run(program, "bytearray-format")
    predicted = _dry_run(program)
    for log in (real.log, predicted.log):
        # Python's answer for the bytes it was given: b"label|" + 200 "A" (no "B"), or an
        # error if a fix refuses to let the format change while it is read.
        assert not log.startswith("198 "), log
        assert "B" * 8 not in log, log
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error
