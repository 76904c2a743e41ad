"""OS confinement of the sandbox child: the walls that hold even if the language policy fails.

``confine(limits)`` is the child's first act, before it reads the program. Layers, in order:
resource limits, a fresh network namespace, no_new_privs, Landlock (read-only access to the
Python installation and the runner package, nothing else), dropping to an unprivileged uid/gid
when started as root, and a seccomp filter denying sockets and process creation. Each layer the
kernel refuses is reported back (never skipped silently); the supervisor logs it once.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import sys
from dataclasses import asdict, dataclass, field

import landlock  # type: ignore[import-untyped]
import pyseccomp  # type: ignore[import-untyped]

CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
PR_SET_NO_NEW_PRIVS = 38
OK = "ok"

# Syscalls answered with EPERM: no sockets, no new processes, no new programs, no tampering.
DENIED_SYSCALLS = (
    "socket",
    "socketpair",
    "fork",
    "vfork",
    "clone3",  # arguments live in memory, so seccomp cannot tell a thread from a process
    "execve",
    "execveat",
    "ptrace",
    "kill",  # signalling other processes (the prestarted spare runs as the same user)
    "process_vm_writev",
    "unshare",
    "setns",
    "mount",
    "bpf",
    "perf_event_open",
    "io_uring_setup",
    "keyctl",
)


@dataclass(frozen=True)
class Limits:
    """What the parent asks the child to confine itself to (passed on the command line)."""

    memory_bytes: int
    cpu_seconds: int
    max_fds: int = 16
    uid: int | None = None  # drop to this uid/gid when running as root
    gid: int | None = None
    read_paths: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Limits:
        """Inverse of ``to_dict``."""
        values = dict(data)
        values["read_paths"] = tuple(values.get("read_paths") or ())  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def default_read_paths() -> tuple[str, ...]:
    """The Python installation(s) and the runner package: all the child may ever read."""
    package = os.path.dirname(os.path.abspath(__file__))
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, package}
    return tuple(sorted(p for p in paths if p and os.path.isdir(p)))


def confine(limits: Limits) -> dict[str, str]:
    """Apply every layer the kernel permits; return ``{layer: "ok" | why it is unavailable}``."""
    report: dict[str, str] = {}
    set_rlimits(limits)  # must work everywhere: failure raises and the child exits
    report["rlimits"] = OK
    is_root = os.geteuid() == 0
    report["netns"] = _attempt(_unshare_network) if is_root else "not root: no namespace"
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    report["no_new_privs"] = OK
    report["landlock"] = _attempt(lambda: _landlock(limits.read_paths))
    if is_root:
        _drop_privileges(limits)  # must work: RLIMIT_NPROC is ignored for root
        report["uid"] = OK
    else:
        report["uid"] = f"already unprivileged (uid {os.getuid()})"
    report["seccomp"] = _attempt(_seccomp)
    return report


def set_rlimits(limits: Limits) -> None:
    """Address space, CPU seconds (soft < hard so SIGXCPU comes first), no files, no processes."""
    cpu = max(1, int(limits.cpu_seconds))
    for name, value in (
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_FSIZE, (0, 0)),
        (resource.RLIMIT_NOFILE, (limits.max_fds, limits.max_fds)),
        (resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes)),
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        # Threads count too; the child needs none. Ignored for root, hence the uid drop.
        (resource.RLIMIT_NPROC, (0, 0)),
    ):
        resource.setrlimit(name, value)


def _attempt(layer: object) -> str:
    try:
        layer()  # type: ignore[operator]
    except (OSError, landlock.LandlockError, RuntimeError, AttributeError) as exc:
        return f"unavailable: {type(exc).__name__}: {exc}".splitlines()[0][:300]
    return OK


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> None:
    if _libc().prctl(option, value, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _unshare_network() -> None:
    """A new, empty network namespace: not even loopback is up."""
    if _libc().unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        # ctypes keeps one errno copy for every use_errno library: the landlock library reads it
        # after its own successful calls, so a stale EPERM here made Landlock look unavailable
        # (seen in the runner container, where unshare is refused).
        ctypes.set_errno(0)
        raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")


def _landlock(read_paths: tuple[str, ...]) -> None:
    """Deny every file-system access except reading under ``read_paths``."""
    ruleset = landlock.Ruleset()
    read = landlock.FSAccess.READ_FILE | landlock.FSAccess.READ_DIR
    try:
        for path in read_paths:
            ruleset.allow(path, rules=read)
        ruleset.apply()
    finally:
        os.close(ruleset._fd)  # the library keeps it open; the child has few fds to spare


def _drop_privileges(limits: Limits) -> None:
    if limits.uid is None or limits.gid is None:
        raise PermissionError("running as root but no unprivileged uid was given")
    os.setgroups([])
    os.setgid(limits.gid)
    os.setuid(limits.uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise PermissionError("could not drop root")


def _seccomp() -> None:
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    deny = pyseccomp.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        try:
            flt.add_rule(deny, name)
        except (OSError, RuntimeError, ValueError):
            continue  # a syscall this architecture does not have
    # clone() without CLONE_THREAD makes a process; threads stay possible (but NPROC=0).
    flt.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_THREAD, 0))
    flt.load()
