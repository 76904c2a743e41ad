"""When the runner cannot be asked, web's own check never refuses what the runner would accept.

Every program we have (the sandbox tests' programs, the examples offered to users, the red
team's corpus, and the ones the issue found) goes through the REAL runner's Check over its
socket and through web's offline check; the offline check may only be looser (SPEC §5).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, wait_for
from web.checks import offline_check
from web.runner_client import RunnerClient

PROGRAM_DIRS = [
    ROOT / "tests" / "programs",
    ROOT / "runner" / "examples",
    ROOT / "tests" / "corpus",
]
# Valid programs an earlier offline check refused (issue 9).
INLINE = {
    "class_init": "class Snow:\n    def __init__(self, n):\n        self.n = n\nSnow(3)\n",
    "super_init": (
        "class A:\n    def __init__(self):\n        self.x = 1\n"
        "class B(A):\n    def __init__(self):\n        super().__init__()\nB()\n"
    ),
    "type_name": "print(type(3).__name__)\n",
    "syntax_error": "def broken(:\n    pass\n",
    "return_outside": "return 1\n",
}


def programs() -> list[tuple[str, str]]:
    found = [
        (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
        for folder in PROGRAM_DIRS
        for path in sorted(folder.rglob("*.py"))
    ]
    return found + sorted(INLINE.items())


@pytest.fixture
def checker(stack: Any) -> Iterator[RunnerClient]:
    """A web-side client of the real runner."""
    stack.start_runner()
    client = RunnerClient(stack.socket_path)
    client.start()
    try:
        wait_for(lambda: client.online, "the runner handshake")
        yield client
    finally:
        client.close()


def test_every_program_dir_has_programs() -> None:
    for folder in PROGRAM_DIRS:
        assert len(list(folder.rglob("*.py"))) >= 5, folder


def test_offline_check_never_refuses_what_the_runner_accepts(checker: RunnerClient) -> None:
    disagreements = []
    accepted = refused = 0
    for name, source in programs():
        verdict = checker.check(source, timeout=30.0)
        assert verdict is not None, f"the runner did not answer for {name}"
        offline = offline_check(source)
        if not verdict:
            accepted += 1
            if offline is not None:
                disagreements.append(f"{name}: offline refused ({offline.message}), runner accepts")
        else:
            refused += 1
            if offline is not None and verdict[0].type == "SyntaxError":
                # Both found the same syntax error: the author sees it on the same line.
                assert offline.line == verdict[0].line, name
    assert not disagreements, "\n".join(disagreements)
    assert accepted >= 20 and refused >= 20  # the corpus exercises both sides
