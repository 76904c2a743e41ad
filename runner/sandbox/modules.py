"""The modules a program may import, as fresh namespaces of vetted attributes for each run."""

from __future__ import annotations

import colorsys
import math
import random
import time
import types
from collections.abc import Callable, Mapping
from typing import Any

from runner.sandbox.rules import ALLOWED_MODULES
from runner.sandbox.timefuncs import clock_functions

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


Wrap = Callable[[Callable[..., Any], str, str], object]  # a callable, its repr name, qualname

# typing names a program may use in annotations. They mean nothing at run time: each is an
# inert marker (see _Annotation), so no real typing object (with its module globals) is reachable.
_TYPING_FORMS = [
    "Any", "Callable", "ClassVar", "Final", "Literal", "Optional", "Tuple", "Type", "Union",
    "Annotated", "NoReturn", "Never", "Self", "TypeAlias", "LiteralString", "Text",
    "List", "Dict", "Set", "FrozenSet", "DefaultDict", "Deque", "Counter", "OrderedDict",
    "ChainMap", "Iterable", "Iterator", "Generator", "Sequence", "MutableSequence", "Mapping",
    "MutableMapping", "AbstractSet", "MutableSet", "Collection", "Container", "Sized",
    "Hashable", "Reversible", "ItemsView", "KeysView", "ValuesView",
]  # fmt: skip


class _Annotation:
    """``typing.List`` and friends for a tree program: subscriptable, combinable with ``|``,
    good for annotations and nothing else (calling one says so)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getitem__(self, _params: object) -> _Annotation:
        return self

    def __or__(self, _other: object) -> _Annotation:
        return self

    def __ror__(self, _other: object) -> _Annotation:
        return self

    def __call__(self, *_args: object, **_kwargs: object) -> object:
        raise TypeError(f"typing.{self._name} is for annotations only in tree programs")

    def __repr__(self) -> str:
        return f"typing.{self._name}"


def _cast(_type: object, value: object) -> object:
    return value


def _type_var(name: str, *_constraints: object, **_options: object) -> _Annotation:
    return _Annotation(name if type(name) is str else "TypeVar")


def _typing_namespace(wrap: Wrap) -> SandboxModule:
    attrs: dict[str, object] = {name: _Annotation(name) for name in _TYPING_FORMS}
    attrs.update(
        TYPE_CHECKING=False,
        cast=wrap(_cast, "typing.cast", "cast"),
        TypeVar=wrap(_type_var, "typing.TypeVar", "TypeVar"),
    )
    return SandboxModule("typing", attrs)


def _colorsys_namespace(wrap: Wrap) -> SandboxModule:
    # colorsys is pure Python: its functions carry the colorsys module's globals, so each is
    # handed out behind the wrapper.
    return SandboxModule(
        "colorsys", {n: wrap(getattr(colorsys, n), f"colorsys.{n}", n) for n in colorsys.__all__}
    )


def _opaque(value: object, name: str, wrap: Wrap) -> object:
    """Python-level functions and methods carry their module's globals: hand out a wrapper."""
    if isinstance(value, (types.FunctionType, types.MethodType)):
        return wrap(value, name, value.__qualname__)  # Random.randint, as CPython names it
    return value


def _random_namespace(rng: random.Random, wrap: Wrap) -> SandboxModule:
    attrs = {
        n: _opaque(getattr(rng, n), f"random.{n}", wrap) for n in _RANDOM_METHODS if hasattr(rng, n)
    }

    def make_random(*args: Any) -> SandboxModule:
        # random.Random(seed): a generator of the program's own, as a namespace of wrapped
        # methods (the real class's methods are functions of the random module).
        return _random_namespace(random.Random(*args), wrap)

    attrs["Random"] = wrap(make_random, "random.Random", "Random")
    return SandboxModule("random", attrs)


def make_modules(
    wrap: Wrap,
    time_functions: Mapping[str, Callable[..., Any]] | None = None,
) -> dict[str, SandboxModule]:
    """Fresh ``math``, ``random``, ``time``, ``colorsys`` and ``typing`` namespaces for one run.

    ``time_functions`` replace the real clocks (a dry run's virtual clock). Either way the
    clocks are the same wrappers (``timefuncs``): a program cannot tell the two apart by them.
    """
    clock_attrs: dict[str, object] = {n: getattr(time, n) for n in _TIME_NAMES}
    clock_attrs.update(clock_functions(time_functions))
    public_math = {n: getattr(math, n) for n in dir(math) if not n.startswith("_")}
    # A generator of the run's own; seeding it touches nothing else.
    modules = {
        "math": SandboxModule("math", public_math),
        "random": _random_namespace(random.Random(), wrap),
        "time": SandboxModule("time", clock_attrs),
        "colorsys": _colorsys_namespace(wrap),
        "typing": _typing_namespace(wrap),
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
