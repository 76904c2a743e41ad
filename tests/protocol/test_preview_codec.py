"""A dry run's frames travel compressed; decoding them checks and bounds what they hold."""

from __future__ import annotations

import base64
import zlib

import pytest

from protocol.preview_codec import FramesDataError, decode_frames, encode_frames

RED, BLUE = bytes([255, 0, 0, 100]), bytes([0, 0, 255, 50])


def test_frames_round_trip() -> None:
    frames = [RED * 3, BLUE * 3, RED + BLUE + RED]
    data = encode_frames(frames)
    assert decode_frames(data, 3, 3) == [
        [[255, 0, 0, 100]] * 3,
        [[0, 0, 255, 50]] * 3,
        [[255, 0, 0, 100], [0, 0, 255, 50], [255, 0, 0, 100]],
    ]


def test_a_still_animation_compresses_to_almost_nothing() -> None:
    data = encode_frames([RED * 500] * 1125)  # 45 s at 25 frames a second, 500 LEDs
    assert len(data) < 8000


@pytest.mark.parametrize(
    ("data", "count", "leds", "why"),
    [
        ("not base64!", 1, 1, "not rgbl8"),
        (base64.b64encode(b"not zlib").decode(), 1, 1, "not rgbl8"),
        (encode_frames([RED * 2]), 2, 2, "8 bytes, 16 expected"),
        (encode_frames([RED * 3]), 1, 2, "9 bytes, 8 expected"),
        (encode_frames([bytes([1, 2, 3, 101])]), 1, 1, "brightness above 100"),
        (encode_frames([RED]), 0, 1, "does not count"),
    ],
)
def test_data_that_does_not_match_its_message_is_refused(
    data: str, count: int, leds: int, why: str
) -> None:
    with pytest.raises(FramesDataError, match=why):
        decode_frames(data, count, leds)


def test_a_zlib_bomb_is_not_inflated_beyond_the_frames_it_claims() -> None:
    bomb = base64.b64encode(zlib.compress(bytes(1 << 26), 9)).decode()  # 64 MiB of zeros
    assert len(bomb) < 200_000
    with pytest.raises(FramesDataError, match="4001 bytes, 4000 expected"):
        decode_frames(bomb, 10, 100)
