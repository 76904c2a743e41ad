"""The program's clock functions: one wrapper type, with one set of argument checks, over the
real clocks (a tree run) or a dry run's virtual clock.

A dry run must not be told from its run by asking the ``time`` functions themselves (red team,
round six, finding 3): CPython's builtins and the virtual clock's Python methods differ in
``repr``, in ``type()``, in their messages for a wrong call or a bad argument, and in how deep
a recursion may go before they fail. So a program gets the same object in both modes: its
``repr`` and type name are a builtin's, its checks and messages are CPython's (a bad value
gets the running interpreter's own error; ``tests/runner/test_time_functions.py`` compares
them), and only then does it call the real or the virtual implementation with the checked value (a
program's ``__index__`` runs once, as in CPython).

Depth: every call first makes sure of ``HEADROOM`` free stack levels with a small recursive
probe, whichever implementation follows, and the virtual clock's deepest path (a sleep that
reaches the limit and writes the dry run's end) fits in them. A program deep in recursion finds
the same last working depth in both modes (it is a few levels short of CPython's own builtin:
the price of looking the same, paid on the tree as in the dry run).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Mapping
from typing import Any

from runner.sandbox import garbage

# Stack levels each call makes sure of before it dispatches: more than the virtual clock's
# deepest path needs (5 was found enough for every call short of the limit; the end at the
# limit goes one or two deeper), so neither mode fails for lack of stack where the other would
# not (``test_cant_tell_a_dry_run_from_the_tree_by_how_deep_its_time_functions_work``). Each
# level costs a Python call on the tree too: this is most of the wrapper's cost.
HEADROOM = 8
_NS_RANGE = 2**63  # CPython keeps times as nanoseconds in a C int64 (``_PyTime_t``)

# How each function takes its arguments, as CPython's does: none, exactly one (sleep), or
# optional ones, which the real C function checks in both modes (it is called whenever any
# are given: a time to format is formatted by the real function in a dry run too).
NO_ARGUMENTS = (
    "time",
    "monotonic",
    "perf_counter",
    "time_ns",
    "monotonic_ns",
    "perf_counter_ns",
    # The process's CPU clock, wrapped too: a dry run answers it without the virtual clock's own
    # work (red team round eight, finding 6); the same wrapper on the tree, so it looks the same.
    "process_time",
    "process_time_ns",
)
OPTIONAL_ARGUMENTS = ("localtime", "gmtime", "ctime", "asctime", "strftime")
NOW_IF_NONE = ("localtime", "gmtime", "ctime")  # CPython reads the current time for None
CLOCK_NAMES = ("sleep", *NO_ARGUMENTS, *OPTIONAL_ARGUMENTS)


def headroom(levels: int) -> int:
    """Recurse ``levels`` deep: a RecursionError if the stack has not that much room left.

    Called first by everything a program calls whose implementation differs between a dry run
    and a run (these clocks, ``setLEDs``), so both fail at the same depth.
    """
    return headroom(levels - 1) if levels else 0


def sleep_seconds(value: object) -> float | int:
    """``time.sleep``'s argument, converted as CPython converts it; a value it refuses raises
    the running interpreter's own error.

    The checks are not copied from one release: 3.11.2 (Debian bookworm, the Pi's) and 3.11.7
    differ in the order of the range and sign checks for floats and in their messages. A value
    found bad here is handed to the real ``time.sleep``, which refuses it at once with this
    interpreter's message (no value that is NaN, negative or out of the nanosecond range sleeps
    in any CPython); a program's ``__index__`` has already run, once, as in CPython.
    """
    if isinstance(value, float):
        seconds: float | int = float.__float__(value)
        good = seconds == seconds and seconds >= 0 and seconds * 1e9 < _NS_RANGE
    else:
        seconds = operator.index(value)  # type: ignore[arg-type]
        good = seconds >= 0 and seconds * 10**9 < _NS_RANGE
    if not good:
        time.sleep(seconds)  # raises: this interpreter's own error for this value
        return 0  # not reached by any CPython 3.11; if it were, the real sleep has been slept
    return seconds


class builtin_function_or_method:  # noqa: N801 - CPython's name: what a type() refusal says
    """One of the program's ``time`` functions, over the real or the virtual implementation.

    No public attributes; its slots are private, as ``SandboxFunction``'s.
    """

    __slots__ = ("_impl", "_name", "_real")

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        real: Callable[..., Any],
    ) -> None:
        self._name = name
        self._impl = impl
        self._real = real  # CPython's own function: it checks optional arguments in both modes

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        headroom(HEADROOM)
        name = self._name
        if not args and not kwargs and name != "sleep" and name != "strftime":
            return self._impl()
        if name in OPTIONAL_ARGUMENTS:
            if name in NOW_IF_NONE and not kwargs and len(args) == 1 and args[0] is None:
                return self._impl()  # None means "now": the clock of this mode, not the real one
            if kwargs or len(args) != (name == "strftime"):
                return self._real(*args, **kwargs)
            return self._impl(*args)
        if kwargs:
            raise TypeError(f"time.{name}() takes no keyword arguments")
        if name == "sleep":
            if len(args) != 1:
                raise TypeError(f"time.sleep() takes exactly one argument ({len(args)} given)")
            seconds = sleep_seconds(args[0])
            garbage.collect()  # the program's cyclic garbage is collected here and at setLEDs
            return self._impl(seconds)
        if args:
            raise TypeError(f"time.{name}() takes no arguments ({len(args)} given)")
        return self._impl()

    def __repr__(self) -> str:
        return f"<built-in function {self._name}>"

    def __getattr__(self, name: str) -> str:
        # A builtin's two names, which programs may read (rules.READABLE_DUNDERS), and nothing
        # else: only strings come out of here.
        if name == "__name__" or name == "__qualname__":
            return self._name
        raise AttributeError(f"'builtin_function_or_method' object has no attribute '{name}'")


def clock_functions(
    virtual: Mapping[str, Callable[..., Any]] | None = None,
) -> dict[str, builtin_function_or_method]:
    """The program's clock functions: over ``virtual`` (a dry run's clock) where it has them,
    else over CPython's own."""
    functions = {}
    for name in CLOCK_NAMES:
        real = getattr(time, name)
        impl = (virtual or {}).get(name, real)
        functions[name] = builtin_function_or_method(name, impl, real)
    return functions
