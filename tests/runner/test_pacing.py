"""The live-view feed: capped at view_fps, slot-based, last frame always delivered."""

from __future__ import annotations

import pytest

from protocol.messages import Frame, Message
from runner.sandbox.grid import Pacer
from runner.supervise.pacing import ViewerFeed

LEDS = ((1, 2, 3, 100),)


def _feed(view_fps: float) -> tuple[ViewerFeed, list[Message]]:
    sent: list[Message] = []
    return ViewerFeed("s1", view_fps, sent.append), sent


def test_a_40_fps_program_reaches_viewers_at_the_full_25_fps_cap() -> None:
    feed, sent = _feed(25)
    for i in range(400):  # ten seconds of frames every 25 ms, flushed when due as the loop does
        now = i * 0.025
        feed.flush_if_due(now)
        feed.shown(LEDS, now)
    assert 245 <= len(sent) <= 251


def test_viewers_never_get_more_than_the_cap() -> None:
    feed, sent = _feed(25)
    for i in range(1000):  # a flood: a frame every millisecond for one second
        feed.shown(LEDS, i * 0.001)
    assert len(sent) <= 26


def test_the_last_frame_of_a_run_always_reaches_viewers() -> None:
    feed, sent = _feed(25)
    feed.shown(LEDS, 0.0)
    feed.shown(((9, 9, 9, 9),), 0.001)  # held: inside the first slot
    feed.flush(0.002)
    last = sent[-1]
    assert isinstance(last, Frame) and last.leds == [[9, 9, 9, 9]] and last.index == 2


# --- the tree's pacer: a fixed grid of slots ----------------------------------------------------


def _show_frames(pacer: Pacer, ready_at: list[float], oversleep: float) -> list[float]:
    """When each frame is shown, given when the child has it ready and how late sleeps wake."""
    shown = []
    for ready in ready_at:
        due = pacer.due(ready)
        at = max(ready, due + oversleep if due > ready else ready)
        pacer.shown(at)
        shown.append(at)
    return shown


def test_oversleeping_does_not_accumulate() -> None:
    """Each sleep waking 2 ms late still gives exactly 40 frames a second over a long run."""
    pacer = Pacer(40.0)
    shown = _show_frames(pacer, [0.0] * 401, oversleep=0.002)
    assert shown[-1] - shown[0] == pytest.approx(10.0, abs=0.003)  # 400 periods of 25 ms


def test_a_frame_is_never_shown_before_its_slot_or_closer_than_half_a_period() -> None:
    pacer = Pacer(40.0)
    ready = [i * 0.01 for i in range(200)]  # a child twice as fast as the cap
    shown = _show_frames(pacer, ready, oversleep=0.011)
    gaps = [b - a for a, b in zip(shown, shown[1:], strict=False)]
    assert min(gaps) >= 0.0125
    assert all(sum(1 for t in shown if s <= t < s + 1) <= 43 for s in shown)


def test_a_stalled_program_does_not_catch_up_in_a_burst() -> None:
    pacer = Pacer(40.0)
    ready = [0.0, 0.025, 0.05, 1.0, 1.0, 1.0, 1.0]  # a 1 s stall, then frames ready at once
    shown = _show_frames(pacer, ready, oversleep=0.0)
    assert shown[3:] == pytest.approx([1.0, 1.025, 1.05, 1.075])


def test_no_cap_shows_at_once() -> None:
    pacer = Pacer(0)
    assert pacer.due(5.0) == 5.0
