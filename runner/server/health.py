"""``python -m runner health``: exit 0 when the runner answers a handshake and a ping on its socket.

This is the runner container's health check (compose.yaml). It speaks the ordinary protocol as a
short-lived client named ``health``: Hello → Welcome, Ping → Pong, then hangs up.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import BinaryIO, TypeVar, cast

from protocol.framing import ProtocolError, read_message, write_message
from protocol.messages import PROTOCOL_VERSION, Error, Hello, Ping, Pong, Welcome
from runner.config import RunnerConfig

# The runner may send unsolicited messages (idle, frames) before our answer; skip at most this many.
MAX_SKIPPED = 200

M = TypeVar("M")


class Unhealthy(RuntimeError):
    """The runner did not answer as a healthy runner does."""


def probe(socket_path: str, timeout_s: float = 5.0) -> Welcome:
    """Handshake and ping the runner; return its Welcome.

    Raises:
        Unhealthy: no connection, a refusal, a protocol error or no answer within ``timeout_s``.
    """
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(socket_path)
            with cast(BinaryIO, sock.makefile("rwb")) as stream:
                write_message(stream, Hello(version=PROTOCOL_VERSION, client="health"))
                welcome = _expect(stream, Welcome)
                write_message(stream, Ping())
                _expect(stream, Pong)
                return welcome
    except (OSError, ProtocolError) as exc:
        raise Unhealthy(f"{socket_path}: {exc}") from None


def _expect(stream: BinaryIO, kind: type[M]) -> M:
    for _ in range(MAX_SKIPPED):
        msg = read_message(stream)
        if msg is None:
            raise Unhealthy("the runner closed the connection")
        if isinstance(msg, Error):
            raise Unhealthy(f"the runner refused: {msg.code}: {msg.message}")
        if isinstance(msg, kind):
            return msg
    raise Unhealthy(f"no {kind.__name__} among the first {MAX_SKIPPED} messages")


def main(argv: list[str] | None = None) -> int:
    """Command line: 0 healthy, 1 unhealthy (with the reason on stderr)."""
    parser = argparse.ArgumentParser(prog="python -m runner health", description=__doc__)
    parser.add_argument("--socket", help="socket path (default: TREE_SOCKET)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    args = parser.parse_args(argv)
    path = args.socket or RunnerConfig.from_environ().socket_path
    try:
        welcome = probe(path, args.timeout)
    except Unhealthy as exc:
        print(f"runner unhealthy: {exc}", file=sys.stderr)
        return 1
    print(
        f"runner healthy: {welcome.led_count} LEDs, backend {welcome.backend}, fps {welcome.fps:g}"
    )
    for layer, state in sorted((welcome.layers or {}).items()):
        print(f"  sandbox layer {layer}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
