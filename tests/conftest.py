"""Root conftest: with ``CI=true`` no test may silently skip; one shared headless Chromium.

A skip becomes a failure, except those whose reason starts with ``needs Raspberry Pi hardware``
(the ws281x backend's contract tests, which only a Pi can run). xfail is not a skip.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

ALLOWED_SKIP = "needs Raspberry Pi hardware"

if os.geteuid() != 0:
    # A developer's own account is a development machine: the runners these tests start may
    # serve without the uid drop and the network namespace (both need root), as ``make run``
    # lets them. As root (CI) the variable stays unset and every layer must hold.
    os.environ.setdefault("TREE_SANDBOX_DEV", "1")
CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright cannot download browsers here
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def _forbid_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if reason.startswith(ALLOWED_SKIP):
        return
    report.outcome = "failed"
    report.longrepr = f"CI=true forbids skipping (reason given: {reason})"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Turn a test's skip into a failure under CI."""
    outcome = yield
    _forbid_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    """Turn a whole module's skip (``importorskip`` and the like) into a failure under CI."""
    outcome = yield
    _forbid_skip(outcome.get_result())


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium for every browser test: one Playwright per session (it cannot nest)."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (run: make chromium)"
        if _ci():
            pytest.fail(message)
        pytest.skip(message)
    if not (Path(__file__).parent.parent / "web/static/dist/editor.js").exists():
        # Without the bundle the editor is a plain textarea and every editor test times out.
        pytest.fail("the front-end bundle is not built (run: make frontend, or make test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return pids


@pytest.fixture
def leak_detector() -> Iterator[None]:
    """Fail a test that leaves child processes or non-daemon threads behind.

    Not autouse here: the web and end-to-end suites switch it on in their own conftest.
    """
    threads_before = set(threading.enumerate())
    children_before = _children()
    yield
    deadline = time.monotonic() + 5.0
    while True:
        threads = [
            t for t in threading.enumerate()
            if t not in threads_before and t.is_alive() and not t.daemon
        ]  # fmt: skip
        children = _children() - children_before
        if not threads and not children:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"leaked threads {threads} / child processes {sorted(children)}")
        time.sleep(0.05)
