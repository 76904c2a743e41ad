"""The README documents every setting the code reads and the pieces it promises."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

from runner.config import _ENV_NAMES, RunnerConfig
from tests.deploy.conftest import ROOT
from web.config import defaults

# Flask internals set in code, not operator settings.
WEB_INTERNAL = {"START_SERVICES", "MAX_CONTENT_LENGTH"}
README = (ROOT / "README.md").read_text()


def _table_settings() -> set[str]:
    return set(re.findall(r"^\| `(TREE_[A-Z0-9_]+)`", README, re.MULTILINE))


def test_every_runner_setting_is_in_the_table() -> None:
    names = {
        _ENV_NAMES.get(f.name, f"TREE_{f.name.upper()}") for f in dataclasses.fields(RunnerConfig)
    }
    assert names - _table_settings() == set()


def test_every_web_setting_is_in_the_table() -> None:
    keys = {k for k in defaults() if k not in WEB_INTERNAL and not k.startswith("SESSION_")}
    assert {f"TREE_{k}" for k in keys} - _table_settings() == set()


def test_compose_settings_are_in_the_table() -> None:
    used = set(re.findall(r"\$\{(TREE_[A-Z0-9_]+)", (ROOT / "compose.yaml").read_text()))
    assert used - _table_settings() == set()


def test_readme_has_the_promised_sections() -> None:
    for needle in (
        "make run",
        "make test",
        "runner/README.md",
        "GPIO 18",
        "level shifter",
        "docker compose up -d",
        "```mermaid",
        "docs/security.md",
        "## Benchmarks",
        "docs/screenshots/editor.png",
        "docs/screenshots/tree.png",
    ):
        assert needle in README, needle


def test_every_local_link_and_image_exists() -> None:
    targets = re.findall(r"\]\(([^)#:]+)\)", README)
    assert len(targets) >= 6
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == []


def test_the_first_program_runs_in_the_real_sandbox(tmp_path: Path) -> None:
    program = tmp_path / "first.py"
    program.write_text(re.search(r"```python\n(.*?)```", README, re.DOTALL).group(1))  # type: ignore[union-attr]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            str(program),
            "--leds",
            "10",
            "--time-limit",
            "1.5",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    outcome = json.loads(result.stdout)
    assert (outcome["status"], outcome["error"]) == ("completed", None), outcome
    assert outcome["frames"] >= 1
