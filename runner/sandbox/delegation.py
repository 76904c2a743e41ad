"""``yield from`` for tree programs: CPython delegates only to real generators.

CPython 3.11's ``_gen_throw``, thrown into a generator suspended in ``yield from`` over any
other iterator, looks up the iterator's ``throw``, calls it, marks the generator suspended again
and only then releases the method. A method only the C code held (a property's fresh result)
runs a finalizer there (a suspended generator's ``finally``) that can close the outer
generator, clearing its frame; the throw then pops the cleared frame's stack and releases its
last local a second time: freed memory, refilled, and the real builtins (red team round
thirty-one; 3.12 moved the pop into the bytecode, gh-90997). CPython's other branch, for a real
generator, releases nothing of the program's after it marks the generator suspended.

So the transformer makes every ``yield from X`` a ``yield from _yield_from_(X)`` (inside
``_yield_result_(...)``, see ``Thrown``): every iterator, a generator too, is driven by
``_delegate``, a generator of the sandbox's that follows PEP 380's expansion in Python
(``send``, ``throw`` and ``close`` passed on, the return value in ``StopIteration``), so
CPython only ever delegates to ``_delegate``. A ``throw`` passed on gets the exception
instance, as ``g.throw(error)`` gives it.

``_delegate`` never closes or throws into a generator that is not at rest (``at_rest``):
CPython 3.11 asks a generator where it delegates before it checks that it runs, and for a
running one reads its frame's stack out of bounds (red team round thirty-two); so it does for a
generator that has completed but whose frame is not cleared yet, a state a finalizer can run in
while a ``StopIteration`` escaping the generator becomes a RuntimeError (red team round
thirty-four: a NULL local taken as the delegate, or a running generator's stack read again).
A generator dropped while the one it delegates to runs closed that one from its finalizer; now
its ``_delegate``, never running then, is closed instead, and raises
ValueError("generator already executing") as CPython 3.12 does. A program's own
``g.close()``/``g.throw()`` are checked by the getattr guard
(``rules.GENERATOR_CHECKED_ATTRIBUTES``) with ``at_rest`` too.

Both functions are of the program's own globals with what they use in their closure (the
reachability audit's rule), as ``cpython_fixes`` builds its methods.
"""

from __future__ import annotations

import ctypes
import functools
import types
from collections.abc import Callable, Generator, Iterator
from types import GeneratorType
from typing import Any

from runner.sandbox.templates import program_function

# CPython 3.11's frame states (Include/internal/pycore_frame.h) in which a generator may be
# closed or thrown into: created, suspended at a ``yield``, and finished with its frame cleared.
# Not EXECUTING (0) nor COMPLETED (1): the frame is still running or being torn down.
_CREATED, _SUSPENDED, _EXECUTING, _CLEARED = -2, -1, 0, 4
_AT_REST = frozenset({_CREATED, _SUSPENDED, _CLEARED})


@functools.cache
def _state_offset() -> int:
    """Where a generator keeps its frame state (``gi_frame_state``, one signed byte), found by
    watching a probe generator go through created, running, suspended and cleared: a layout not
    the one known is an error when the child starts, never a wrong answer."""
    size = types.GeneratorType.__basicsize__
    running: list[bytes] = []

    def probe() -> Generator[None, None, None]:
        running.append(ctypes.string_at(id(generator), size))
        yield

    generator = probe()
    created = ctypes.string_at(id(generator), size)
    next(generator)
    suspended = ctypes.string_at(id(generator), size)
    for _ in generator:
        pass
    cleared = ctypes.string_at(id(generator), size)
    found = [
        offset
        for offset in range(size)
        if ctypes.c_int8.from_buffer_copy(created, offset).value == _CREATED
        and ctypes.c_int8.from_buffer_copy(running[0], offset).value == _EXECUTING
        and ctypes.c_int8.from_buffer_copy(suspended, offset).value == _SUSPENDED
        and ctypes.c_int8.from_buffer_copy(cleared, offset).value == _CLEARED
    ]
    if len(found) != 1:
        raise RuntimeError("generators: this interpreter's layout is not the one known")
    return found[0]


def at_rest(generator: GeneratorType[Any, Any, Any]) -> bool:
    """The generator is created, suspended at a ``yield`` or cleared: CPython 3.11 may close it
    or throw into it (see the module docstring)."""
    return ctypes.c_int8.from_address(id(generator) + _state_offset()).value in _AT_REST


def _delegate_template() -> Callable[[Iterator[Any], list[object]], Generator[Any, Any, Any]]:
    # Replaced by the real values, cell by cell (``make_yield_from``): nothing is looked up in
    # the program's globals, which the program can change.
    next_ = next
    get = getattr
    stop = StopIteration
    exit_ = GeneratorExit
    anything = BaseException
    kind = type
    gen = GeneratorType
    value_error = ValueError
    byte = ctypes.c_int8.from_address  # with ``at`` and ``offset``: ``at_rest``, inlined
    at = id
    offset = 0
    rest = _AT_REST
    thrown = Thrown

    def _delegate(inner: Iterator[Any], itself: list[object]) -> Generator[Any, Any, Any]:
        try:
            try:
                sent_out = next_(inner)
            except stop as done:
                return done.value
            while True:
                try:
                    received = yield sent_out
                except exit_:
                    try:
                        close = get(inner, "close", None)
                    except anything:  # CPython reports it as ignored and closes as usual
                        close = None
                    if close is not None:
                        if kind(inner) is gen and byte(at(inner) + offset).value not in rest:
                            raise value_error("generator already executing") from None
                        close()
                    raise
                except anything as error:
                    throw = get(inner, "throw", None)
                    if throw is None:
                        return thrown(error)  # raised at the ``yield from`` by ``_yield_result_``
                    if kind(inner) is gen and byte(at(inner) + offset).value not in rest:
                        raise value_error("generator already executing") from None
                    try:
                        sent_out = throw(error)
                    except stop as done:
                        return done.value
                else:
                    try:
                        if received is None:
                            sent_out = next_(inner)
                        else:
                            sent_out = get(inner, "send")(received)
                    except stop as done:
                        return done.value
        finally:
            itself.clear()  # finished: it may be freed now (``_yield_from_template``)

    return _delegate


class Thrown:
    """``_delegate``'s result for an exception thrown into it while its iterator has no
    ``throw``. CPython raises such an exception at the ``yield from``, in the delegating
    generator, where a StopIteration is the program's to catch; raised in ``_delegate``'s own
    frame, PEP 479 would make it a RuntimeError first (red team round thirty-four). The
    transformer makes every ``yield from X`` a ``_yield_result_(yield from _yield_from_(X))``,
    which raises it there. Programs never hold one: only ``_yield_result_`` sees it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _yield_result_template() -> Callable[[object], object]:
    kind = type
    thrown = Thrown

    def _yield_result_(result: object) -> object:
        if kind(result) is thrown:
            raise result.error  # type: ignore[attr-defined]
        return result

    return _yield_result_


def _yield_from_template() -> Callable[[object], object]:
    # ``_delegate`` holds itself (``itself``, a cycle) until it finishes. CPython 3.11 pops the
    # generator a ``yield from`` delegates to off the frame's stack when a ``throw`` into it
    # fails before it runs (its arguments checked only there), and releases it with the outer
    # generator marked suspended: freed, ``_delegate``'s finalizer closed the program's
    # iterator, whose code resumed the outer generator mid-throw, its stack one item short
    # (red team round thirty-six: the real builtins). The checked ``throw`` makes CPython's
    # argument checks first (``guards``); this cycle keeps any other such release from
    # running program code then: the collector finalizes it later, at a ``setLEDs``.
    get_iter = iter
    delegate: Callable[[Iterator[Any], list[object]], object] = print  # ``_delegate``

    def _yield_from_(source: object) -> object:
        itself: list[object] = []
        generator = delegate(get_iter(source), itself)  # type: ignore[call-overload]
        itself.append(generator)
        return generator

    return _yield_from_


_DELEGATE = _delegate_template()
_YIELD_FROM = _yield_from_template()
_YIELD_RESULT = _yield_result_template()


def make_yield_from(program_globals: dict[str, object]) -> dict[str, Callable[[object], object]]:
    """A run's ``_yield_from_`` and ``_yield_result_`` guards (see the module docstring)."""
    delegate = program_function(
        _DELEGATE,
        program_globals,
        {
            "next_": next,
            "get": getattr,
            "stop": StopIteration,
            "exit_": GeneratorExit,
            "anything": BaseException,
            "kind": type,
            "gen": types.GeneratorType,
            "value_error": ValueError,
            "byte": ctypes.c_int8.from_address,
            "at": id,
            "offset": _state_offset(),
            "rest": _AT_REST,
            "thrown": Thrown,
        },
    )
    cells = {"get_iter": iter, "delegate": delegate}
    return {
        "_yield_from_": program_function(_YIELD_FROM, program_globals, cells),
        "_yield_result_": program_function(
            _YIELD_RESULT, program_globals, {"kind": type, "thrown": Thrown}
        ),
    }
