"""Messages and framing shared by web and runner (SPEC §5). Imports nothing from either."""

from protocol.framing import MAX_MESSAGE_BYTES, ProtocolError, read_message, write_message
from protocol.messages import PROTOCOL_VERSION, Message, message_adapter

__all__ = [
    "MAX_MESSAGE_BYTES",
    "PROTOCOL_VERSION",
    "Message",
    "ProtocolError",
    "message_adapter",
    "read_message",
    "write_message",
]
