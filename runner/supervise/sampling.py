"""A dry run's frames at the live-view rate, sampled by the parent from the child's timestamps.

The child sends every frame with the virtual time it would be shown at; the parent keeps only
what the tree would show at the end of each view slot, and no more than ``max_samples`` of those,
so a child sending a flood of frames (or lying about their times) makes it hold a bounded number
of frames. A frame is re-checked (brightness) when it is first kept, before anyone sees it, and
goes through the tree's protection (power budget, flash limiter) as a shown frame does.
"""

from __future__ import annotations

import math

from protocol.limits import MAX_PREVIEW_DATA_CHARS
from protocol.preview_codec import encode_frames
from runner.exc import FrameInvalid
from runner.leds import Led
from runner.protect import Protector
from runner.sandbox.frames import check_frame_bytes, frame_to_bytes


class FrameSampler:
    """Frame k of the result is the last frame shown at or before ``(k + 1) * interval``."""

    def __init__(self, led_count: int, interval: float, max_samples: int) -> None:
        self.led_count = led_count
        self.interval = interval
        self.max_samples = max(0, max_samples)
        self.samples: list[bytes] = []
        self._current = bytes(4 * led_count)  # before the first frame the preview is dark
        self._current_checked = True
        self.seen_frame = False

    @property
    def full(self) -> bool:
        """No more frames will be kept."""
        return len(self.samples) >= self.max_samples

    def add(self, at: float, frame: bytes) -> None:
        """A frame shown at virtual time ``at`` (non-decreasing; the caller checks)."""
        while not self.full and at > (len(self.samples) + 1) * self.interval:
            self._keep()
        self._current, self._current_checked = frame, False
        self.seen_frame = True

    def finish(self, duration: float) -> list[bytes]:
        """The kept frames of a run that lasted ``duration`` virtual seconds."""
        wanted = math.ceil(duration / self.interval - 1e-9) if duration > 0 else 0
        if self.seen_frame:
            wanted = max(wanted, 1)  # a program that showed one frame and ended at once
        while not self.full and len(self.samples) < wanted:
            self._keep()
        return self.samples

    def _keep(self) -> None:
        if not self._current_checked:
            if self._current and max(self._current[3::4]) > 100:
                check_frame_bytes(self._current, self.led_count)  # raises, naming the LED
                raise FrameInvalid("frame has a brightness above 100")
            self._current_checked = True
        self.samples.append(self._current)


def protect_frames(samples: list[bytes], interval: float, protector: Protector) -> list[bytes]:
    """The sampled frames as the tree would show them: through the same power budget and flash
    limiter as a run's frames (at the view rate, each at the end of its slot)."""
    if not protector.active:
        return samples
    shown: list[bytes] = []
    unchanged: tuple[Led, ...] = ()
    for index, frame in enumerate(samples):
        # With the packed frame given, apply() returns its first argument itself when nothing
        # had to change: no need to unpack every frame into tuples.
        result = protector.apply(unchanged, (index + 1) * interval, packed=frame)
        shown.append(frame if result is unchanged else frame_to_bytes(result))
    return shown


def fit_frames(
    samples: list[bytes], interval: float, max_chars: int = MAX_PREVIEW_DATA_CHARS
) -> tuple[str, int, float]:
    """Encode ``samples``; while too large for one message, keep every other frame.

    Returns ``(frames_data, frame_count, frame_interval_s)``: a slower but whole preview rather
    than a cut-off one (frames that hardly compress, such as random noise, need this).
    """
    while True:
        data = encode_frames(samples)
        if len(data) <= max_chars or len(samples) <= 1:
            break
        # Slot j of the halved rate ends where old slot 2j + 1 ended; an odd last one stays.
        tail = [samples[-1]] if len(samples) % 2 else []
        samples, interval = samples[1::2] + tail, interval * 2
    if len(data) > max_chars:  # a single frame larger than the budget (thousands of LEDs)
        return "", 0, interval
    return data, len(samples), interval
