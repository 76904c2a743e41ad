"""Newline-delimited JSON framing over any binary stream, with a bounded line length.

A reader never buffers more than ``max_bytes + 1`` bytes for one message, so a peer cannot make
it allocate without limit. After a ProtocolError for an oversized line the stream is out of step
and the caller should drop the connection; other ProtocolErrors leave it usable.
"""

from __future__ import annotations

from typing import BinaryIO

from pydantic import ValidationError

from protocol.messages import Message, message_adapter

MAX_MESSAGE_BYTES = 1024 * 1024


class ProtocolError(ValueError):
    """A message that is malformed, oversized or of an unknown kind.

    :param code: ``bad_message`` or ``too_large``.
    :param fatal: True when the stream can no longer be trusted to be in step.
    """

    def __init__(self, message: str, *, code: str = "bad_message", fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.fatal = fatal


def encode_message(msg: Message) -> bytes:
    """Serialise one message as a single JSON line."""
    return message_adapter.dump_json(msg) + b"\n"


def decode_message(line: bytes) -> Message:
    """Parse one JSON line into a message.

    Raises:
        ProtocolError: the line is not a valid message.
    """
    try:
        return message_adapter.validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise ProtocolError(f"invalid message: {where}: {first.get('msg', 'invalid')}") from None


def write_message(stream: BinaryIO, msg: Message) -> None:
    """Write one message and flush.

    :param stream: any writable binary stream (socket file, pipe, BytesIO).
    """
    stream.write(encode_message(msg))
    stream.flush()


def read_message(stream: BinaryIO, max_bytes: int = MAX_MESSAGE_BYTES) -> Message | None:
    """Read one message; None at a clean end of stream.

    Raises:
        ProtocolError: malformed (``fatal=False``) or oversized/truncated (``fatal=True``).
    """
    line = stream.readline(max_bytes + 1)
    if not line:
        return None
    if not line.endswith(b"\n"):
        if len(line) > max_bytes:
            raise ProtocolError(
                f"message larger than {max_bytes} bytes", code="too_large", fatal=True
            )
        raise ProtocolError("stream ended in the middle of a message", fatal=True)
    return decode_message(line)
