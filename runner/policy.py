"""The sandbox policy: the only place that compiles user programs and builds their globals.

``check_source`` answers web's upload check and never raises; ``compile_program`` is what the
child runs; ``make_globals`` hands a run exactly the API of SPEC §2 and nothing more.
"""

from __future__ import annotations

import ast
import threading
import types
import warnings
from typing import Protocol

from protocol.messages import MAX_SOURCE_CHARS, ProgramError
from runner import api
from runner.astscan import bound_names, fresh_containers, nesting_depth
from runner.exc import ProgramRejected
from runner.guards import make_builtins
from runner.transformer import MAX_NESTING, SandboxTransformer

_MAX_MESSAGE = 2000
# warnings.catch_warnings changes process-wide state; checks may run on several server threads.
_WARNINGS_LOCK = threading.Lock()


class ProgramAPI(Protocol):
    """What a running program can ask of the tree (implemented by ``runner.child``)."""

    def get_led_count(self) -> int: ...

    def set_leds(self, states: object) -> None: ...

    def get_led_positions(self) -> list[tuple[float, float, float]]: ...

    def write_log(self, text: str) -> None: ...


def _error(
    kind: str, message: str, line: int | None = None, col: int | None = None
) -> ProgramError:
    return ProgramError(type=kind, message=message[:_MAX_MESSAGE], line=line, col=col)


def _syntax_error(exc: SyntaxError) -> ProgramError:
    # SyntaxError.offset is already 1-based, like the columns of our own rule violations.
    return _error("SyntaxError", exc.msg or "invalid syntax", exc.lineno, exc.offset)


def _compile(
    source: str, filename: str, transformer: type[SandboxTransformer]
) -> tuple[types.CodeType | None, list[ProgramError]]:
    if not isinstance(source, str):
        return None, [_error("SandboxError", "a program must be text")]
    if len(source) > MAX_SOURCE_CHARS:
        return None, [_error("SandboxError", f"a program may be at most {MAX_SOURCE_CHARS} chars")]
    if "\x00" in source:
        at = source.index("\x00")
        line, col = source.count("\n", 0, at) + 1, at - source.rfind("\n", 0, at)
        return None, [_error("SyntaxError", "a program cannot contain NUL bytes", line, col)]
    # Compiler warnings (e.g. "invalid escape sequence") are not the author's failure; under
    # -W error they would otherwise turn into exceptions.
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(source, filename, "exec")
        except SyntaxError as exc:
            return None, [_syntax_error(exc)]
        if nesting_depth(tree) > MAX_NESTING:
            return None, [_error("SandboxError", "the program is nested too deeply")]
        bound = bound_names(tree)
        policy = transformer(bound, fresh_containers(tree, bound))
        tree = policy.visit(tree)
        if policy.problems:
            problems = sorted(
                set(policy.problems), key=lambda p: (p.line or 0, p.col or 0, p.message)
            )
            return None, [_error("SandboxError", p.message, p.line, p.col) for p in problems]
        try:
            return compile(tree, filename, "exec", dont_inherit=True), []
        except SyntaxError as exc:  # e.g. "return" outside a function, found by the compiler
            return None, [_syntax_error(exc)]


def _compile_safely(
    source: str, filename: str, transformer: type[SandboxTransformer]
) -> tuple[types.CodeType | None, list[ProgramError]]:
    try:
        return _compile(source, filename, transformer)
    except RecursionError:
        return None, [_error("SandboxError", "the program is nested too deeply")]
    except MemoryError:
        return None, [_error("SandboxError", "the program is too large to compile")]
    except Exception as exc:  # any compiler failure is a rejection, never a crashed runner
        return None, [_error("SyntaxError", f"the program cannot be compiled: {exc!r}")]


def check_source(source: str) -> list[ProgramError]:
    """Compile ``source`` under the policy and return its errors (``[]`` = ok); never raises."""
    try:
        return _compile_safely(source, "<program>", SandboxTransformer)[1]
    except Exception:  # e.g. MemoryError while building the error list itself
        return [ProgramError(type="SandboxError", message="the program cannot be checked")]


def compile_program(
    source: str,
    filename: str = "<program>",
    transformer: type[SandboxTransformer] = SandboxTransformer,
) -> types.CodeType:
    """Compile ``source`` for running; raises ``ProgramRejected`` with its errors."""
    code, errors = _compile_safely(source, filename, transformer)
    if code is None:
        raise ProgramRejected(errors or [_error("SandboxError", "the program was rejected")])
    return code


def make_globals(program_api: ProgramAPI) -> dict[str, object]:
    """Fresh restricted globals for one run: SPEC §2's API, safe builtins and the guards."""
    safe_builtins, guards = make_builtins(program_api.write_log)
    namespace: dict[str, object] = {"__builtins__": safe_builtins, **guards}
    namespace.update(
        getLEDCount=program_api.get_led_count,
        setLEDs=program_api.set_leds,
        getLEDPositions=program_api.get_led_positions,
        fromHSV=api.fromHSV,
        **api.COLOURS,
    )
    return namespace
