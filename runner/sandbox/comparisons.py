"""While a program's comparison method runs, lists, dicts and sets may not lose items.

CPython 3.11 compares two lists by finding the first index where their items differ and then
comparing those two items once more through *borrowed* pointers (``list_richcompare``,
python/cpython gh-120298: fixed in 3.12.5 and 3.13, never in 3.11, so neither in the Pi's
3.11.2). A program whose ``__lt__`` empties both lists frees the items under the interpreter's
feet, refills the freed memory with bytes of its choosing, and is handed a fake object over the
child's whole memory: the real builtins (red team round ten, finding 1). The same borrowed
pointers reach a tuple's own comparison, so keeping only the operands of a comparison alive is
not enough: an item's ``__eq__`` may free the tuple that holds it.

So the run counts the program's comparison methods on the stack (the interpreter calls them,
and ``__bool__``/``__len__`` on what they return, in the middle of such a comparison) and, while
any runs, refuses every change that drops a reference held by a list, dict or set: assigning or
deleting an item, ``+=``-style operators, and the methods that remove or replace items (fetched
before or during the comparison: they are checked when called). Adding items (``append``)
drops nothing and stays allowed. A comparison method that changes containers is unusual
enough that an error naming the rule costs ordinary programs nothing.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from runner.sandbox.rules import ITEM_DROPPING_ATTRIBUTES

# The program's methods the interpreter may call in the middle of comparing two containers:
# the rich comparisons, and truth tests of what they return.
HOOKS = frozenset({"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"}) | {
    "__bool__",
    "__len__",
}
# Methods that drop references to items: remove them, or replace them with others.
DROPPING = {
    list: frozenset({"clear", "pop", "remove"}),
    dict: frozenset({"clear", "pop", "popitem", "update"}),
    set: frozenset({"clear", "pop", "remove", "discard"})
    | {"difference_update", "intersection_update", "symmetric_difference_update"},
}
assert frozenset().union(*DROPPING.values()) == ITEM_DROPPING_ATTRIBUTES
CONTAINERS = (list, dict, set)


def _two_argument_template() -> Callable[..., object]:
    depth = [0]  # replaced by the run's counter (a cell)
    method: Callable[..., object] = print  # replaced by the program's own method (a cell)

    def hook(self: object, other: object) -> object:
        depth[0] += 1
        try:
            return method(self, other)
        finally:
            depth[0] -= 1

    return hook


def _one_argument_template() -> Callable[..., object]:
    depth = [0]
    method: Callable[..., object] = print

    def hook(self: object) -> object:
        depth[0] += 1
        try:
            return method(self)
        finally:
            depth[0] -= 1

    return hook


_TEMPLATES = {1: _one_argument_template(), 2: _two_argument_template()}


class Comparisons:
    """One run's count of the program's comparison methods running, and the guards that
    refuse, meanwhile, the changes that would drop items from containers."""

    def __init__(
        self, program_globals: dict[str, object], wrap: Callable[[Callable[..., Any], str], object]
    ) -> None:
        """``wrap(function, name)``: how the sandbox hands a function of its own to programs."""
        self._globals = program_globals
        self._wrap = wrap
        self._depth = [0]

    @property
    def depth(self) -> list[int]:
        """The count itself, a one-item list: compiled code reads ``_comparing_[0]``."""
        return self._depth

    def keep(self, container: object) -> object:
        """``container``, unless it is a list, dict or set and a comparison method runs."""
        self.refuse_if_running(container)
        return container

    @property
    def running(self) -> bool:
        """A comparison method of the program's is on the stack."""
        return self._depth[0] > 0

    def wrap_hooks(self, namespace: dict[str, object]) -> None:
        """Replace a class body's comparison methods by counting ones. Each wrapper is a
        function of the program's own globals (the reachability audit's rule) whose closure
        holds the program's method and the count; no program can read a closure."""
        for name in HOOKS & namespace.keys():
            method = namespace[name]
            if type(method) is not types.FunctionType:
                # A bound builtin (``__eq__ = items.remove``) would change a container with no
                # method of the program's on the stack to count.
                raise TypeError(f"{name} must be a function (def) in tree programs")
            template = _TEMPLATES[1 if name in ("__bool__", "__len__") else 2]
            cells = {"depth": self._depth, "method": method}
            closure = tuple(types.CellType(cells[n]) for n in template.__code__.co_freevars)
            hook = types.FunctionType(template.__code__, self._globals, name, None, closure)
            hook.__qualname__ = method.__qualname__
            namespace[name] = hook

    def refuse_if_running(self, container: object) -> None:
        """Raise if a comparison method runs and ``container`` is a list, dict or set."""
        if self._depth[0] and isinstance(container, CONTAINERS):
            raise _refusal(type(container).__name__)

    def guard_method(self, found: object, name: str) -> object:
        """``found`` (looked up as ``name``), or, when it is a method that drops items of a
        list, dict or set (bound, or taken from the class), a wrapper that refuses to run while
        a comparison method does."""
        owner: object
        if isinstance(found, types.BuiltinMethodType):
            owner = type(found.__self__)
        elif isinstance(found, (types.MethodDescriptorType, types.ClassMethodDescriptorType)):
            owner = found.__objclass__
        else:
            return found
        kinds = [k for k in CONTAINERS if isinstance(owner, type) and issubclass(owner, k)]
        kind = kinds[0] if kinds else None
        if kind is None or name not in DROPPING[kind]:
            return found
        method: Callable[..., Any] = found
        depth = self._depth

        def checked(*args: object, **kwargs: object) -> object:
            if depth[0]:
                raise _refusal(kind.__name__)
            return method(*args, **kwargs)

        return self._wrap(checked, f"{kind.__name__}.{name}")


def _refusal(kind: str) -> RuntimeError:
    return RuntimeError(
        f"a {kind} cannot lose items while a comparison method (__lt__, __eq__, ...) runs in "
        "tree programs: the interpreter may be comparing its items"
    )
