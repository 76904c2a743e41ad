"""The Dockerfiles: lint-clean, multi-stage, for a Pi, and running what compose says they run."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import ROOT, tool

DOCKERFILES = {
    "web": ROOT / "docker" / "web.Dockerfile",
    "runner": ROOT / "docker" / "runner.Dockerfile",
}
BASE = "python:3.11-slim-bookworm"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def exec_form(instr: list[tuple[str, str]], name: str) -> list[str]:
    """The JSON (exec) form of the last CMD/HEALTHCHECK CMD."""
    args = [rest for word, rest in instr if word == name][-1]
    if name == "HEALTHCHECK":
        args = args[args.index("CMD ") + 4 :]
    value: list[str] = json.loads(args)
    return value


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_hadolint_is_clean(name: str) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "info", str(DOCKERFILES[name])],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_multi_stage_on_python_slim_bookworm(name: str) -> None:
    stages = [rest for word, rest in instructions(DOCKERFILES[name]) if word == "FROM"]
    assert len(stages) >= 2
    assert stages[-1] == BASE, "the runtime stage is the slim Debian Python image"


def test_web_bundle_is_built_in_a_node_stage() -> None:
    instr = instructions(DOCKERFILES["web"])
    stages = [rest for word, rest in instr if word == "FROM"]
    assert any("node:" in s and s.endswith(" AS frontend") for s in stages)
    assert ("RUN", "npm ci --no-audit --no-fund") in instr
    assert ("RUN", "npm run build") in instr
    assert any(w == "COPY" and r.startswith("--from=frontend ") for w, r in instr)


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_image_runs_what_compose_runs(name: str, compose: dict[str, Any]) -> None:
    service = compose["services"][name]
    instr = instructions(DOCKERFILES[name])
    assert exec_form(instr, "CMD") == service["command"]
    assert exec_form(instr, "HEALTHCHECK") == service["healthcheck"]["test"][1:]


def test_web_image_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in instructions(DOCKERFILES["web"]) if word == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_runner_image_has_the_unprivileged_child_user() -> None:
    text = DOCKERFILES["runner"].read_text()
    assert re.search(r"useradd .*ledtree-child", text.replace("\\\n", " "))
    assert "TREE_CHILD_USER=ledtree-child" in text


def test_dockerignore_keeps_local_state_out_of_the_images() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", "uploads", "web/frontend/node_modules", "web/static/dist"} <= ignored


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path.rstrip("/")).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        or fnmatch.fnmatch(prefix.split("/")[-1], pattern.removeprefix("**/"))
        for prefix in prefixes
        for pattern in patterns
    )


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_every_copied_path_exists_and_reaches_the_build_context(name: str) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copies = [rest.split() for word, rest in instructions(DOCKERFILES[name]) if word == "COPY"]
    sources = [src for args in copies if not args[0].startswith("--from") for src in args[:-1]]
    assert sources
    for src in sources:
        assert (ROOT / src).exists(), f"{name}: COPY {src} names a missing path"
        assert not _ignored(src, patterns), f"{name}: COPY {src} is excluded by .dockerignore"
