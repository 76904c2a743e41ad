"""``python -m runner`` serves the tree on the socket; ``python -m runner run FILE`` runs one."""

from __future__ import annotations

import sys

USAGE = (
    "usage: python -m runner                 serve on TREE_SOCKET\n"
    "       python -m runner run FILE ...    run one program locally (see run --help)\n"
    "       python -m runner health          exit 0 when the runner on TREE_SOCKET answers"
)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the server or the local runner."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        from runner.server.main import main as serve

        return serve() or 0
    if args[0] == "run":
        from runner.cli import main as run

        return run(args[1:])
    if args[0] == "health":
        from runner.server.health import main as health

        return health(args[1:])
    if args[0] in {"-h", "--help"}:
        print(USAGE)
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
