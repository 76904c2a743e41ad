"""Red team, round thirty-two: CPython 3.11 memory-safety bugs reachable from tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks (``tests/hardening/confined_runs.py``). Every memory experiment runs
in a child, never in the pytest process. ``docs/red-team/round32-cpython.md`` has the
reproductions, what held and the suggested fixes.

Each finding is a strict xfail until it is fixed; the tests not marked assert what held.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import assert_no_escape, config, tree_run
from tests.hardening.test_round31_cpython import GENERATOR_THROW_ESCAPE

# --- The bug: CPython 3.11 reads a *running* generator's stack for its "yield from" target ----
#
# ``gen_close`` and ``_gen_throw`` (Objects/genobject.c) start with ``_PyGen_yf(gen)`` and only
# later find out that the generator is running. ``_PyGen_yf`` decides "suspended in a yield
# from" from the code unit after ``frame->prev_instr``. In a running frame, stopped in a call
# made from C (``gen.close()``, ``list.clear()``: not an inlined Python call), that unit is the
# CALL's inline cache, an adaptive counter; at an unspecialisable call site it counts down
# through values whose low byte is RESUME (151) and whose high byte is 2 or more (backoff 7:
# 41, 57 ... 121 with low nibble 9, and so on at higher backoffs). ``_PyGen_yf`` then takes the
# "sub-iterator" from ``localsplus[stacktop - 1]``; a running frame's ``stacktop`` is -1, so that
# is ``localsplus[-2]``: the frame's own ``prev_instr`` pointer, taken as an object.
# ``Py_INCREF`` adds one to the 8 bytes at the CALL (the program's bytecode) and
# ``gen_close_iter`` reads a type pointer from the next 8 (the CALL's ``min_args`` cache and the
# instructions after it): SIGSEGV. 3.12 made "suspended in yield from" a frame state
# (FRAME_SUSPENDED_YIELD_FROM) and never reads a running frame's stack; 3.11 (security fixes
# only) kept the 3.11.0 code. Same on the Pi's 3.11.2 (Debian's /usr/bin/python3.11, tried).

# 1a. The program closes its own running generator, again and again.
# Found: tree and dry run ``failed``/``killed`` ("killed by SIGSEGV", the ``c()`` line), every
# run; plain CPython 3.11.7 and 3.11.2 segfault (3.11.7: at the 70th call).
RUNNING_CLOSE_CRASH = """
def gen():
    c = me.close
    for i in range(3000):
        try:
            c()
        except ValueError:
            pass  # "generator already executing", most of the time
    yield 1


me = gen()
print(next(me))
print("survived")
"""

# 1b. No close() at all: a generator suspended in ``yield from gen`` is dropped (``hold.clear``)
# while ``gen`` runs; its finalizer (``_PyGen_Finalize`` -> ``gen_close``) closes its
# sub-generator, the running one, through ``gen_close_iter``. A wrapper around ``close`` and
# ``throw`` would not see this one.
# Found: tree and dry run ``failed``/``killed`` (SIGSEGV on the ``drop()`` line), every run;
# plain 3.11.7 and 3.11.2 the same (one-shot variant: the 132nd, 148th, 164th call crash).
DROPPED_OUTER_CRASH = """
def inner(hold):
    yield 1
    drop = hold.clear
    drop()  # drops the outer generator: its finalizer closes it, and it closes this running one
    yield 2


def outer(gen):
    try:
        yield from gen
    except ValueError:
        pass  # "generator already executing"


for n in range(3000):
    hold = []
    gen = inner(hold)
    o = outer(gen)
    next(o)
    hold.append(o)
    o = None
    next(gen)
print("survived")
"""

# 1c. Through round thirty-one's fix: ``yield from inner`` over a program iterator now yields
# from ``_delegate``, a *generator* that calls the iterator's ``throw`` from its own running
# frame. A ``throw`` that closes the outer generator (marked executing, but its frame is
# suspended and its stack valid) makes ``gen_close`` call ``gen_close_iter`` on the running
# ``_delegate``, whose CALL site's counter the program drives (a callable object defeats
# specialisation). Plain CPython 3.11.7 runs the same program to the end ("survived": there the
# sub-iterator is the program's object, not a generator).
# Found: tree and dry run ``failed``/``killed`` (SIGSEGV, the ``outer_gen.close()`` line).
DELEGATE_CRASH = """
class Thrower:
    def __call__(self, error):
        try:
            outer_gen.close()  # the outer generator is mid-throw: its _delegate is running
        except ValueError:
            pass
        return 5


class Inner:
    def __iter__(self):
        return self

    def __next__(self):
        return 1


inner = Inner()
inner.throw = Thrower()


def outer():
    yield from inner


outer_gen = outer()
next(outer_gen)
for i in range(3000):
    outer_gen.throw(KeyError)
print("survived")
"""

RUNNING_GENERATOR_CRASHES = {
    "close-itself": RUNNING_CLOSE_CRASH,
    "dropped-outer": DROPPED_OUTER_CRASH,
    "through-delegate": DELEGATE_CRASH,
}


@pytest.mark.parametrize("variant", sorted(RUNNING_GENERATOR_CRASHES))
def test_a_program_cant_make_cpython_read_a_running_generators_stack(variant: str) -> None:
    program = RUNNING_GENERATOR_CRASHES[variant]
    assert_no_escape(program, f"running-generator-{variant}")
    real = tree_run(program, f"running-generator-{variant}")
    assert "survived" in real.log, (real.reason, real.error, real.log[-500:])


def test_the_running_generator_programs_are_accepted() -> None:
    for program in RUNNING_GENERATOR_CRASHES.values():
        assert Checker(config()).check(program) == []


# --- What held: round thirty-one's fix, when the finalizer advances the outer generator ------
#
# Round thirty-one's "not done": the released ``throw``'s finalizer calls ``next(outer_gen)``
# instead of ``outer_gen.close()``. Through ``_delegate`` the program's ``throw`` is released in
# Python, from ``_delegate``'s frame, which the ValueError's traceback keeps: the finalizer runs
# only when the ``except`` clause drops ``e``, the outer generator long finished (its
# ``next()`` raises StopIteration: "generator raised StopIteration", reported as unraisable),
# and the Ornament is intact.
ADVANCE_INSTEAD_OF_CLOSE = GENERATOR_THROW_ESCAPE.replace(
    "        outer_gen.close()  # the outer generator, in the middle of its own throw()",
    "        try:\n"
    "            next(outer_gen)  # the outer generator, in the middle of its own throw()\n"
    "        except ValueError as e:\n"
    "            print('refused:', e)",
)


def test_a_finalizer_cant_advance_the_generator_its_throw_left() -> None:
    assert ADVANCE_INSTEAD_OF_CLOSE != GENERATOR_THROW_ESCAPE
    assert Checker(config()).check(ADVANCE_INSTEAD_OF_CLOSE) == []
    assert_no_escape(ADVANCE_INSTEAD_OF_CLOSE, "advance-instead-of-close")
    real = tree_run(ADVANCE_INSTEAD_OF_CLOSE, "advance-instead-of-close")
    assert "generator raised StopIteration" in real.log, real.log
    assert "text: (None, 0, 1, 2" in real.log, real.log
