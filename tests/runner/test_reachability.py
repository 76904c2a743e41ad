"""The reachability audit: nothing a tree program can hold leads out of the sandbox.

A real program, compiled by the real policy and run with real ``make_globals``, builds everything
a program can make (instances of every allowed builtin type, its own classes, exceptions of every
builtin type caught in the sandbox, generators, bound methods, ``classmethod``/``staticmethod``/
``property`` objects, ``list[int]``-style aliases, ``super`` proxies, the forwarding wrappers of
the format escapes...). From those and from every name a program can use, the audit walks every
attribute name the policy allows (compile-time rules, then the run-time guard, exactly as a
program's ``obj.name`` and ``getattr(obj, name)`` would) and every item of every container, and
checks what it reaches. ``format``/``format_map`` must only ever hand out the guarded formatter,
whose field walks go through the same guard; any other formatter would walk fields unguarded.

It must reach no module object (sandbox namespaces are not modules), no real builtins dict nor any
module's globals, no function whose globals are not the program's own, no code, frame or
traceback object, and no real ``str.format``/``format_map``.
"""

from __future__ import annotations

import builtins
import sys
import textwrap
import types
from collections.abc import Callable, Iterator

import pytest

from runner.sandbox.dryrun import VirtualClock
from runner.sandbox.policy import compile_program, make_globals
from runner.sandbox.rules import (
    ALLOWED_MODULES,
    DENIED_ATTRIBUTES,
    FORBIDDEN_BUILTINS,
    READABLE_DUNDERS,
    RUNTIME_ATTRIBUTES,
    is_program_private,
)

# Every exception class a program can name (the UnicodeError family is not one: red team round
# fifteen; instances the interpreter raises are still caught and walked, as any exception).
EXCEPTION_NAMES = sorted(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type)
    and issubclass(value, BaseException)
    and name not in FORBIDDEN_BUILTINS
)

PROBE = textwrap.dedent(
    """
    import math
    import random
    import time
    import colorsys
    import typing
    from typing import List, Optional

    made = []
    keep = made.append

    class Base:
        def __init__(self):
            self.value = 1

        def method(self):
            return self.value

    class Thing(Base):
        kind = "thing"
        as_class = classmethod("class {0}")
        as_static = staticmethod(len)
        prop = property(lambda self: 2)

        def __init__(self):
            super().__init__()
            self.proxy = super()

        def gen(self):
            yield self.value

    class Text(str):
        def __call__(self):
            return 1

        def parent(self):
            return super()

    class Weird:
        bound_text = classmethod(Text("t {0}"))

    _CONSTANT = [1, 2]

    def _helper() -> Optional[List[int]]:
        return _CONSTANT

    class _Secret(Thing):
        _shared = staticmethod(_helper)

        def __init__(self):
            super().__init__()
            self._mine = self._shared()
            self._proxy = super()

    secret = _Secret()
    keep(secret)
    keep(_Secret)
    keep(_helper)
    keep(typing.List[int])
    keep(typing.Dict)
    keep(typing.cast)
    keep(typing.TypeVar("T"))
    keep(colorsys.hsv_to_rgb)
    keep(colorsys.hsv_to_rgb(0.5, 1, 1))

    class Grab:
        def __enter__(self):
            return self

        def __exit__(self, kind, value, tb):
            self.tb = tb
            return True

    grab = Grab()
    with grab:
        1 / 0
    keep(grab)
    keep(grab.tb)

    thing = Thing()
    keep(thing)
    keep(Thing)
    keep(Base)
    keep(thing.method)
    keep(thing.proxy)
    keep(Thing.as_class)
    keep(Thing.as_static)
    keep(Thing.prop)
    keep(Thing.method)
    keep(Weird.bound_text)
    keep(Text("x").parent())
    keep(super(Text, Text("y")))
    keep(thing.gen())
    keep(x for x in range(3))
    keep(lambda: 1)
    keep(list[int])
    keep(dict[str, int])
    keep(1)
    keep(1.5)
    keep(2j)
    keep(True)
    keep("text")
    keep(b"bytes")
    keep(bytearray(b"ab"))
    keep([1])
    keep((1,))
    keep({1: 2})
    keep({1})
    keep(frozenset({1}))
    keep(range(3))
    keep(slice(1, 2))
    keep(iter([1]))
    keep(enumerate([1]))
    keep(zip([1], [2]))
    keep(map(abs, [1]))
    keep(filter(None, [1]))
    keep(reversed([1]))
    keep({1: 2}.keys())
    keep({1: 2}.values())
    keep({1: 2}.items())
    keep(None)
    keep(NotImplemented)
    keep(Ellipsis)
    keep(random.Random(1))
    keep(time.localtime(0))
    keep(object())

    def fails():
        return 1 / 0

    try:
        (1).missing
    except AttributeError as e:
        keep(e)
    try:
        math.missing
    except AttributeError as e:
        keep(e)
    try:
        thing.missing
    except AttributeError as e:
        keep(e)
    try:
        undefined_name
    except NameError as e:
        keep(e)
    try:
        fails()
    except ZeroDivisionError as e:
        keep(e)
    try:
        random.missing_name
    except AttributeError as e:
        keep(e)
    try:
        [][1]
    except IndexError as e:
        keep(e)
    try:
        next(iter([]))
    except StopIteration as e:
        keep(e)
    try:
        setLEDs(5)
    except Exception as e:
        keep(e)
    try:
        getattr(thing, "gen")().missing
    except AttributeError as e:
        keep(e)
    """
)


def _raise_each() -> str:
    lines = []
    for name in EXCEPTION_NAMES:
        lines.append(f"try:\n    raise {name}('x')\nexcept BaseException as e:\n    keep(e)")
    # The UnicodeError family, as the interpreter raises it.
    lines.append("try:\n    b'\\xff'.decode()\nexcept ValueError as e:\n    keep(e)")
    lines.append("try:\n    'é'.encode('ascii')\nexcept ValueError as e:\n    keep(e)")
    return "\n".join(lines) + "\n"


class NullApi:
    """The program API with real behaviour where the probe calls it (setLEDs refuses)."""

    def get_led_count(self) -> int:
        return 10

    def set_leds(self, states: object) -> None:
        raise TypeError("setLEDs needs a list")

    def get_led_positions(self) -> list[tuple[float, float, float]]:
        return [(0.0, 0.0, 0.0)] * 10

    def write_log(self, text: str) -> None:
        return None


def _program_globals(clock: VirtualClock | None = None) -> dict[str, object]:
    env = make_globals(NullApi(), clock.functions() if clock is not None else None)
    exec(compile_program(PROBE + _raise_each(), "<probe>"), env)
    return env


SUSPECT_NAMES = {
    "obj",
    "format",
    "format_map",
    "func",
    "args",
    "keywords",
    "fget",
    "fset",
    "fdel",
    "mapping",
    "value",
    "exceptions",
    "name",
    "object",
}

_FORBIDDEN_BUILTINS = {
    id(getattr(builtins, n))
    for n in ("eval", "exec", "compile", "open", "__import__", "globals", "vars", "getattr")
    + ("setattr", "delattr", "type", "input", "breakpoint", "memoryview", "dir", "locals")
}
_MODULE_DICTS = {id(vars(m)) for m in list(sys.modules.values()) if m is not None}


def _compiles(name: str) -> bool:
    """Whether ``obj.name`` compiles (single-underscore names are decided at run time)."""
    return not (name.startswith("_") and name not in READABLE_DUNDERS) or is_program_private(name)


def _policy_get(obj: object, name: str, guard: Callable[[object, str], object]) -> object:
    """``obj.name`` exactly as a program gets it: compile-time rule, then the run's own guard."""
    if not _compiles(name) or name in DENIED_ATTRIBUTES:
        raise AttributeError(name)  # never compiles
    if name in RUNTIME_ATTRIBUTES or is_program_private(name):
        return guard(obj, name)
    return getattr(obj, name)


def _problem(value: object, own_globals: dict[str, object]) -> str | None:
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    if isinstance(value, (types.CodeType, types.FrameType, types.TracebackType)):
        return type(value).__name__
    if type(value) is dict and id(value) in _MODULE_DICTS:
        return "a module's globals (or the real builtins dict)"
    if id(value) in _FORBIDDEN_BUILTINS:
        return f"the real builtin {value!r}"
    func = value.__func__ if isinstance(value, types.MethodType) else value
    if isinstance(func, types.FunctionType) and func.__globals__ is not own_globals:
        return f"function {func.__qualname__} of module {func.__globals__.get('__name__')}"
    if isinstance(value, (types.BuiltinFunctionType, types.MethodWrapperType)) or type(
        value
    ).__name__ in {"method_descriptor", "builtin_function_or_method"}:
        name = getattr(value, "__name__", "")
        owner = getattr(value, "__self__", None)
        if name in {"format", "format_map"} and (owner is None or isinstance(owner, str)):
            return f"the real str.{name}"
    return None


def _children(value: object) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in list(value.items())[:50]:
            yield f"[{key!r}]", item
            yield f"<key {key!r}>", key
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(list(value)[:60]):
            yield f"[{index}]", item


# Objects that answer attribute lookups for something they wrap (or may): every name is tried.
_FORWARDERS = (types.MethodType, types.GenericAlias, super, classmethod, staticmethod, property)


def _identity(value: object) -> object:
    """Bound methods are new objects on every lookup: identify them by what they bind."""
    if isinstance(value, types.MethodType):
        return ("method", id(value.__func__), id(value.__self__))
    owner = getattr(value, "__self__", None) if _is_builtin_method(value) else None
    if owner is not None:
        return ("builtin", id(owner), getattr(value, "__name__", ""))
    return id(value)


def _is_builtin_method(value: object) -> bool:
    return isinstance(value, (types.BuiltinMethodType, types.MethodWrapperType)) or type(
        value
    ).__name__ in {"method_descriptor", "builtin_function_or_method", "method-wrapper"}


def _names_to_try(value: object, every_name: list[str]) -> list[str]:
    if isinstance(value, _FORWARDERS) or hasattr(type(value), "__getattr__"):
        return every_name
    try:
        own = set(dir(value)) | set(dir(type(value)))
    except Exception:
        return every_name
    return sorted(n for n in own | SUSPECT_NAMES if isinstance(n, str) and _compiles(n))


def audit(max_depth: int = 4, clock: VirtualClock | None = None) -> list[str]:
    """Every forbidden object reachable from a program, with the path that reaches it
    (``clock``: as in a dry run, whose ``time`` functions are the virtual clock's)."""
    env = _program_globals(clock)
    safe_builtins = env["__builtins__"]
    assert isinstance(safe_builtins, dict)
    start: dict[str, object] = {
        name: value for name, value in env.items() if not name.startswith("_") or name == "_"
    }
    start.update({f"builtins.{n}": v for n, v in safe_builtins.items() if not n.startswith("_")})
    importer = safe_builtins["__import__"]
    guard = env["_getattr_"]
    # The audit must exercise the run's real guard (an earlier version called a name that no
    # longer existed and, swallowing the error, checked nothing of what the guard decides).
    assert isinstance(guard("x {}", "format")("y"), str)
    assert callable(guard)
    for module in sorted(ALLOWED_MODULES):
        start[module] = importer(module)
    vocabulary: set[str] = set(SUSPECT_NAMES)
    problems: list[str] = []
    seen: set[object] = set()
    frontier = list(start.items())
    keep_alive: list[object] = []
    for depth in range(max_depth + 1):
        for _, value in frontier:
            for obj in (value, type(value)):
                try:
                    vocabulary.update(n for n in dir(obj) if isinstance(n, str))
                except Exception:
                    continue
        every_name = sorted(n for n in vocabulary if _compiles(n))
        following: list[tuple[str, object]] = []
        for path, value in frontier:
            key = _identity(value)
            if key in seen:
                continue
            seen.add(key)
            keep_alive.append(value)
            problem = _problem(value, env)
            if problem:
                problems.append(f"{path}: {problem}")
                continue
            if depth == max_depth:
                continue
            following.extend((f"{path}{label}", item) for label, item in _children(value))
            for name in _names_to_try(value, every_name):
                try:
                    reached = _policy_get(value, name, guard)
                except BaseException:
                    continue
                following.append((f"{path}.{name}", reached))
        frontier = following
    return sorted(set(problems))


@pytest.mark.parametrize("run", ["tree run", "dry run"])
def test_nothing_outside_the_sandbox_is_reachable(run: str) -> None:
    clock = VirtualClock(1e9, 40.0, lambda reason: None) if run == "dry run" else None
    problems = audit(clock=clock)
    assert not problems, f"{len(problems)} escapes, e.g.:\n" + "\n".join(problems[:40])


def test_the_audit_sees_forbidden_objects() -> None:
    """The audit's own check: a real module, the real format and a foreign function are caught."""
    own: dict[str, object] = {}
    assert _problem(sys, own) == "module sys"
    assert _problem("a".format, own) == "the real str.format"
    assert _problem(str.format_map, own) == "the real str.format_map"
    assert _problem(textwrap.dedent, own) is not None
    assert _problem(vars(builtins), own) is not None
    assert _problem(len, own) is None
