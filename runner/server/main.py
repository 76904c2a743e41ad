"""``python -m runner``'s entry point: settings, socket and LEDs, then serve until a signal.

``python -m runner`` calls ``main`` (see ``runner.__main__``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from runner.config import RunnerConfig
from runner.exc import RunnerError
from runner.leds.virtual import VirtualStrip
from runner.server.socket_file import bind_socket, remove_socket

if TYPE_CHECKING:
    from runner.server.tree_server import RunnerServer


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; exit 0 after blanking the LEDs, 2 on a setup error."""
    logging.basicConfig(
        level=os.environ.get("TREE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        server = _open_server()
    except (RunnerError, ValueError) as exc:  # LayoutError is a ValueError
        print(f"runner: {exc}", file=sys.stderr)
        return 2

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        server.request_stop()  # no logging here: a handler may interrupt a logging call

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.serve_forever()
    finally:
        dump = os.environ.get("TREE_VIRTUAL_DUMP")
        if dump and isinstance(server.strip, VirtualStrip):
            server.strip.dump(dump)
    return 0


def _open_server() -> RunnerServer:
    """Settings, layout, then the socket, and only then the LEDs.

    The socket comes first so a second runner started by mistake gives up before it touches
    (and blanks) the LEDs the first one is driving.
    """
    from runner.leds import make_strip
    from runner.leds.layout import load_positions
    from runner.server.tree_server import (
        RunnerServer,
    )  # here: runner.server.tree_server re-exports main from this module

    config = RunnerConfig.from_environ()
    positions = load_positions(config)
    listener = bind_socket(config)
    try:
        strip = make_strip(config.backend, config.led_count, config)
    except BaseException:
        listener.close()
        remove_socket(config.socket_path)
        raise
    server = RunnerServer(config, strip, positions)
    server.listener = listener
    return server
