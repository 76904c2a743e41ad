"""The checks of SPEC §3 that need no runner: size, encoding, and the offline compile check.

The real verdict comes from the runner (``Check`` over the socket, the same policy as the run).
When the runner is offline (or does not answer within ``TREE_CHECK_TIMEOUT``), ``offline_check``
checks Python syntax only, with line and column, and the runner judges the rest at run time.
"""

from __future__ import annotations

import codecs
import threading
import warnings
from dataclasses import dataclass

from web.errors import error_body

MAX_SOURCE_BYTES = 64 * 1024
_WARNINGS_LOCK = threading.Lock()


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
        return error_body(self.code, self.message, line=self.line, col=self.col)


def decode_source(data: bytes) -> str | CheckFailure:
    """The program text, or why these bytes cannot be a program.

    One leading UTF-8 byte-order mark (Windows editors' "UTF-8 with BOM") is dropped, as
    ``python3 file.py`` does: the compiler refuses U+FEFF in a ``str``, on a line that looks empty.
    """
    data = data.removeprefix(codecs.BOM_UTF8)
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
    """Python syntax only: what the runner's check would say when it cannot be asked.

    Everything else (imports, private names, ...) is the runner's to judge, under its exact
    policy, when the program runs: a second copy of those rules here would only drift from it
    and refuse programs the runner accepts (SPEC §5).
    """
    # The compiler may warn (e.g. "invalid escape sequence"); that is not the author's failure,
    # and catch_warnings is not thread-safe, hence the lock.
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, "<program>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            message = f"SyntaxError: {exc.msg or 'invalid syntax'}"
            return CheckFailure(400, "syntax_error", message, exc.lineno, exc.offset)
        except (RecursionError, MemoryError):  # the runner's compiler gives up on these too
            return CheckFailure(400, "rejected", "the program is nested too deeply")
        except ValueError as exc:  # e.g. a source the compiler cannot take at all
            return CheckFailure(400, "syntax_error", f"the program cannot be compiled ({exc})")
    return None
