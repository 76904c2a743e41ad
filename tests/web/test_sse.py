"""The event hub: coalescing, latest-frame-only for slow viewers, the per-viewer frame cap."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from web.sse import EventHub, encode_event


def kinds(chunk: bytes) -> list[str]:
    return [line[7:] for line in chunk.decode().splitlines() if line.startswith("event: ")]


def frame(n: int) -> dict[str, object]:
    return {"submission_id": "s", "leds": [[n, 0, 0, 100]]}


def test_encode_event_is_one_data_line() -> None:
    body = encode_event("submission", {"title": "two\nlines </script>"})
    assert body.count(b"\ndata: ") == 1 and body.endswith(b"\n\n")
    assert b"two\\nlines" in body


def test_new_viewer_gets_latest_state_not_history() -> None:
    hub = EventHub()
    for n in range(5):
        hub.publish("queue", {"n": n})
    hub.publish("tree", {"led_count": 3})
    hub.publish("submission", {"id": "old"})
    stream = hub.stream()
    assert next(stream) == b"retry: 2000\n\n"
    first = next(stream)
    assert kinds(first) == ["tree", "queue"]
    assert b'{"n":4}' in first and b"old" not in first
    stream.close()
    assert hub.viewers == 0


def test_slow_viewer_only_gets_the_latest_frame() -> None:
    hub = EventHub(frame_rate=1000, frame_burst=1000)
    stream = hub.stream()
    next(stream)
    for n in range(500):  # the viewer reads nothing meanwhile: nothing piles up for it
        hub.publish("frame", frame(n))
    hub.publish("submission", {"id": "a"})
    chunk = next(stream)
    assert kinds(chunk) == ["submission", "frame"]
    assert b"[[499,0,0,100]]" in chunk and b"[[498," not in chunk
    stream.close()


def test_frames_are_capped_per_viewer() -> None:
    # Practically no refill: after its burst a viewer gets heartbeats, not more frames.
    hub = EventHub(frame_rate=1e-6, frame_burst=2)
    stream = hub.stream(heartbeat_s=0.01)
    next(stream)
    got = []
    for n in range(3):
        hub.publish("frame", frame(n))
        got.append(next(stream))
    assert kinds(got[0]) == ["frame"] and kinds(got[1]) == ["frame"]
    assert got[2] == b": ping\n\n"
    hub.publish("queue", {"q": 1})  # other events are never held back by the cap
    assert kinds(next(stream)) == ["queue"]
    stream.close()


def test_viewer_wakes_on_publish_from_another_thread() -> None:
    hub = EventHub()
    stream: Iterator[bytes] = hub.stream(heartbeat_s=30)
    next(stream)
    threading.Timer(0.05, hub.publish, args=("submission", {"id": "x"})).start()
    assert kinds(next(stream)) == ["submission"]
    stream.close()


def test_close_ends_every_stream() -> None:
    hub = EventHub()
    streams = [hub.stream(heartbeat_s=30) for _ in range(3)]
    for s in streams:
        next(s)
    threading.Timer(0.05, hub.close).start()
    for s in streams:
        assert list(s) == []
    assert hub.viewers == 0
