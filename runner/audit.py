"""``python -m runner.audit raw FILE``: an auditor's entry point to the OS layer.

It runs *raw* Python (plain ``compile``, real builtins, and the record channel as ``CHANNEL``)
in the fully confined sandbox child under the real supervisor, and prints what ``python -m
runner run`` prints (``--json``, ``--record`` and ``--show`` alike). It answers the question
the sandbox is built on: once the language layer has fallen, what still holds? It is a local
command only: nothing on the runner's socket or in web can select raw mode.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = "usage: python -m runner.audit raw FILE [--leds N] [--time-limit S] [--json] [--record F]"


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``raw``; exit status as ``runner run``'s (0 completed, 1 failed, 2 unreadable)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "raw":
        print(USAGE, file=sys.stderr)
        return 2
    from runner.cli import main as run

    return run(args[1:], raw=True)


if __name__ == "__main__":
    sys.exit(main())
