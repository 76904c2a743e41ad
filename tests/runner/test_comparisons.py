"""While a program's comparison method runs, no list, dict or set may lose items
(``runner.sandbox.comparisons``; red team round ten: CPython 3.11's list comparison frees the
items it compares, gh-120298). The policy layer runs in this process with the real
RestrictedPython; the one program that would touch freed memory if the rule failed runs in a
real confined child.
"""

from __future__ import annotations

import textwrap

import pytest

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.sandbox.transformer import SandboxTransformer
from runner.supervise.supervisor import Supervisor
from tests.runner.test_policy import MODES, output, runtime_error

REFUSED = "cannot lose items while a comparison method"

# Each changes ``items`` (a list, dict or set the comparison may be working on) from inside
# ``__eq__``, one route each: methods fetched now or before, unbound, through super() in a
# subclass, subscripts, augmented assignment.
DROPS = {
    "list.pop": "items = [1, 2]\nchange = lambda: items.pop()",
    "list.clear fetched before": "items = [1, 2]\nclear = items.clear\nchange = lambda: clear()",
    "list.remove unbound": "items = [1, 2]\nchange = lambda: list.remove(items, 1)",
    "del a slice": "items = [1, 2]\ndef change():\n    del items[:]",
    "slice assignment": "items = [1, 2]\ndef change():\n    items[:] = []",
    "item assignment": "items = [1, 2]\ndef change():\n    items[0] = 3",
    "times zero": "items = [1, 2]\ndef change():\n    global items\n    items *= 0",
    "dict.popitem": "items = {1: 2}\nchange = lambda: items.popitem()",
    "dict.update": "items = {1: 2}\nchange = lambda: items.update({1: 3})",
    "dict item": "items = {1: 2}\ndef change():\n    del items[1]",
    "set.discard": "items = {1, 2}\nchange = lambda: items.discard(1)",
    "set minus": "items = {1, 2}\ndef change():\n    global items\n    items -= {1}",
    "subclass super": (
        "class Stack(list):\n    def empty(self):\n        super().clear()\n"
        "items = Stack([1])\nchange = lambda: items.empty()"
    ),
}


@pytest.mark.parametrize("transformer", MODES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("route", DROPS)
def test_a_comparison_method_cant_take_items_out_of_a_container(
    route: str, transformer: type[SandboxTransformer]
) -> None:
    source = DROPS[route] + textwrap.dedent(
        """
        class Key:
            def __eq__(self, other):
                change()
                return True
        print(Key() == Key())
        """
    )
    error = runtime_error(source, transformer)
    assert type(error) is RuntimeError and REFUSED in str(error), error


@pytest.mark.parametrize("hook", ["__lt__", "__bool__", "__len__"])
def test_every_hook_the_interpreter_calls_mid_comparison_counts(hook: str) -> None:
    # __bool__ and __len__: the interpreter asks them of what a comparison returned.
    args = "self" if hook in ("__bool__", "__len__") else "self, other"
    source = f"""
    items = [1]
    class Key:
        def {hook}({args}):
            items.pop()
            return 1
    k = Key()
    print(bool(k) if "{hook}" != "__lt__" else k < Key())
    """
    error = runtime_error(source, SandboxTransformer)
    assert REFUSED in str(error)


def test_a_comparison_method_must_be_a_function() -> None:
    # A bound method as __eq__ (a decorator's result) would drop items with no method of the
    # program's on the stack to count.
    source = """
    items = [1, 2]
    def removing(method):
        return items.remove
    class Key:
        @removing
        def __eq__(self, other):
            return True
    """
    error = runtime_error(source, SandboxTransformer)
    assert type(error) is TypeError and "__eq__ must be a function" in str(error)


def test_a_comparison_method_may_change_its_own_attributes_and_counters() -> None:
    source = textwrap.dedent(
        """
        class Key:
            compared = 0
            def __init__(self):
                self.seen = set()
            def __eq__(self, other):
                Key.compared += 1
                self.seen.add(id(other))
                return True
        """
    )
    assert output(source + "k = Key()\nprint(k == Key(), Key.compared, len(k.seen))\n") == (
        "True 1 1\n"
    )
    # "|=" on a set only adds, but the operator is one that can drop (on a dict): refused.
    changed = source.replace("self.seen.add(id(other))", "self.seen |= {id(other)}")
    error = runtime_error(changed + "print(Key() == Key())\n", SandboxTransformer)
    assert REFUSED in str(error)


def test_ordinary_comparisons_sorting_and_containers_work_as_in_python() -> None:
    source = """
    class Flake:
        def __init__(self, z):
            self.z = z
        def __lt__(self, other):
            return self.z < other.z
        def __eq__(self, other):
            seen.append(other)  # adding items drops nothing: allowed
            return isinstance(other, Flake) and self.z == other.z
        def __len__(self):
            return 1
    seen = []
    flakes = [Flake(3), Flake(1), Flake(2)]
    flakes.sort()
    lowest = min(flakes)
    flakes.pop()  # outside a comparison: as in Python
    queue = {1: "a"}
    queue.pop(1)
    print([f.z for f in flakes], lowest.z, Flake(1) == Flake(1), len(seen), queue, bool(lowest))
    """
    assert output(source) == "[1, 2] 1 True 1 {} True\n"


# The list comparison's borrowed pointers reach a tuple's own comparison too: the left item's
# __eq__, the second time it runs (the final comparison), empties both lists, freeing the two
# tuples mid-comparison; the tuple comparison then reads their items from freed memory (27
# items: too long for the tuple free list, so the block goes back to the allocator). Run in a
# real child: in plain CPython 3.11 the result depends on what reuses the freed blocks.
TUPLE_VARIANT = """
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
print(left < right)
"""


def test_a_tuple_inside_a_list_comparison_cant_be_freed_under_it() -> None:
    config = RunnerConfig(led_count=10, fps=40.0, time_limit_s=3.0)
    with Supervisor(config, VirtualStrip(10), spiral_cone(10)) as tree:
        result = tree.run("tuple-variant", TUPLE_VARIANT)
    assert (result.status, result.reason) == ("failed", "error"), result
    assert result.error is not None and result.error.line == 8
    assert REFUSED in result.error.message
