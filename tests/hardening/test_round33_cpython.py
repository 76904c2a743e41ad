"""Red team, round thirty-three: generator close/throw in CPython 3.11 after round thirty-two's fix.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks (``tests/hardening/confined_runs.py``). ``docs/red-team/
round33-cpython.md`` has what was tried. No finding in the timebox: every test here asserts what
held (the first two programs segfault plain CPython 3.11.7: the sandbox is what holds).
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import config, dry_run, tree_run


def _survives(program: str, name: str) -> str:
    assert Checker(config()).check(program) == []
    real = tree_run(program, name)
    predicted = dry_run(program)
    for log in (real.log, predicted.log):
        assert "ESCAPED" not in log, log
        assert "memory over everything: True" not in log, log
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error
    assert "survived" in real.log, (real.reason, real.error, real.log[-500:])
    assert "survived" in predicted.log, (predicted.reason, predicted.error, predicted.log[-500:])
    return real.log


# --- Held: other spellings of a running generator's close/throw --------------------------------
#
# Round thirty-two's close-itself crash (a running generator's close called 1000 times from an
# unspecialisable call site), spelled without ``me.close``: ``getattr`` with a default, the
# method handed to ``map`` through a lambda, ``throw`` called by ``map``. All go through the
# getattr guard's checked method ("generator already executing"); ``type(me)`` is refused.
# Plain CPython 3.11.7: SIGSEGV.
CLOSE_SPELLINGS = """def gen(way):
    for i in range(1000):
        try:
            if way == 0:
                c = getattr(me, "close")
                c()
            elif way == 1:
                c = getattr(me, 'close', None)
                list(map(lambda f: f(), [c]))
            elif way == 2:
                t = me.throw
                list(map(t, [KeyError]))
            elif way == 3:
                c = getattr(me, "throw", None)
                c(KeyError("x"))
        except ValueError:
            pass
    yield 1


for way in range(4):
    me = gen(way)
    print(way, next(me))
print("survived")
"""


def test_every_spelling_of_close_and_throw_on_a_running_generator_is_checked() -> None:
    log = _survives(CLOSE_SPELLINGS, "close-spellings")
    assert "3 1" in log, log


# --- Held: an inner iterator that re-enters the generator delegating to it -------------------
#
# ``yield from Inner()`` where the program iterator's send/throw/close resume, throw into and
# close the outer generator (mid-send, mid-throw, mid-close), drop it, and raise StopIteration
# and GeneratorExit of its own from __next__. ``_delegate`` runs the iterator from its own frame;
# the outer generator is marked executing throughout, so every re-entry is "generator already
# executing" and CPython never reads a running frame. Plain CPython 3.11.7: SIGSEGV (round
# thirty-one's and thirty-two's bugs).
REENTRANT_INNER = """
class Box:
    pass


box = Box()
box.log = []


class Inner:
    def __init__(self):
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.n += 1
        if self.n % 3 == 0:
            raise StopIteration(42)
        if self.n % 5 == 0:
            raise GeneratorExit("mine")
        return self.n

    def send(self, v):
        try:
            box.outer.send(v)
        except ValueError as e:
            box.log.append("send: " + str(e))
        return next(self)

    def throw(self, e):
        try:
            box.outer.throw(e)
        except ValueError as e2:
            box.log.append("throw: " + str(e2))
        box.outer = None
        raise StopIteration(42)

    def close(self):
        try:
            box.outer.close()
        except ValueError as e:
            box.log.append("close: " + str(e))
        raise GeneratorExit("closing")


def outer():
    while True:
        try:
            r = yield from Inner()
            box.log.append(r)
        except GeneratorExit:
            raise
        except BaseException as e:
            box.log.append(type(e).__name__)
            yield -1


for n in range(300):
    o = outer()
    box.outer = o
    try:
        next(o)
        o.send(1)
        o.send(2)
        o.throw(KeyError("k"))
        o.close()
    except BaseException as e:
        box.log.append("top " + type(e).__name__)
    box.outer = None
print(len(box.log), box.log[:12])
print("survived")
"""


def test_an_inner_iterator_cant_reenter_the_generator_delegating_to_it() -> None:
    log = _survives(REENTRANT_INNER, "reentrant-inner")
    assert "send: generator already executing" in log, log
    assert "throw: generator already executing" in log, log


# --- Held: one generator delegated to by two outer generators --------------------------------
#
# Two outer generators ``yield from`` the same inner generator; while it runs (driven by the
# first), it closes, throws into and drops the second, whose ``_delegate`` must not close or
# throw into the running inner one. Plain CPython 3.11.7 survives it too (a regression guard).
SHARED_INNER = """
class Box:
    pass

box = Box()

def inner():
    for i in range(3):
        other = box.o2
        try:
            other.close()
        except ValueError as e:
            print("refused", e)
        try:
            other.throw(KeyError("k"))
        except (ValueError, KeyError) as e:
            print("throw:", type(e).__name__, e)
        box.o2 = None
        yield i

def outer(g):
    try:
        r = yield from g
    except ValueError as e:
        print("outer ValueError", e)

shared = inner()
o1 = outer(shared)
box.o2 = outer(shared)
for n in range(2):
    box.o2 = outer(shared)
    try:
        print(next(o1))
    except StopIteration:
        print("stop")
print("survived")
"""


def test_a_generator_shared_by_two_delegations_is_never_closed_while_it_runs() -> None:
    log = _survives(SHARED_INNER, "shared-inner")
    assert "throw: KeyError" in log, log


@pytest.mark.parametrize("program", [CLOSE_SPELLINGS, REENTRANT_INNER, SHARED_INNER])
def test_the_round33_programs_are_accepted(program: str) -> None:
    assert Checker(config()).check(program) == []
