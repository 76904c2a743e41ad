"""The produced-vs-consumed simulator, run small against the real runner and gunicorn."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_small_load_loses_nothing_and_keeps_order(
    make_stack: Callable[..., Any], load_sim: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "TREE_TRUSTED_PROXIES": "1",
        "TREE_TIME_LIMIT": "3",
        "TREE_FPS": "0",
        "TREE_RATE_PER_USER": "100000/10 minutes",
        "TREE_RATE_PER_IP": "100000/10 minutes",
        # One pending program each: checks run at nice 19 (beside the tree program), so on a
        # busy machine a user's next upload can take longer than the queue takes to drain;
        # with a cap of 1, an upload while the last one still waits is told to wait.
        "TREE_MAX_PENDING_PER_USER": "1",
    }
    stack = make_stack(env).start()
    code = load_sim.simulate(stack.url, submissions=30, users=5, timeout=240)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "accepted (201)        30" in out
    assert "lost 0" in out and "discrepancies         0" in out
    # 5 users with 6 programs each and a cap of 1 pending: some must have been told to wait.
    assert "without Retry-After: 0" in out
    told_to_wait = int(re.search(r"429 answers\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    assert told_to_wait > 0


def test_the_checker_catches_loss_and_disorder(load_sim: ModuleType) -> None:
    figures = load_sim.Figures()
    figures.accepted = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    final = {
        "a": {
            "id": "a",
            "status": "completed",
            "reason": "ended",
            "timestamp": "1",
            "started_at": "5",
        },
        "b": {
            "id": "b",
            "status": "completed",
            "reason": "ended",
            "timestamp": "2",
            "started_at": "4",
        },
    }
    problems = load_sim.check(figures, final)
    assert any("lost: c" in p for p in problems)
    assert any("out of order" in p for p in problems)
    figures.missing_retry_after = 2
    assert any("without Retry-After" in p for p in load_sim.check(figures, final))
