"""The child's fixes of CPython 3.11 bugs in built-in types (``runner.sandbox.cpython_fixes``):
list orderings that hold the items they compare (gh-120298: red team rounds ten and eleven
freed them from program code to reach the real builtins), slice stores that take their values
as a list first (gh-120384, round fourteen), ``bytearray %`` on a copy (gh-142557, round
thirteen), ``bytearray.extend`` that reads no length hint (round twenty-seven). The fixes
change built-in types for the whole process, so they are tested only in real children, never
here: programs must see Python's own behaviour.
"""

from __future__ import annotations

import operator

import pytest

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import RunResult, Supervisor


def run(source: str) -> RunResult:
    config = RunnerConfig(led_count=10, fps=40.0, time_limit_s=5.0)
    with Supervisor(config, VirtualStrip(10), spiral_cone(10)) as tree:
        return tree.run("list-compare", source)


# Every comparison operator on lists of equal and unequal lengths, nested lists, lists against
# other types, subclasses, and what sorted/min/max do with them: each as plain Python says.
CASES = [
    "[1, 2] < [1, 3]",
    "[1, 2] <= [1, 2]",
    "[2] > [1, 5]",
    "[1, 2] >= [1]",
    "[] < [0]",
    "[1, 2] == [1, 2]",
    "[1, 2] == [1, 2, 3]",
    "[1] != [1]",
    "[1] != [2, 3]",
    "[[1, 2], [3]] < [[1, 2], [4]]",
    "[(1, 'a')] < [(1, 'b')]",
    "[1.0] == [1]",
    "[1] == (1,)",
    "[1] != 'x'",
    "sorted([[3, 1], [1, 2], [2, 0], [1, 1]])",
    "max([[1], [2, 0], [2]])",
    "min([[0, 5], [0, 4]])",
    "[[1]] in [[[1]], [2]]",
    "[1, [2, [3]]] == [1, [2, [3]]]",
    "[float('nan')] == [float('nan')]",
]
PROGRAM = (
    "\n".join(f"print({case})" for case in CASES)
    + """
class Stack(list):
    pass
print(Stack([1]) < Stack([2]), Stack([1]) == [1])
loop = []
loop.append(loop)
print(loop == loop)
try:
    print([1] < ["a"])
except TypeError as error:
    print("TypeError:", error)
"""
)


def test_lists_compare_in_the_sandbox_as_in_python() -> None:
    result = run(PROGRAM)
    assert (result.status, result.reason) == ("completed", "ended"), result
    expected = [str(eval(case)) for case in CASES]  # noqa: S307 - our own constant cases
    expected += [
        "True True",
        "True",
        "TypeError: '<' not supported between instances of 'int' and 'str'",
    ]
    assert result.log.splitlines() == expected


# The borrowed pointers reach a tuple's own comparison too: the left item's __eq__, the second
# time it runs (in the final comparison), empties both lists. In CPython 3.11 that frees the
# two tuples (27 items: too long for the tuple free list) while their comparison reads them;
# here the comparison holds them, and it goes on as Python says: (Item, ..., 1) < (.., 2).
TUPLE_FREED_MID_COMPARISON = """
class Item:
    calls = 0

    def __eq__(self, other):
        Item.calls += 1
        if Item.calls == 2:
            left.clear()
            right.clear()
        return True


pad = tuple(range(25))
left = [(Item(),) + pad + (1,)]
right = [(Item(),) + pad + (2,)]
print(left < right, left, right, Item.calls)
"""


def test_items_a_program_frees_mid_comparison_stay_alive_until_it_ends() -> None:
    result = run(TUPLE_FREED_MID_COMPARISON)
    assert (result.status, result.reason) == ("completed", "ended"), result
    assert result.log == "True [] [] 2\n"


# Round ten's shape, without the exploit: the left item empties both lists and returns
# NotImplemented, so the interpreter asks the right item's reflected method, with the left item.
REFLECTED_AFTER_EMPTYING = """
class Left:
    def __lt__(self, other):
        left.clear()
        right.clear()
        return NotImplemented


class Right:
    def __gt__(self, other):
        return type(other).__name__


left = [Left()]
right = [Right()]
print(left < right, sorted([right, [Left()]]) is not None)
"""


def test_the_reflected_comparison_gets_the_live_left_item() -> None:
    result = run(REFLECTED_AFTER_EMPTYING)
    assert (result.status, result.reason) == ("completed", "ended"), result
    assert result.log.splitlines()[0].startswith("Left ")


@pytest.mark.parametrize("op", ["<", "=="])
def test_comparing_long_lists_still_works(op: str) -> None:
    result = run(f"a = list(range(5000))\nb = list(range(5000))\nprint(a {op} b)")
    assert result.log == f"{operator.lt(0, 0) if op == '<' else True}\n"


# Slice stores take their values as a list first (round fourteen: ``lst[::2] = values`` sized
# the slice before the values' __iter__ ran, and one that shrank the list made CPython release
# items twice). What programs see must not change.
SLICE_STORES = """
a = list(range(10))
a[::2] = (x * 10 for x in range(5))
print(a)
a[1:3] = iter([7, 7, 7])
print(a)
a[0] = "z"
del a[::3]
print(a)
b = [1, 2, 3]
b[::-1] = b
print(b)
try:
    a[::2] = [1]
except ValueError as error:
    print("ValueError:", error)


class Stack(list):
    pass


s = Stack([1, 2, 3])
s[::2] = map(str, [8, 9])
print(s)
"""


def test_slice_stores_work_as_in_python() -> None:
    result = run(SLICE_STORES)
    assert (result.status, result.reason) == ("completed", "ended"), result
    assert result.log.splitlines() == [
        "[0, 1, 10, 3, 20, 5, 30, 7, 40, 9]",
        "[0, 7, 7, 7, 3, 20, 5, 30, 7, 40, 9]",
        "[7, 7, 3, 20, 30, 7, 9]",
        "[3, 2, 1]",
        "ValueError: attempt to assign sequence of size 1 to extended slice of size 4",
        "['8', 2, '9']",
    ]


# bytearray % formats a bytes copy (round thirteen: an argument's __repr__ cleared the
# bytearray whose buffer the format was reading, and freed bytes showed in the result).
BYTEARRAY_FORMATS = """
print(bytearray(b"%d-%s") % (1, b"x"), bytearray(b"%r") % 5, b"%s" % bytearray(b"q"))


class Buffer(bytearray):
    pass


print(type(Buffer(b"%d") % 3).__name__, bytearray(b"a") % ())
try:
    bytearray(b"%d") % "x"
except TypeError as error:
    print("TypeError:", error)
frame = bytearray(b"%d")
frame %= 7
print(frame)
"""


def test_bytearray_formats_work_as_in_python() -> None:
    result = run(BYTEARRAY_FORMATS)
    assert (result.status, result.reason) == ("completed", "ended"), result
    assert result.log.splitlines() == [
        "bytearray(b'1-x') bytearray(b'5') b'q'",
        "bytearray bytearray(b'a')",
        "TypeError: %d format: a real number is required, not str",
        "bytearray(b'7')",
    ]


# ``bytearray.extend`` with everything it takes or refuses: the same bytes and the same words
# as CPython's own (the child's version reads no length hint: red team round twenty-seven).
BYTEARRAY_EXTENDS = """
class Hinted:
    def __init__(self, items, hint):
        self.items, self.hint = list(items), hint

    def __len__(self):
        return self.hint

    def __iter__(self):
        return iter(self.items)


cases = [b"ab", bytearray(b"cd"), "ab", 5, None, [1, 2, 300], [1, "a"], range(250, 256),
         (n for n in range(3)), [1.5], Hinted([65, 66, 67], 0), Hinted([68], 9)]
for case in cases:
    grown = bytearray(b"z")
    try:
        grown.extend(case)
        print(grown)
    except (TypeError, ValueError) as error:
        print(type(error).__name__ + ":", error)
"""


def test_bytearray_extends_work_as_in_python() -> None:
    result = run(BYTEARRAY_EXTENDS)
    assert (result.status, result.reason) == ("completed", "ended"), result
    assert result.log.splitlines() == [
        "bytearray(b'zab')",
        "bytearray(b'zcd')",
        "TypeError: 'str' object cannot be interpreted as an integer",
        "TypeError: can't extend bytearray with int",
        "TypeError: can't extend bytearray with NoneType",
        "ValueError: byte must be in range(0, 256)",
        "TypeError: 'str' object cannot be interpreted as an integer",
        "bytearray(b'z\\xfa\\xfb\\xfc\\xfd\\xfe\\xff')",
        "bytearray(b'z\\x00\\x01\\x02')",
        "TypeError: 'float' object cannot be interpreted as an integer",
        "bytearray(b'zABC')",
        "bytearray(b'zD')",
    ]
