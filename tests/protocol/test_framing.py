"""Framing over any byte stream: every message round-trips; bad input is a ProtocolError."""

from __future__ import annotations

import io
import json
import socket
import threading
from typing import BinaryIO, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.framing import (
    MAX_MESSAGE_BYTES,
    ProtocolError,
    decode_message,
    encode_message,
    read_message,
    write_message,
)
from protocol.messages import (
    PROTOCOL_VERSION,
    Check,
    CheckResult,
    Error,
    Finished,
    Frame,
    Hello,
    Idle,
    Log,
    Message,
    Ping,
    Pong,
    Preview,
    PreviewResult,
    ProgramError,
    ReleaseFrame,
    Run,
    SetFrame,
    Started,
    Stop,
    Welcome,
)
from protocol.preview_codec import encode_frames

ONE_OF_EACH: list[Message] = [
    Hello(version=PROTOCOL_VERSION),
    Check(request_id="r1", source="setLEDs([BLUE] * getLEDCount())\n"),
    Run(submission_id="s1", source="print('héllo ✨')\n", time_limit_s=45),
    Stop(),
    Stop(submission_id="s1", reason="author"),
    SetFrame(leds=[[0, 0, 0, 0], [255, 255, 255, 100]], request_id="f1"),
    ReleaseFrame(),
    Ping(),
    Welcome(
        version=PROTOCOL_VERSION,
        led_count=2,
        positions=[(-1.0, 0.5, 0.0), (0.0, 0.0, 1.0)],
        fps=40.0,
        backend="virtual",
        busy_with=None,
    ),
    CheckResult(
        request_id="r1",
        ok=False,
        errors=[ProgramError(type="SyntaxError", message="invalid syntax", line=3, col=7)],
    ),
    Started(submission_id="s1"),
    Log(submission_id="s1", text="line\nnext\n"),
    Frame(submission_id="s1", index=7, leds=[[1, 2, 3, 4]]),
    Finished(
        submission_id="s1",
        status="failed",
        reason="error",
        error=ProgramError(type="ValueError", message="LED 17: brightness 150", line=4),
        duration_s=1.25,
        frames=12,
        log="hi\n",
    ),
    Idle(),
    Preview(request_id="p1", source="setLEDs([RED] * getLEDCount())\n", time_limit_s=45),
    PreviewResult(
        request_id="p1",
        status="failed",
        reason="error",
        error=ProgramError(type="IndexError", message="list index out of range", line=5),
        duration_s=2.0,
        frames=1,
        fps=0.5,
        hits_time_limit=False,
        led_count=2,
        frame_interval_s=0.04,
        frame_count=1,
        frames_data=encode_frames([bytes([0, 0, 255, 100]) * 2]),
        log="Traceback...\n",
    ),
    Error(code="busy", message="the tree is busy", request_id="s2"),
    Pong(),
]


def test_one_of_each_kind_is_covered() -> None:
    kinds = {m.kind for m in ONE_OF_EACH}
    union = Message.__origin__.__args__  # type: ignore[attr-defined]
    assert kinds == {m.model_fields["kind"].default for m in union}


@pytest.mark.parametrize("msg", ONE_OF_EACH, ids=lambda m: m.kind)
def test_every_message_round_trips_over_bytesio(msg: Message) -> None:
    stream = io.BytesIO()
    write_message(stream, msg)
    data = stream.getvalue()
    assert data.endswith(b"\n") and data.count(b"\n") == 1  # one line, however many in the text
    stream.seek(0)
    assert read_message(stream) == msg
    assert read_message(stream) is None


def test_messages_round_trip_over_a_socketpair() -> None:
    left, right = socket.socketpair()
    with left, right:
        reader = cast(BinaryIO, right.makefile("rb"))

        def send_all() -> None:
            with left.makefile("wb") as writer:
                for msg in ONE_OF_EACH:
                    write_message(cast(BinaryIO, writer), msg)
            left.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send_all)
        sender.start()
        got = []
        while (msg := read_message(reader)) is not None:
            got.append(msg)
        sender.join()
        reader.close()
    assert got == ONE_OF_EACH


def test_an_oversized_line_is_fatal_and_bounded() -> None:
    stream = io.BytesIO(b"x" * 5000 + b"\n" + encode_message(Ping()))
    with pytest.raises(ProtocolError) as info:
        read_message(stream, max_bytes=100)
    assert info.value.code == "too_large" and info.value.fatal
    assert stream.tell() == 101  # never read (or buffered) more than max_bytes + 1


def test_a_line_of_exactly_max_bytes_is_fine() -> None:
    line = encode_message(Ping())
    assert read_message(io.BytesIO(line), max_bytes=len(line)) == Ping()
    with pytest.raises(ProtocolError, match="larger than"):
        read_message(io.BytesIO(line), max_bytes=len(line) - 2)


def test_a_truncated_message_is_fatal() -> None:
    with pytest.raises(ProtocolError, match="middle of a message") as info:
        read_message(io.BytesIO(encode_message(Ping())[:-3]))
    assert info.value.fatal


@pytest.mark.parametrize(
    "line",
    [
        b"not json\n",
        b"[]\n",
        b'{"kind": "launch_missiles"}\n',
        b'{"kind": "hello"}\n',
        b'{"kind": "ping", "extra": 1}\n',
        b'{"kind": "release_frame", "leds": []}\n',
        b'{"kind": "set_frame", "leds": [[1.5, 0, 0, 0]]}\n',
        b'{"kind": "set_frame", "leds": [[true, 0, 0, 0]]}\n',
        b'{"kind": "set_frame", "leds": [[0, 0, 0]]}\n',
        b'{"kind": "run", "submission_id": "a", "source": "", "time_limit_s": -1}\n',
        b"\xff\xfe\n",
    ],
)
def test_malformed_messages_are_not_fatal(line: bytes) -> None:
    stream = io.BytesIO(line + encode_message(Pong()))
    with pytest.raises(ProtocolError) as info:
        read_message(stream)
    assert info.value.code == "bad_message" and not info.value.fatal
    assert read_message(stream) == Pong()  # the stream is still in step


def test_release_frame_is_one_short_line_without_fields() -> None:
    # What an older or foreign client writes by hand must mean the same thing.
    assert encode_message(ReleaseFrame()) == b'{"kind":"release_frame"}\n'
    assert decode_message(b'{"kind": "release_frame"}') == ReleaseFrame()


def test_frames_are_bounded() -> None:
    too_many = b'{"kind": "set_frame", "leds": [' + b",".join([b"[0,0,0,0]"] * 5001) + b"]}"
    with pytest.raises(ProtocolError):
        decode_message(too_many)


def test_source_is_bounded() -> None:
    msg = Check(request_id="r", source="x" * (64 * 1024))
    assert decode_message(encode_message(msg)) == msg
    with pytest.raises(ProtocolError):
        decode_message(encode_message(msg).replace(b'"x', b'"xx', 1))


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "check", "request_id": "r"},
        {"kind": "run", "submission_id": "s", "time_limit_s": 45},
        {"kind": "preview", "request_id": "r"},
    ],
)
def test_a_program_arrives_without_its_byte_order_mark(fields: dict[str, object]) -> None:
    """A source saved as "UTF-8 with BOM" reaches the compiler as python3 would read it: one
    leading U+FEFF dropped by whichever side reads the message (a second one is the program's)."""
    line = json.dumps({**fields, "source": "\ufeffprint(1)\n"}).encode() + b"\n"
    msg = decode_message(line)
    assert isinstance(msg, Check | Run | Preview) and msg.source == "print(1)\n"
    twice = decode_message(line.replace(b"\\ufeff", b"\\ufeff\\ufeff"))
    assert isinstance(twice, Check | Run | Preview) and twice.source == "\ufeffprint(1)\n"


def test_default_limit_fits_the_largest_legal_messages() -> None:
    frame = SetFrame(leds=[[255, 255, 255, 100]] * 5000)
    source = Run(submission_id="s", source="\U0001f384" * (64 * 1024), time_limit_s=45)
    assert len(encode_message(frame)) < MAX_MESSAGE_BYTES
    assert len(encode_message(source)) < MAX_MESSAGE_BYTES


@given(st.binary(max_size=2000))
def test_random_bytes_only_ever_raise_protocol_error(data: bytes) -> None:
    stream = io.BytesIO(data)
    for _ in range(data.count(b"\n") + 2):
        try:
            if read_message(stream, max_bytes=512) is None:
                break
        except ProtocolError as exc:
            if exc.fatal:
                break


@given(st.sampled_from(ONE_OF_EACH), st.data())
def test_any_truncation_is_a_clean_error(msg: Message, data: st.DataObject) -> None:
    line = encode_message(msg)
    cut = data.draw(st.integers(1, len(line) - 1))
    with pytest.raises(ProtocolError):
        read_message(io.BytesIO(line[:cut]))
