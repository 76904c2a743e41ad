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
