"""The checks of SPEC §3 that need no runner: size, encoding, and the offline compile check.

The real verdict comes from the runner (``Check`` over the socket, the same policy as the run).
When the runner is offline, ``offline_check`` still catches what plain Python can: syntax
errors, imports outside the allowed modules and the names no program may use (dunders such as
``__class__``, the sandbox's own ``_getattr_``-style names), with line and column, so an
obviously broken program is never queued. Single-underscore names (``_x``, ``self._x``) are left
to the runner, which decides them by who owns the object.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_SOURCE_BYTES = 64 * 1024
ALLOWED_MODULES = frozenset({"math", "random", "time", "colorsys", "typing"})
_ALLOWED_TEXT = ", ".join(sorted(ALLOWED_MODULES))


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
                return f'import of "{alias.name}" is not allowed (only {_ALLOWED_TEXT})'
    elif isinstance(node, ast.ImportFrom):
        if node.level or (node.module or "").split(".")[0] not in ALLOWED_MODULES:
            return f'import from "{node.module}" is not allowed (only {_ALLOWED_TEXT})'
    elif isinstance(node, ast.Name) and _reserved(node.id) and node.id != "__name__":
        return f'"{node.id}" is an invalid variable name because it starts with "_"'
    elif isinstance(node, ast.Attribute) and _reserved(node.attr) and not _readable(node):
        return f'"{node.attr}" is an invalid attribute name because it starts with "_"'
    elif isinstance(node, ast.ClassDef) and _reserved(node.name):
        return f'"{node.name}" is an invalid name because it starts with "_"'
    elif isinstance(node, ast.FunctionDef) and _reserved(node.name) and not _dunder(node.name):
        # Special methods (__init__, __len__...) are for the runner's exact policy to judge.
        return f'"{node.name}" is an invalid name because it starts with "_"'
    return None


def _readable(node: ast.Attribute) -> bool:
    # f.__name__, and super().__init__(...) in a subclass: the runner allows these.
    if node.attr in ("__name__", "__qualname__"):
        return True
    call = node.value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        return False
    return call.func.id == "super" and _dunder(node.attr)


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _reserved(name: str) -> bool:
    """The runner's rule (``runner.sandbox.rules.is_sandbox_name``), which web cannot import."""
    return (
        name.startswith("__")
        or (len(name) > 1 and name.startswith("_") and name.endswith("_"))
        or (name.startswith("_tmp") and name[4:].isdigit())
    )
