"""What the page views read: the scheduler's snapshot, the example programs, the docs file."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import abort, current_app, g, request

from web.security import csrf_valid
from web.services import scheduler, web_config


def source_lines(source: str) -> list[str]:
    """A program's lines as Python numbers them (an error's ``line`` indexes this): only
    ``\r\n``, ``\r`` and ``\n`` end a line; ``str.splitlines()`` also splits at form feeds,
    ``\x85``, ``\u2028``..., which shifts every line after one."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if not lines[-1] else lines


@dataclass(frozen=True)
class Example:
    """One example program offered in the editor's picker."""

    slug: str
    title: str
    source: str


def queue_snapshot() -> dict[str, Any]:
    """The ``/api/queue`` JSON as this requester sees it (``mine`` on their own rows)."""
    sched = scheduler()
    return sched.state.snapshot(sched.clock(), getattr(g, "user_id", None))


def require_csrf() -> None:
    """Refuse (400) a page's state-changing post without a valid form token.

    ``web.security`` already checks form posts; this also covers a post with no form body.
    """
    if not csrf_valid(request.form.get("csrf_token")):
        abort(400, "the form expired: reload the page")


def time_limit() -> float:
    """The per-run time limit in seconds, for the pages' "up to N s" hints."""
    return web_config().time_limit


def load_examples() -> list[Example]:
    """Every ``*.py`` in ``EXAMPLES_DIR``, sorted by file name; unreadable files are skipped."""
    folder = Path(current_app.config["EXAMPLES_DIR"])
    examples = []
    for path in sorted(folder.glob("*.py")):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current_app.logger.warning("example %s is unreadable", path)
            continue
        examples.append(Example(path.stem, _title_of(path.stem, source), source))
    return examples


def _title_of(slug: str, source: str) -> str:
    """The module docstring's first line, else a leading ``# comment``, else the file name."""
    try:
        doc = ast.get_docstring(ast.parse(source))
    except SyntaxError:
        doc = None
    first = source.lstrip().splitlines()[0] if source.strip() else ""
    if doc:
        title = doc.strip().splitlines()[0]
    elif first.startswith("#") and not first.startswith("#!"):
        title = first.lstrip("#").strip()
    else:
        title = ""
    return title.rstrip(".")[:60] or re.sub(r"[_-]+", " ", slug).strip().capitalize()


def read_docs() -> str | None:
    """The program-API Markdown (``DOCS_FILE``), or None when it is missing."""
    try:
        return Path(current_app.config["DOCS_FILE"]).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
