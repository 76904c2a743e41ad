"""``yield from`` in tree programs (``runner.sandbox.delegation``): delegation to generators,
builtin iterators and a program's own iterators sends, throws, closes and returns as in CPython,
while CPython itself only ever delegates to a real generator (red team round thirty-one)."""

from __future__ import annotations

import subprocess
import sys

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

DELEGATIONS = """
def inner():
    got = yield 1
    print("inner got", got)
    try:
        yield 2
    except ValueError as error:
        print("inner caught", error)
        yield 3
    finally:
        print("inner finally")
    return "inner result"


def outer(source):
    result = yield from source
    print("outer result", result)
    yield "after"


g = outer(inner())
print(next(g), g.send("hello"), g.throw(ValueError("boom")), next(g), next(g, "end"))

print(list(outer([4, 5])), list(outer(range(3))), list(outer("ab")))


class Countdown:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration(self.n)
        self.n -= 1
        return self.n

    def send(self, value):
        print("countdown sent", value)
        return next(self)

    def throw(self, error):
        print("countdown thrown", type(error).__name__)
        return -1

    def close(self):
        print("countdown closed")


g = outer(Countdown(3))
print(next(g), g.send("x"), g.throw(KeyError("k")), next(g))
g.close()
g = outer(Countdown(5))
next(g)
g.close()

g = outer(iter([1, 2]))
next(g)
try:
    g.throw(IndexError("no throw method"))
except IndexError as error:
    print("passed through", error)

try:
    list(outer(5))
except TypeError as error:
    print("TypeError:", error)


def plain():
    yield 1
    yield 2


# throw()'s arguments checked as CPython checks them, before anything is reached (red team
# round thirty-six: checked only in _delegate, they released it with the outer suspended).
for bad in ((5,), (KeyError, None, 5), (KeyError("k"), "value")):
    for g in (plain(), outer(iter([1, 2, 3]))):
        next(g)
        try:
            print("thrown", g.throw(*bad))
        except TypeError as error:
            print("TypeError:", error)
        print("still", next(g))


def deep(n):
    if n:
        value = yield from deep(n - 1)
        return value + 1
    yield "bottom"
    return 0


g = deep(20)
print(next(g))
try:
    next(g)
except StopIteration as stop:
    print("deep returned", stop.value)
"""


def test_yield_from_works_as_in_python() -> None:
    plain = subprocess.run(
        [sys.executable, "-c", DELEGATIONS], capture_output=True, text=True, check=True
    ).stdout
    config = RunnerConfig(led_count=10, fps=40.0, time_limit_s=5.0)
    with Supervisor(config, VirtualStrip(10), spiral_cone(10)) as tree:
        result = tree.run("delegation", DELEGATIONS)
    assert (result.status, result.reason) == ("completed", "ended"), result
    assert result.log == plain
    assert "deep returned 20" in plain and "countdown thrown KeyError" in plain
    assert "TypeError: instance exception may not have a separate value" in plain


# A generator's own close and throw, suspended (as in CPython) and running (ValueError, as
# CPython 3.12 says it; 3.11 read the running frame's stack out of bounds: round thirty-two).
CLOSE_AND_THROW = """
def counter():
    try:
        n = 0
        while True:
            n += 1
            yield n
    except KeyError:
        yield "caught"
    finally:
        print("counter finally")


g = counter()
print(next(g), next(g), g.throw(KeyError("k")))
g.close()
g = counter()
next(g)
close = g.close
close()
print(hasattr(g, "close"), hasattr(g, "throw"))


def closes_itself():
    me = holder[0]
    yield 1
    me.close()
    yield 2


def throws_into_itself():
    me = holder[0]
    yield 1
    me.throw(KeyError("self"))


for make in (closes_itself, throws_into_itself):
    g = make()
    holder = [g]
    next(g)
    try:
        next(g)
    except ValueError as error:
        print("ValueError:", error)
"""


def test_close_and_throw_work_and_refuse_a_running_generator() -> None:
    config = RunnerConfig(led_count=10, fps=40.0, time_limit_s=5.0)
    with Supervisor(config, VirtualStrip(10), spiral_cone(10)) as tree:
        result = tree.run("close-throw", CLOSE_AND_THROW)
    assert (result.status, result.reason) == ("completed", "ended"), result
    assert result.log.splitlines() == [
        "1 2 caught",
        "counter finally",
        "counter finally",
        "True True",
        "ValueError: generator already executing",
        "ValueError: generator already executing",
    ]
