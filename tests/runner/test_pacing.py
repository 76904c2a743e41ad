"""The live-view feed: capped at view_fps, slot-based, last frame always delivered."""

from __future__ import annotations

from protocol.messages import Frame, Message
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
