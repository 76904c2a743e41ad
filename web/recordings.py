"""Recordings of what the tree showed during a run (SPEC §3), kept beside the submission.

The runner sends ``Frame`` events at the live-view rate (``TREE_VIEW_FPS``); web keeps the
running program's frames in memory and, when the run ends, writes them to
``uploads/<user_id>_<uuid>.rec``. The file format (served as is by
``GET /api/submissions/<id>/recording``, decoded by ``static/js/run_page.js``):

    zlib( "LTR1" | u32 led_count | u32 frame_count | u32 t_ms[frame_count]
          | frame_count x led_count x (R, G, B, L) bytes, each byte delta-coded )

All integers are little-endian; ``t_ms`` is milliseconds since the run's first frame. Each
frame byte is stored as ``(value - same byte of the previous frame) mod 256`` (the first frame
against zeros): consecutive frames of an animation differ little, so the deltas are mostly
small and compress several times better than the frames themselves. A recording is kept at
most ``MAX_RECORDING_BYTES``: one that compresses worse (noise) keeps every second frame, then
every fourth, ..., so it is at most that big and still spans the whole run.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

MAGIC = b"LTR1"
MAX_RECORDING_BYTES = 1024 * 1024  # SPEC §3: at most 1 MB per 45 s at 500 LEDs
# Held in memory while a program runs: 45 s at 25 fps at 500 LEDs is 2.25 MB, so this leaves
# room for longer limits and bigger trees without letting a runaway stream grow without bound.
MAX_RAW_BYTES = 48 * 1024 * 1024


@dataclass
class Recording:
    """Frames of one run: ``times_ms[i]`` since the first frame, ``frames[i]`` as RGBL bytes."""

    led_count: int
    times_ms: list[int] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)


def pack_frame(leds: Sequence[Sequence[int]]) -> bytes:
    """One frame as ``led_count * 4`` bytes (values were validated by the runner)."""
    return bytes(min(255, max(0, int(v))) for led in leds for v in led[:4])


def encode(rec: Recording, level: int = 9) -> bytes:
    """The recording file's bytes (see the module docstring)."""
    n, size = len(rec.frames), rec.led_count * 4
    head = MAGIC + struct.pack(f"<II{n}I", rec.led_count, n, *rec.times_ms)
    body = bytearray(n * size)
    prev = bytes(size)
    for i, frame in enumerate(rec.frames):
        delta = bytes((c - p) & 0xFF for c, p in zip(frame, prev, strict=True))
        body[i * size : (i + 1) * size] = delta
        prev = frame
    return zlib.compress(head + bytes(body), level)


def encode_bounded(rec: Recording, limit: int = MAX_RECORDING_BYTES) -> tuple[bytes, int]:
    """``encode``, keeping every 2nd, 4th, ... frame until the file fits in ``limit`` bytes;
    returns the file's bytes and how many frames it kept."""
    step = 1
    while True:
        picked = Recording(rec.led_count, rec.times_ms[::step], rec.frames[::step])
        data = encode(picked)
        if len(data) <= limit or len(picked) <= 1:
            return data, len(picked)
        step *= 2


def decode(data: bytes) -> Recording:
    """Read a recording file back.

    Raises:
        ValueError: not a recording, or damaged.
    """
    try:
        raw = zlib.decompress(data)
    except zlib.error as exc:
        raise ValueError(f"not a recording: {exc}") from None
    if raw[:4] != MAGIC or len(raw) < 12:
        raise ValueError("not a recording: bad header")
    led_count, n = struct.unpack_from("<II", raw, 4)
    size = led_count * 4
    start = 12 + 4 * n
    if len(raw) != start + n * size:
        raise ValueError("damaged recording: wrong length")
    times = list(struct.unpack_from(f"<{n}I", raw, 12))
    frames, prev = [], bytearray(size)
    for i in range(n):
        chunk = raw[start + i * size : start + (i + 1) * size]
        prev = bytearray((p + d) & 0xFF for p, d in zip(prev, chunk, strict=True))
        frames.append(bytes(prev))
    return Recording(led_count, times, frames)


class Recorder:
    """Collects the running program's frames; ``take`` hands them over when the run ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._id: str | None = None
        self._rec: Recording | None = None
        self._t0 = 0.0
        self._bytes = 0

    def add(self, submission_id: str, leds: Sequence[Sequence[int]], now: float) -> None:
        """Record one frame of ``submission_id`` shown at monotonic ``now``."""
        frame = pack_frame(leds)
        with self._lock:
            if submission_id != self._id or self._rec is None:
                self._id, self._rec, self._t0, self._bytes = (
                    submission_id, Recording(len(leds)), now, 0,
                )  # fmt: skip
            rec = self._rec
            if len(frame) != rec.led_count * 4 or self._bytes + len(frame) > MAX_RAW_BYTES:
                return
            rec.times_ms.append(min(0xFFFFFFFF, max(0, round((now - self._t0) * 1000))))
            rec.frames.append(frame)
            self._bytes += len(frame)

    def take(self, submission_id: str) -> Recording | None:
        """The frames recorded for ``submission_id`` (and forget them), or None."""
        with self._lock:
            if self._id != submission_id or self._rec is None:
                return None
            rec, self._id, self._rec = self._rec, None, None
            return rec if len(rec) else None
