"""What a process started as another uid (nobody) needs, copied to where that uid can read it.

The checkout may sit where only root can enter (a clone under /root, or in a ``mktemp -d``
folder), so a test that runs web as nobody gives it a world-readable copy of the project's
sources and of exactly the installed packages an extra (``web``) needs, plus a Python that
uid can start. Nothing else from the checkout or the virtualenv is reachable for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("protocol", "runner", "web")


@dataclass(frozen=True)
class ReadableTree:
    """A world-readable copy: run ``python`` in ``src`` with ``env`` added to the environment."""

    folder: Path
    python: str
    src: Path
    env: dict[str, str]


def _wanted(req: Requirement, extras: tuple[str, ...]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in ("", *extras))


def distributions(extras: tuple[str, ...]) -> list[metadata.Distribution]:
    """The installed distributions the project with ``extras`` needs, dependencies included."""
    found: dict[str, metadata.Distribution] = {}
    todo = [
        (req, extras)
        for req in map(Requirement, metadata.distribution("ledtree").requires or [])
        if _wanted(req, extras)
    ]
    while todo:
        req, _ = todo.pop()
        name = canonicalize_name(req.name)
        if name in found:
            continue
        dist = found[name] = metadata.distribution(req.name)
        for sub in map(Requirement, dist.requires or []):
            if _wanted(sub, tuple(req.extras)):
                todo.append((sub, tuple(sub.extras)))
    return list(found.values())


def _python() -> str:
    """A Python of this version outside the checkout's virtualenv."""
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    return system if os.path.exists(system) else os.path.realpath(sys._base_executable)


def readable_tree(extras: tuple[str, ...] = ("web",)) -> ReadableTree:
    """Copy sources and packages into a fresh world-readable folder (remove it with rmtree)."""
    folder = Path(tempfile.mkdtemp(prefix="ledtree-readable-"))
    src, site = folder / "src", folder / "site-packages"
    for name in SOURCES:
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for dist in distributions(extras):
        for file in dist.files or []:
            if file.parts[0] == ".." or file.suffix == ".pyc":
                continue  # console scripts outside site-packages; bytecode is rebuilt
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(dist.locate_file(file), target)  # type: ignore[arg-type]
    subprocess.run(["chmod", "-R", "a+rX", str(folder)], check=True)
    env = {"PYTHONPATH": f"{src}{os.pathsep}{site}", "PYTHONDONTWRITEBYTECODE": "1"}
    return ReadableTree(folder, _python(), src, env)
