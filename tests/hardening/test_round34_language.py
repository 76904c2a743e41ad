"""Red team, round thirty-four: the language layer (CPython 3.11 generator frames, ``yield from``).

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks (``tests/hardening/confined_runs.py``). ``docs/red-team/
round34-language.md`` has what was tried and the figures.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import config, dry_run, tree_run

# --- Finding 1 (high): program code in a completed, not yet cleared generator's window -------
#
# Round thirty-three's open gap, reached. ``g_gen`` ends with a StopIteration (raised by a
# callable object, a CALL site that never specialises); unwinding its stack releases the loop's
# generator ``v``, whose ``finally`` catches the same StopIteration in ``helper``, so that the
# exception's ``__traceback__`` alone holds ``helper``'s frame and its local ``w``. When CPython
# 3.11 turns the StopIteration into "generator raised StopIteration"
# (``_PyErr_FormatFromCause``, after ``gi_frame_state = FRAME_COMPLETED`` and before the frame is
# cleared), it replaces that traceback: ``w`` is released and its ``finally`` runs *in the
# window*. There ``g.close()`` passes the guard (``gi_running`` is False) and the real
# ``gen_close`` asks ``_PyGen_yf`` where the completed generator delegates: it reads the CALL's
# adaptive counter as the next instruction and, once it looks like ``RESUME 2+``, takes the
# frame's last local as the sub-iterator; ``late`` is still unbound (NULL): ``Py_INCREF(NULL)``,
# SIGSEGV on every run, tree and dry run (plain CPython 3.11.7 too). The control (same program,
# ``pass`` instead of ``close()``) runs to the end with 3000 windows entered.
COMPLETED_WINDOW = """state = {"g": None, "s": None, "window": 0}

class Thrower:
    def __call__(self):
        raise state["s"]

thrower = Thrower()

def w_gen():
    try:
        yield 1
    finally:
        state["window"] += 1
        try:
            state["g"].close()
        except Exception:
            pass

def helper(w):
    try:
        raise state["s"]
    except StopIteration:
        pass

def v_gen(holder):
    try:
        while True:
            yield 1
    finally:
        helper(holder.pop())

def make_v():
    w = w_gen()
    next(w)
    v = v_gen([w])
    w = None
    next(v)
    return v

def g_gen():
    for x in make_v():
        thrower()
    late = 1
    yield late

for i in range(3000):
    state["s"] = StopIteration()
    g = g_gen()
    state["g"] = g
    try:
        next(g)
    except RuntimeError:
        pass
print("windows:", state["window"])
print("survived")
"""


def test_a_completed_generator_window_program_is_accepted() -> None:
    assert Checker(config()).check(COMPLETED_WINDOW) == []


def test_a_program_cant_close_a_generator_that_completed_but_is_not_cleared() -> None:
    real = tree_run(COMPLETED_WINDOW, "completed-window")
    predicted = dry_run(COMPLETED_WINDOW)
    for result in (real, predicted):
        assert result.reason != "killed", result.error
    assert "survived" in real.log, (real.reason, real.error)
    assert "survived" in predicted.log, (predicted.reason, predicted.error)


# --- Finding 1, second program: round thirty-two's read of a running generator's stack, again --
#
# The same window, but the completed generator's last local is ``y``, a generator that the
# window's finalizer starts, and that closes the completed one from inside (through a callable
# object, as ``thrower``: the two CALL sites' counters move in step). When the completed
# generator's counter looks like ``RESUME 2+``, the real ``gen_close`` takes ``y`` as its
# sub-iterator and closes it, running: ``_PyGen_yf`` reads ``y``'s running frame (stack top -1)
# out of bounds, round thirty-two's bug, which the guard no longer sees because the generator
# it checks (the completed one) is not running. SIGSEGV on every run, tree and dry run (line 11,
# the ``close()`` call); with ``late = [y]`` the same program runs to the end.
RUNNING_THROUGH_COMPLETED = """state = {"g": None, "s": None, "y": None, "window": 0, "closed": 0}

class Thrower:
    def __call__(self):
        raise state["s"]

thrower = Thrower()

class Closer:
    def __call__(self):
        state["g"].close()

closer = Closer()

def y_gen():
    try:
        closer()
        state["closed"] += 1
    except ValueError:
        pass
    yield 1

def w_gen():
    try:
        yield 1
    finally:
        state["window"] += 1
        try:
            next(state["y"])
        except Exception:
            pass

def helper(w):
    try:
        raise state["s"]
    except StopIteration:
        pass

def v_gen(holder):
    try:
        while True:
            yield 1
    finally:
        helper(holder.pop())

def make_v():
    w = w_gen()
    next(w)
    v = v_gen([w])
    w = None
    next(v)
    return v

def g_gen(y):
    x = None
    late = y
    for x in make_v():
        thrower()
    yield late

for i in range(3000):
    state["s"] = StopIteration()
    y = y_gen()
    state["y"] = y
    g = g_gen(y)
    y = None
    state["g"] = g
    try:
        next(g)
    except RuntimeError:
        pass
print("windows:", state["window"], "closed:", state["closed"])
print("survived")
"""


def test_a_program_cant_make_cpython_read_a_running_generators_stack_through_a_completed_one() -> (
    None
):
    assert Checker(config()).check(RUNNING_THROUGH_COMPLETED) == []
    real = tree_run(RUNNING_THROUGH_COMPLETED, "running-through-completed")
    predicted = dry_run(RUNNING_THROUGH_COMPLETED)
    for result in (real, predicted):
        assert result.reason != "killed", result.error
    assert "survived" in real.log, (real.reason, real.error)
    assert "survived" in predicted.log, (predicted.reason, predicted.error)


# --- Finding 2 (low): recursive ``yield from`` goes half as deep as in Python ------------------
#
# Every ``yield from`` is driven by ``_delegate`` (round thirty-one), one more generator per
# level, so a recursive generator hits RecursionError at about half CPython's depth: 494 levels
# in the sandbox, 997 in plain CPython 3.11.7 (a 600-deep tree walk fails only in the sandbox).
YIELD_FROM_DEPTH = """def walk(n):
    if n == 0:
        yield 0
        return
    yield from walk(n - 1)

def works(d):
    try:
        return list(walk(d)) == [0]
    except RecursionError:
        return False

lo, hi = 1, 2000
while lo < hi:
    mid = (lo + hi + 1) // 2
    if works(mid):
        lo = mid
    else:
        hi = mid - 1
print("deepest yield from:", lo)
print("600 deep:", works(600))
"""


@pytest.mark.xfail(
    strict=True,
    reason="red team round thirty-four, low, known and documented (runner/README.md, '`yield "
    "from` goes half as deep'): a recursive yield from raises RecursionError at about half the "
    "depth plain Python reaches (494 vs 997 levels)",
)
def test_a_recursive_yield_from_goes_as_deep_as_in_python() -> None:
    assert Checker(config()).check(YIELD_FROM_DEPTH) == []
    real = tree_run(YIELD_FROM_DEPTH, "yield-from-depth")
    assert real.reason != "killed", real.error
    assert "600 deep: True" in real.log, real.log


# --- Finding 3 (low): StopIteration thrown into a generator delegating to a plain iterator ----
#
# In Python, ``g.throw(StopIteration())`` into ``yield from iter([...])`` (an iterator without
# ``throw``) raises the StopIteration at the ``yield from``, where ``g`` may catch it. In the
# sandbox ``_delegate`` re-raises it inside its own frame, a generator's, which turns it into
# RuntimeError("generator raised StopIteration") before ``g`` sees it.
THROW_STOPITERATION = """def outer():
    try:
        yield from iter([1, 2, 3])
    except StopIteration:
        yield "caught StopIteration"
    except RuntimeError as e:
        yield "RuntimeError: " + str(e)


g = outer()
print(next(g))
print(g.throw(StopIteration()))
"""


def test_a_stopiteration_thrown_into_a_yield_from_arrives_as_in_python() -> None:
    assert Checker(config()).check(THROW_STOPITERATION) == []
    real = tree_run(THROW_STOPITERATION, "throw-stopiteration")
    assert real.reason != "killed", real.error
    assert real.log == "1\ncaught StopIteration\n", real.log


# --- Held: freeing long chains of iterators and generators --------------------------------------
#
# Chains 200,000 deep of ``enumerate``, ``filter``, suspended-before-start generators, ``zip``
# and ``map`` objects, dropped at once: every dealloc on the way uses CPython's trashcan (or
# frees through a tuple that does), so the release never overflows the C stack.
DEALLOC_CHAINS = """def g(p):
    yield p


for kind in range(5):
    x = [1]
    for i in range(200000):
        if kind == 0:
            x = enumerate(x)
        elif kind == 1:
            x = filter(None, x)
        elif kind == 2:
            x = g(x)
        elif kind == 3:
            x = zip(x)
        else:
            x = map(abs, x)
    x = None
    print("freed", kind)
print("survived")
"""


def test_dropping_long_chains_of_iterators_does_not_overflow_the_stack() -> None:
    assert Checker(config()).check(DEALLOC_CHAINS) == []
    real = tree_run(DEALLOC_CHAINS, "dealloc-chains")
    predicted = dry_run(DEALLOC_CHAINS)
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error
    assert "survived" in real.log, (real.reason, real.error, real.log)
    assert "survived" in predicted.log, (predicted.reason, predicted.error, predicted.log)
