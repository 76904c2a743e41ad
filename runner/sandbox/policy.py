"""The sandbox policy: the only place that compiles user programs and builds their globals.

``check_source`` answers web's upload check and never raises; ``compile_program`` is what the
child runs; ``make_globals`` hands a run exactly the API of SPEC §2 and nothing more.

Choices where SPEC §2 is silent (rules in ``runner.sandbox.rules``):

- Rejected before running, with line and column: imports other than math/random/time/colorsys/
  typing, names and attributes starting with ``__`` (except reading ``__name__``/``__qualname__``
  and ``super().__init__``-style calls), the sandbox's own names (``_getattr_``, ``_tmp0``),
  frame/code/traceback attributes, ``eval``/``exec``/``open``/
  ``globals``/``vars``/``dir``/``input``... (unless the program defines that name itself),
  ``try/except*``, ``async``, ``metaclass=``, programs nested deeper than 100 levels.
- Allowed, as ordinary Python: classes with the protocol methods in ``ALLOWED_DUNDER_DEFS``
  (``__init__``, ``__str__``, ``__len__``, ``__add__``, ``__enter__``...), ``nonlocal``,
  annotations, ``match`` (pattern names are checked like attributes), ``str.format`` (fields
  reaching private attributes fail at run time).
- At run time: ``type()`` takes one argument; ``obj._x`` works only on the program's own objects
  (its classes and their instances); ``getattr``/``hasattr``/``setattr`` refuse what ``obj.name``
  would, raising ``SandboxError`` (never a silent ``False`` or default); a
  program may change only its own objects (its classes and their instances, lists, dicts,
  sets); ``print(file=...)`` is refused; ``random`` is a generator of the run's own.
"""

from __future__ import annotations

import ast
import contextlib
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from protocol.limits import MAX_SOURCE_CHARS
from runner.exc import ProgramRejected
from runner.sandbox import colours as api
from runner.sandbox.astscan import bound_names, fresh_containers, nesting_depth
from runner.sandbox.guards import SandboxFunction, make_builtins
from runner.sandbox.rules import MAX_CHAIN, MAX_NESTING
from runner.sandbox.transformer import SandboxTransformer

if TYPE_CHECKING:
    from protocol.messages import ProgramError

_MAX_MESSAGE = 2000
# warnings.catch_warnings changes process-wide state; checks may run on several server threads.
_WARNINGS_LOCK = threading.Lock()


class ProgramAPI(Protocol):
    """What a running program can ask of the tree (implemented by ``runner.sandbox.child``)."""

    def get_led_count(self) -> int: ...

    def set_leds(self, states: object) -> None: ...

    def get_led_positions(self) -> list[tuple[float, float, float]]: ...

    def write_log(self, text: str) -> None: ...


@dataclass(frozen=True)
class Rejection:
    """One reason a program was rejected, with its line and 1-based column.

    A plain dataclass rather than the protocol's ``ProgramError``: the sandbox child imports this
    module and must start fast (pydantic alone costs it ~80 ms) and, once confined, cannot import
    anything more. ``check_source`` converts for the protocol.
    """

    type: str
    message: str
    line: int | None = None
    col: int | None = None


def _error(kind: str, message: str, line: int | None = None, col: int | None = None) -> Rejection:
    # A message may quote the program; lone surrogates in it could not cross the protocol.
    text = message[:_MAX_MESSAGE].encode("utf-8", "replace").decode("utf-8")
    return Rejection(kind, text, line, col)


def _position(source: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``source[index]``."""
    return source.count("\n", 0, index) + 1, index - source.rfind("\n", 0, index)


def _syntax_error(exc: SyntaxError) -> Rejection:
    # SyntaxError.offset is already 1-based, like the columns of our own rule violations.
    return _error("SyntaxError", exc.msg or "invalid syntax", exc.lineno, exc.offset)


def _compile(
    source: str, filename: str, transformer: type[SandboxTransformer]
) -> tuple[types.CodeType | None, list[Rejection]]:
    if not isinstance(source, str):
        return None, [_error("SandboxError", "a program must be text")]
    if len(source) > MAX_SOURCE_CHARS:
        return None, [_error("SandboxError", f"a program may be at most {MAX_SOURCE_CHARS} chars")]
    if "\x00" in source:
        line, col = _position(source, source.index("\x00"))
        return None, [_error("SyntaxError", "a program cannot contain NUL bytes", line, col)]
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: not text any file could hold
        line, col = _position(source, exc.start)
        return None, [_error("SyntaxError", "the program is not valid UTF-8 text", line, col)]
    # Compiler warnings (e.g. "invalid escape sequence") are not the author's failure; under
    # -W error they would otherwise turn into exceptions.
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with _deep_recursion():  # the parser's tree is made recursively too
                tree = ast.parse(source, filename, "exec")
        except SyntaxError as exc:
            return None, [_syntax_error(exc)]
        nesting = nesting_depth(tree)
        if nesting.depth > MAX_NESTING:
            message = f"the program is nested too deeply (more than {MAX_NESTING} levels)"
            return None, [_error("SandboxError", message, nesting.line)]
        if nesting.chain + 1 > MAX_CHAIN:
            message = f"a chain of more than {MAX_CHAIN} terms, branches or calls is too long"
            return None, [_error("SandboxError", message, nesting.chain_line)]
        bound = bound_names(tree)
        policy = transformer(bound, fresh_containers(tree, bound))
        with _deep_recursion():  # a chain of MAX_CHAIN terms is that many nested calls
            tree = policy.visit(tree)
        if policy.problems:
            problems = sorted(
                set(policy.problems), key=lambda p: (p.line or 0, p.col or 0, p.message)
            )
            return None, [_error("SandboxError", p.message, p.line, p.col) for p in problems]
        try:
            with _deep_recursion():
                return compile(tree, filename, "exec", dont_inherit=True), []
        except SyntaxError as exc:  # e.g. "return" outside a function, found by the compiler
            return None, [_syntax_error(exc)]


# Python frames the transformer needs per level of a chain (measured: about 4), with room.
_FRAMES_PER_LEVEL = 8


@contextlib.contextmanager
def _deep_recursion() -> Iterator[None]:
    """Room for the transformer's recursion over MAX_CHAIN levels (Python-to-Python calls,
    which CPython 3.11 makes without the C stack; the compiler checks its own depth)."""
    before = sys.getrecursionlimit()
    # The limit counts the frames already on the stack, and the upload check calls the compiler
    # from another depth than a run does: the room is given above the caller's depth, so the
    # check and every run accept exactly the same programs (red team round twenty).
    depth = 0
    frame: types.FrameType | None = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    sys.setrecursionlimit(max(before, depth + _FRAMES_PER_LEVEL * (MAX_CHAIN + MAX_NESTING)))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def _compile_safely(
    source: str, filename: str, transformer: type[SandboxTransformer]
) -> tuple[types.CodeType | None, list[Rejection]]:
    try:
        return _compile(source, filename, transformer)
    except RecursionError:
        return None, [_error("SandboxError", "the program is nested too deeply")]
    except MemoryError:
        return None, [_error("SandboxError", "the program is too large to compile")]
    except Exception as exc:  # any compiler failure is a rejection, never a crashed runner
        message = f"the program cannot be compiled ({type(exc).__name__})"
        return None, [_error("SyntaxError", message)]


def check_source(source: str) -> list[ProgramError]:
    """Compile ``source`` under the policy and return its errors (``[]`` = ok); never raises."""
    from protocol.messages import ProgramError

    try:
        errors = _compile_safely(source, "<program>", SandboxTransformer)[1]
    except Exception:  # e.g. MemoryError while building the error list itself
        errors = [_error("SandboxError", "the program cannot be checked")]
    return [ProgramError(type=e.type, message=e.message, line=e.line, col=e.col) for e in errors]


def compile_program(
    source: str,
    filename: str = "<program>",
    transformer: type[SandboxTransformer] = SandboxTransformer,
) -> types.CodeType:
    """Compile ``source`` for running; raises ``ProgramRejected`` with its errors."""
    code, errors = _compile_safely(source, filename, transformer)
    if code is None:
        rejected: list[object] = list(errors) or [
            _error("SandboxError", "the program was rejected")
        ]
        raise ProgramRejected(rejected)
    return code


def make_globals(
    program_api: ProgramAPI,
    time_functions: Mapping[str, Callable[..., Any]] | None = None,
) -> dict[str, object]:
    """Fresh restricted globals for one run: SPEC §2's API, safe builtins and the guards.

    ``time_functions`` replace the ``time`` module's clocks (a dry run's virtual clock).
    """
    namespace: dict[str, object] = {}
    safe_builtins, guards = make_builtins(program_api.write_log, namespace, time_functions)
    namespace.update({"__builtins__": safe_builtins, **guards})
    namespace.update(
        getLEDCount=SandboxFunction(program_api.get_led_count, "getLEDCount"),
        setLEDs=SandboxFunction(program_api.set_leds, "setLEDs"),
        getLEDPositions=SandboxFunction(program_api.get_led_positions, "getLEDPositions"),
        **api.COLOURS,
    )
    # fromHSV is called per LED per frame: rather than a wrapper, its (builtins-only) code runs
    # with the program's own globals, so it is a function of the program like any other.
    hsv = api.fromHSV
    namespace["fromHSV"] = types.FunctionType(
        # Its qualified name is the API's, not its factory's: argument errors say "fromHSV()".
        hsv.__code__.replace(co_qualname="fromHSV"),
        namespace,
        "fromHSV",
        hsv.__defaults__,
        hsv.__closure__,
    )
    return namespace
