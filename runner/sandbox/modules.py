"""The modules a program may import, as fresh namespaces of vetted attributes for each run."""

from __future__ import annotations

import math
import random
import time
import types
from collections.abc import Callable, Mapping
from typing import Any

from runner.sandbox.rules import ALLOWED_MODULES

_TIME_NAMES = [
    "sleep",
    "time",
    "monotonic",
    "perf_counter",
    "process_time",
    "time_ns",
    "monotonic_ns",
    "perf_counter_ns",
    "process_time_ns",
    "localtime",
    "gmtime",
    "mktime",
    "strftime",
    "asctime",
    "ctime",
    "struct_time",
]

_RANDOM_METHODS = [
    "random",
    "uniform",
    "triangular",
    "randint",
    "randrange",
    "choice",
    "choices",
    "shuffle",
    "sample",
    "gauss",
    "normalvariate",
    "lognormvariate",
    "expovariate",
    "vonmisesvariate",
    "gammavariate",
    "betavariate",
    "paretovariate",
    "weibullvariate",
    "getrandbits",
    "randbytes",
    "seed",
    "getstate",
    "setstate",
    "binomialvariate",
]


class SandboxModule:
    """A module as a program sees it: a plain namespace of vetted attributes, not the module.

    Not a ``ModuleType``: ``from m import x`` on a real module falls back to ``sys.modules``.
    """

    def __init__(self, name: str, attrs: dict[str, object]) -> None:
        self.__dict__.update(attrs)
        self.__name = name

    def __repr__(self) -> str:
        return f"<module {self.__name!r}>"


Wrap = Callable[[Callable[..., Any], str], object]


def _opaque(value: object, name: str, wrap: Wrap) -> object:
    """Python-level functions and methods carry their module's globals: hand out a wrapper."""
    if isinstance(value, (types.FunctionType, types.MethodType)):
        return wrap(value, name)
    return value


def _random_namespace(rng: random.Random, wrap: Wrap) -> SandboxModule:
    attrs = {
        n: _opaque(getattr(rng, n), f"random.{n}", wrap) for n in _RANDOM_METHODS if hasattr(rng, n)
    }

    def make_random(*args: Any) -> SandboxModule:
        # random.Random(seed): a generator of the program's own, as a namespace of wrapped
        # methods (the real class's methods are functions of the random module).
        return _random_namespace(random.Random(*args), wrap)

    attrs["Random"] = wrap(make_random, "random.Random")
    return SandboxModule("random", attrs)


def make_modules(
    wrap: Wrap, time_functions: Mapping[str, Callable[..., Any]] | None = None
) -> dict[str, SandboxModule]:
    """Fresh ``math``, ``random`` and ``time`` namespaces for one run.

    ``time_functions`` replace the real clocks (a dry run's virtual clock), each wrapped.
    """
    clock_attrs: dict[str, object] = {n: getattr(time, n) for n in _TIME_NAMES}
    for name, function in (time_functions or {}).items():
        if name in clock_attrs:
            clock_attrs[name] = wrap(function, f"time.{name}")
    public_math = {n: getattr(math, n) for n in dir(math) if not n.startswith("_")}
    # A generator of the run's own; seeding it touches nothing else.
    modules = {
        "math": SandboxModule("math", public_math),
        "random": _random_namespace(random.Random(), wrap),
        "time": SandboxModule("time", clock_attrs),
    }
    assert set(modules) == ALLOWED_MODULES
    assert all(
        not isinstance(v, (types.FunctionType, types.MethodType))
        for m in modules.values()
        for v in vars(m).values()
    )
    return modules


def make_import(modules: dict[str, SandboxModule]) -> Callable[..., SandboxModule]:
    """The ``__import__`` hook: only the run's own allowed namespaces."""

    def guarded_import(
        name: str,
        globals: object = None,
        locals: object = None,
        fromlist: object = (),
        level: int = 0,
    ) -> SandboxModule:
        if level == 0 and type(name) is str and name in modules:
            return modules[name]
        allowed = ", ".join(sorted(modules))
        raise ImportError(f"import of {name!r} is not allowed (tree programs can import {allowed})")

    return guarded_import
