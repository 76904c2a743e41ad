"""The compact form of a dry run's frames in ``PreviewResult.frames_data`` ("rgbl8-zlib-base64").

Every frame is ``led_count`` LEDs of 4 bytes (R, G, B, L); the frames are concatenated in order,
compressed with zlib and base64-encoded. 45 s at 25 frames a second of 500 LEDs is 2.25 MB raw;
animations compress well (LZ77 finds the previous frame 2,000 bytes back). No pydantic here:
either side may use it without the messages.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence

ENCODING = "rgbl8-zlib-base64"


class FramesDataError(ValueError):
    """``frames_data`` does not hold what its message says it holds."""


def encode_frames(frames: Sequence[bytes]) -> str:
    """Frames of 4 bytes per LED, as ``frames_data``."""
    return base64.b64encode(zlib.compress(b"".join(frames), 6)).decode("ascii")


def decode_frames_bytes(data: str, frame_count: int, led_count: int) -> list[bytes]:
    """``frames_data`` back to ``frame_count`` frames of raw bytes; checked and bounded.

    Decompresses at most the bytes the frames need (a zlib bomb stops there) and refuses data
    of another size, or a brightness above 100.

    Raises:
        FramesDataError: the data is not valid base64/zlib, or not exactly those frames.
    """
    size = 4 * led_count
    expected = frame_count * size
    if frame_count == 0 or led_count == 0:
        if data and _inflate(data, 1):
            raise FramesDataError("frames_data holds frames its message does not count")
        return []
    raw = _inflate(data, expected + 1)
    if len(raw) != expected:
        raise FramesDataError(f"frames_data holds {len(raw)} bytes, {expected} expected")
    if max(raw[3::4]) > 100:
        raise FramesDataError("frames_data holds a brightness above 100")
    return [raw[i : i + size] for i in range(0, expected, size)]


def decode_frames(data: str, frame_count: int, led_count: int) -> list[list[list[int]]]:
    """``frames_data`` as ``[[[R, G, B, L], ...], ...]`` (one list of LEDs per frame)."""
    frames = decode_frames_bytes(data, frame_count, led_count)
    return [[list(frame[i : i + 4]) for i in range(0, len(frame), 4)] for frame in frames]


def _inflate(data: str, max_length: int) -> bytes:
    try:
        packed = base64.b64decode(data.encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, max_length)
    except (binascii.Error, UnicodeEncodeError, zlib.error) as exc:
        raise FramesDataError(f"frames_data is not {ENCODING}: {exc}") from None
    return raw
