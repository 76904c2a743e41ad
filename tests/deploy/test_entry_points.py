"""``make run`` / ``make test`` / ``.ci/run`` wire up the right pieces; CI forbids silent skips."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT


def _make_dry_run(target: str) -> str:
    # -B: show every step even where the stamps say it is up to date; -n: run none of them.
    # Under `make test` this is a sub-make: drop what the outer make passes down.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target, "PYTEST_ARGS="],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_run_installs_builds_and_starts_the_manager() -> None:
    out = _make_dry_run("run")
    assert "-m venv .venv" in out
    assert "install -q --config-settings editable_mode=compat -e '.[runner,web]'" in out
    assert "npm --prefix web/frontend ci" in out
    assert "npm --prefix web/frontend run build" in out
    assert out.rstrip().endswith(".venv/bin/python scripts/run_local.py")


def test_make_test_installs_lints_and_runs_the_whole_suite() -> None:
    out = _make_dry_run("test")
    assert "install -q --config-settings editable_mode=compat -e '.[runner,web,test]'" in out
    assert "npm --prefix web/frontend run build" in out
    assert "bash scripts/ensure_chromium.sh" in out
    assert "ruff check ." in out and "ruff format --check ." in out
    assert ".venv/bin/mypy" in out
    assert out.rstrip().endswith(".venv/bin/python -m pytest")


def test_make_bench_runs_every_bench_script() -> None:
    assert "bench/*.py" in _make_dry_run("bench")


def test_ci_run_calls_make_test_and_fails_on_any_failure() -> None:
    text = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in text
    assert re.search(r"^make test\b", text, re.MULTILINE)
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")]).returncode == 0


def _ensure_chromium(path: str, ci: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "LEDTREE_CHROMIUM": path, "CI": ci}
    if os.geteuid() != 0:
        argv = ["bash", str(ROOT / "scripts" / "ensure_chromium.sh")]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    # As root the script would apt-get install; run it as nobody to see the other branch. The
    # checkout may sit where only root can enter (a clone under /root or in `mktemp -d`), so
    # nobody gets its own world-readable copy of the script.
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test ensure_chromium.sh as root"
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        script = shutil.copy(ROOT / "scripts" / "ensure_chromium.sh", tmp)
        os.chmod(script, 0o644)
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "bash", script]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd=tmp)


def test_ensure_chromium_accepts_an_installed_browser() -> None:
    assert _ensure_chromium("/bin/sh", "true").returncode == 0  # any executable file will do


@pytest.mark.parametrize(("ci", "code"), [("true", 1), ("", 0)])
def test_ensure_chromium_says_what_to_run_when_missing(ci: str, code: int) -> None:
    result = _ensure_chromium("/nonexistent/chromium", ci)
    assert result.returncode == code
    assert "apt-get install -y chromium" in result.stderr


CI_SAMPLE = """
import pytest

def test_ok():
    pass

def test_skipped():
    pytest.skip("no browser here")

@pytest.mark.skip(reason="needs Raspberry Pi hardware: ws281x")
def test_on_the_pi():
    pass

@pytest.mark.xfail(reason="known")
def test_known_bug():
    assert False
"""


def _run_sample(tmp_path: Path, ci: str) -> str:
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(CI_SAMPLE)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"CI": ci}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout.strip().splitlines()[-1]


def test_ci_turns_skips_into_failures_except_hardware(tmp_path: Path) -> None:
    summary = _run_sample(tmp_path, "true")
    assert re.match(r"1 failed, 1 passed, 1 skipped, 1 xfailed in ", summary), summary


def test_without_ci_skips_stay_skips(tmp_path: Path) -> None:
    summary = _run_sample(tmp_path, "")
    assert re.match(r"1 passed, 2 skipped, 1 xfailed in ", summary), summary
