"""A program's ``time`` functions fail as CPython's do, on the tree and in a dry run alike.

The wrappers of ``runner.sandbox.timefuncs`` check arguments themselves (a dry run must not
call the real ``time.sleep``); whatever a program gets wrong, it reads CPython's own message,
from the same wrapper type in both modes.
"""

from __future__ import annotations

import time

import pytest

from runner.sandbox.dryrun import VirtualClock
from runner.sandbox.timefuncs import CLOCK_NAMES, clock_functions

# Calls that fail at once in CPython (none of them sleeps): (function, args, kwargs).
BAD_CALLS = [
    ("sleep", ("soon",), {}),
    ("sleep", (None,), {}),
    ("sleep", ([1],), {}),
    ("sleep", (1e300,), {}),
    ("sleep", (float("inf"),), {}),
    ("sleep", (-1e10,), {}),
    ("sleep", (9223372036.854776,), {}),
    ("sleep", (10**30,), {}),
    ("sleep", (9223372037,), {}),
    ("sleep", (-(2**63),), {}),
    ("sleep", (-1,), {}),
    ("sleep", (-0.5,), {}),
    ("sleep", (float("nan"),), {}),
    ("sleep", (), {}),
    ("sleep", (1, 2), {}),
    ("sleep", (), {"secs": 1}),
    ("time", (0,), {}),
    ("time", (), {"x": 1}),
    ("monotonic", (1, 2), {}),
    ("perf_counter_ns", (None,), {}),
    ("localtime", (1, 2), {}),
    ("localtime", (), {"x": 1}),
    ("gmtime", ("a",), {}),
    ("ctime", (1, 2), {}),
    ("asctime", (1, 2), {}),
    ("strftime", (), {}),
    ("strftime", (5,), {}),
    ("strftime", ("%Y", 1, 2), {}),
    ("strftime", (), {"format": "%Y"}),
]


def _error(call: object, args: tuple[object, ...], kwargs: dict[str, object]) -> str:
    try:
        call(*args, **kwargs)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the error is what is compared
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def _dry_run_functions() -> dict[str, object]:
    clock = VirtualClock(1e9, 40.0, lambda reason: None)
    return dict(clock_functions(clock.functions()))


@pytest.mark.parametrize("mode", ["tree run", "dry run"])
@pytest.mark.parametrize(("name", "args", "kwargs"), BAD_CALLS)
def test_a_bad_call_fails_as_in_cpython(
    mode: str, name: str, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    functions = _dry_run_functions() if mode == "dry run" else clock_functions()
    expected = _error(getattr(time, name), args, kwargs)
    assert expected != "no error"
    assert _error(functions[name], args, kwargs) == expected


@pytest.mark.parametrize("mode", ["tree run", "dry run"])
def test_the_functions_print_as_cpythons_and_work(mode: str) -> None:
    functions = _dry_run_functions() if mode == "dry run" else clock_functions()
    for name in CLOCK_NAMES:
        assert repr(functions[name]) == repr(getattr(time, name)) == f"<built-in function {name}>"
        assert type(functions[name]).__name__ == type(time.sleep).__name__
    functions["sleep"](0.001)  # type: ignore[operator]
    functions["sleep"](False)  # type: ignore[operator]
    assert isinstance(functions["monotonic"](), float)  # type: ignore[operator]
    assert isinstance(functions["time_ns"](), int)  # type: ignore[operator]
    assert functions["strftime"]("%Y", time.gmtime(0)) == "1970"  # type: ignore[operator]
    assert functions["ctime"](0) == time.ctime(0)  # type: ignore[operator]
    assert len(functions["strftime"]("%H:%M")) == 5  # type: ignore[operator]
