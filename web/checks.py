"""The checks of SPEC §3 that need no runner: size, encoding, and the offline compile check.

The real verdict comes from the runner (``Check`` over the socket, the same policy as the run).
When the runner is offline, ``offline_check`` still catches what plain Python can: syntax
errors, imports outside ``math``/``random``/``time`` and ``_private`` names, with line and
column, so an obviously broken program is never queued.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_SOURCE_BYTES = 64 * 1024
ALLOWED_MODULES = frozenset({"math", "random", "time"})


@dataclass(frozen=True)
class CheckFailure:
    """Why a submission is refused, as the API reports it."""

    status: int
    code: str
    message: str
    line: int | None = None
    col: int | None = None

    def body(self) -> dict[str, object]:
        """The error JSON of SPEC §4."""
        err: dict[str, object] = {"code": self.code, "message": self.message}
        if self.line is not None:
            err["line"] = self.line
        if self.col is not None:
            err["col"] = self.col
        return {"error": err}


def decode_source(data: bytes) -> str | CheckFailure:
    """The program text, or why these bytes cannot be a program."""
    if not data.strip():
        return CheckFailure(400, "empty", "the program is empty")
    if len(data) > MAX_SOURCE_BYTES:
        limit = f"{MAX_SOURCE_BYTES // 1024} KiB"
        return CheckFailure(413, "too_large", f"the program is larger than {limit}")
    if b"\x00" in data:
        return CheckFailure(400, "nul_byte", "the program contains a NUL byte: is it a text file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return CheckFailure(400, "not_utf8", f"the program is not UTF-8 text (byte {exc.start})")


def offline_check(source: str) -> CheckFailure | None:
    """Syntax errors, forbidden imports and private names, found without the runner."""
    try:
        tree = ast.parse(source, filename="<program>")
    except SyntaxError as exc:
        return CheckFailure(400, "syntax_error", f"SyntaxError: {exc.msg}", exc.lineno, exc.offset)
    for node in ast.walk(tree):
        found = _violation(node)
        if found is not None:
            return CheckFailure(400, "rejected", found, getattr(node, "lineno", None), _col(node))
    return None


def _col(node: ast.AST) -> int | None:
    offset = getattr(node, "col_offset", None)
    return None if offset is None else offset + 1


def _violation(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] not in ALLOWED_MODULES:
                return f'import of "{alias.name}" is not allowed (only math, random, time)'
    elif isinstance(node, ast.ImportFrom):
        if node.level or (node.module or "").split(".")[0] not in ALLOWED_MODULES:
            return f'import from "{node.module}" is not allowed (only math, random, time)'
    elif isinstance(node, ast.Name) and node.id.startswith("_"):
        return f'"{node.id}" is an invalid variable name because it starts with "_"'
    elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        return f'"{node.attr}" is an invalid attribute name because it starts with "_"'
    elif isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name.startswith("_"):
        return f'"{node.name}" is an invalid name because it starts with "_"'
    return None
