"""The runner's socket file: permissions, group and stale-socket handling (SPEC §5, §7)."""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import socket
import stat
from pathlib import Path

from runner.config import RunnerConfig
from runner.exc import RunnerError

logger = logging.getLogger(__name__)


def bind_socket(config: RunnerConfig) -> socket.socket:
    """Listen on ``config.socket_path`` with ``config.socket_mode`` (and group, if set).

    Raises:
        RunnerError: the path is not ours to take (another live runner, or not a socket).
    """
    path = Path(config.socket_path)
    if len(os.fsencode(path)) > 107:
        raise RunnerError(f"socket path {path} is too long for a Unix socket (max 107 bytes)")
    try:
        gid = grp.getgrnam(config.socket_group).gr_gid if config.socket_group else -1
    except KeyError:
        raise RunnerError(f"socket group {config.socket_group!r} does not exist") from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _clear_stale(path)
        # Bind under a umask so the socket never exists with looser permissions than configured.
        old = os.umask(0o777 & ~config.socket_mode)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        os.chmod(path, config.socket_mode)
        if gid != -1:
            os.chown(path, -1, gid)
        sock.listen(16)
    except OSError as exc:
        sock.close()
        raise RunnerError(f"cannot listen on {path}: {exc}") from exc
    except BaseException:
        sock.close()
        raise
    return sock


def _clear_stale(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise RunnerError(f"{path} exists and is not a socket; refusing to replace it")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            logger.info("removing stale socket %s", path)
            path.unlink(missing_ok=True)
            return
    raise RunnerError(f"another runner is already serving on {path}")


def remove_socket(path: str) -> None:
    """Remove the socket file if it is still a socket."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
