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
from runner.sandbox.confine import LAYERS, in_force
from runner.server.socket_file import bind_socket, remove_socket
from runner.supervise.spawn import CHILD_COMMAND, probe_layers

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
    from runner.server.tree_server import RunnerServer

    config = RunnerConfig.from_environ()
    positions = load_positions(config)
    layers = check_layers(config)
    listener = bind_socket(config)
    try:
        strip = make_strip(config.backend, config.led_count, config)
    except BaseException:
        listener.close()
        remove_socket(config.socket_path)
        raise
    # Every layer in force here at start-up must be in force in each child (on a development
    # machine, the ones allowed to be missing stay allowed).
    required = {name for name, state in layers.items() if in_force(state)}
    server = RunnerServer(config, strip, positions, required_layers=required)
    server.supervisor.layers = layers
    server.listener = listener
    return server


def check_layers(
    config: RunnerConfig, child_command: Sequence[str] = CHILD_COMMAND
) -> dict[str, str]:
    """Which sandbox layers a child gets here; refuse to serve without all of them.

    Raises ``RunnerError`` naming the missing layers unless ``TREE_SANDBOX_DEV`` is set, in
    which case they are logged as a warning (``make run`` sets it on a developer's machine).
    """
    try:
        layers = probe_layers(config, child_command)
    except (RuntimeError, OSError, ValueError) as exc:
        raise RunnerError(f"the sandbox does not start here: {exc}") from None
    missing = {name: state for name, state in layers.items() if not in_force(state)}
    missing.update({name: "missing: not reported" for name in LAYERS if name not in layers})
    if not missing:
        logging.getLogger(__name__).info("sandbox layers in force: %s", ", ".join(layers))
        return layers
    described = "; ".join(f"{name} ({state})" for name, state in sorted(missing.items()))
    if config.sandbox_dev:
        logging.getLogger(__name__).warning(
            "TREE_SANDBOX_DEV is set: serving although these sandbox layers are missing: %s",
            described,
        )
        return layers
    raise RunnerError(
        f"refusing to start: these sandbox layers are missing: {described}. Run the runner as "
        "root (it drops each program to TREE_CHILD_USER) on a kernel with Landlock and seccomp, "
        "or, on a development machine only, set TREE_SANDBOX_DEV=1 (docs/security.md)"
    )
