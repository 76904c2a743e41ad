"""``yield from`` for tree programs: CPython delegates only to real generators.

CPython 3.11's ``_gen_throw``, thrown into a generator suspended in ``yield from`` over any
other iterator, looks up the iterator's ``throw``, calls it, marks the generator suspended again
and only then releases the method. A method only the C code held (a property's fresh result)
runs a finalizer there (a suspended generator's ``finally``) that can close the outer
generator, clearing its frame; the throw then pops the cleared frame's stack and releases its
last local a second time: freed memory, refilled, and the real builtins (red team round
thirty-one; 3.12 moved the pop into the bytecode, gh-90997). CPython's other branch, for a real
generator, releases nothing of the program's after it marks the generator suspended.

So the transformer makes every ``yield from X`` a ``yield from _yield_from_(X)``: every iterator,
a generator too, is driven by ``_delegate``, a generator of the sandbox's that follows PEP 380's
expansion in Python (``send``, ``throw`` and ``close`` passed on, the return value in
``StopIteration``), so CPython only ever delegates to ``_delegate``. A ``throw`` passed on gets
the exception instance, as ``g.throw(error)`` gives it.

``_delegate`` never closes or throws into a generator that is running: CPython 3.11 asks a
generator where it delegates before it checks that it runs, and for a running one reads its
frame's stack out of bounds (red team round thirty-two). A generator dropped while the one it
delegates to runs closed that one from its finalizer; now its ``_delegate``, never running
then, is closed instead, and raises ValueError("generator already executing") as CPython 3.12
does. A program's own ``g.close()``/``g.throw()`` are checked by the getattr guard
(``rules.GENERATOR_CHECKED_ATTRIBUTES``).

Both functions are of the program's own globals with what they use in their closure (the
reachability audit's rule), as ``cpython_fixes`` builds its methods.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Generator, Iterator
from types import GeneratorType
from typing import Any

from runner.sandbox.templates import program_function


def _delegate_template() -> Callable[[Iterator[Any]], Generator[Any, Any, Any]]:
    # Replaced by the real values, cell by cell (``make_yield_from``): nothing is looked up in
    # the program's globals, which the program can change.
    next_ = next
    get = getattr
    stop = StopIteration
    exit_ = GeneratorExit
    anything = BaseException
    kind = type
    generator_type = GeneratorType
    value_error = ValueError

    def _delegate(inner: Iterator[Any]) -> Generator[Any, Any, Any]:
        try:
            sent_out = next_(inner)
        except stop as done:
            return done.value
        while True:
            try:
                received = yield sent_out
            except exit_:
                close = get(inner, "close", None)
                if close is not None:
                    if kind(inner) is generator_type and inner.gi_running:  # type: ignore[attr-defined]
                        raise value_error("generator already executing") from None
                    close()
                raise
            except anything as error:
                throw = get(inner, "throw", None)
                if throw is None:
                    raise
                if kind(inner) is generator_type and inner.gi_running:  # type: ignore[attr-defined]
                    raise value_error("generator already executing") from None
                try:
                    sent_out = throw(error)
                except stop as done:
                    return done.value
            else:
                try:
                    sent_out = next_(inner) if received is None else get(inner, "send")(received)
                except stop as done:
                    return done.value

    return _delegate


def _yield_from_template() -> Callable[[object], object]:
    get_iter = iter
    delegate: Callable[[Iterator[Any]], object] = iter  # replaced by ``_delegate``

    def _yield_from_(source: object) -> object:
        return delegate(get_iter(source))  # type: ignore[call-overload]

    return _yield_from_


_DELEGATE = _delegate_template()
_YIELD_FROM = _yield_from_template()


def make_yield_from(program_globals: dict[str, object]) -> Callable[[object], object]:
    """A run's ``_yield_from_`` guard (see the module docstring)."""
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
            "generator_type": types.GeneratorType,
            "value_error": ValueError,
        },
    )
    cells = {"get_iter": iter, "delegate": delegate}
    result: Callable[[object], object] = program_function(_YIELD_FROM, program_globals, cells)
    return result
