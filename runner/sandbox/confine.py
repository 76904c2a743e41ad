"""OS confinement of the sandbox child: the walls that hold even if the language policy fails.

``confine(limits)`` is the child's first act, before it reads the program. Layers, in order:
resource limits, a fresh network namespace, no_new_privs, Landlock (read-only access to the
Python installation and the runner package, nothing else), dropping to an unprivileged uid/gid
when started as root, and a seccomp filter that allows only the system calls of
``runner.sandbox.syscalls`` (built with ``runner.sandbox.libseccomp``). Each layer is reported
back (never skipped silently).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import importlib
import os
import resource
import signal
import sys
import time
from dataclasses import asdict, dataclass, field

import landlock  # type: ignore[import-untyped]

from runner.sandbox import libseccomp, syscalls

CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
OK = "ok"
LAYERS = ("rlimits", "netns", "no_new_privs", "landlock", "uid", "seccomp")


def in_force(state: str) -> bool:
    """Whether a layer's reported state means it holds ("ok", or "ok: <why the environment
    already meets its purpose>")."""
    return state == OK or state.startswith(OK + ":")


@dataclass(frozen=True)
class Limits:
    """What the parent asks the child to confine itself to (passed on the command line)."""

    memory_bytes: int
    cpu_seconds: int
    max_fds: int = 16
    uid: int | None = None  # drop to this uid/gid when running as root
    gid: int | None = None
    read_paths: tuple[str, ...] = field(default_factory=tuple)
    preload: tuple[str, ...] = field(default_factory=tuple)  # modules to import first
    # Wall-clock seconds after which the kernel SIGKILLs the child whatever it does: the parent
    # kills it long before, unless the parent itself died (kill -9 of the runner).
    wall_limit_s: float | None = None
    nice: int = 0  # lower CPU priority (dry runs beside the tree program); 0: unchanged
    # Raise the child's OOM score (up to 1000: the kernel's OOM killer takes it first): dry runs
    # and checks, so memory pressure ends someone's preview, never the program on the tree.
    oom_score_adj: int = 0

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Limits:
        """Inverse of ``to_dict``."""
        values = dict(data)
        values["read_paths"] = tuple(values.get("read_paths") or ())  # type: ignore[arg-type]
        values["preload"] = tuple(values.get("preload") or ())  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def default_read_paths() -> tuple[str, ...]:
    """The Python installation(s) and the runner package: all the child may ever read."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # runner/
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, package}
    return tuple(sorted(p for p in paths if p and os.path.isdir(p)))


def confine(limits: Limits) -> dict[str, str]:
    """Apply every layer the kernel permits; return ``{layer: state}`` for each of ``LAYERS``.

    A state is "ok", "ok: <why the environment meets the layer's purpose>", or "missing: <why>".
    Nothing is skipped silently; the runner refuses to start with a missing layer unless the
    operator opted out (``TREE_SANDBOX_DEV``).
    """
    if limits.nice > 0:  # before seccomp, which denies setpriority
        lower_priority(limits.nice)
    if limits.oom_score_adj > 0:  # before Landlock, which closes /proc; raising needs no right
        with open("/proc/self/oom_score_adj", "w") as score:
            score.write(str(min(limits.oom_score_adj, 1000)))
    for module in limits.preload:  # once confined, the child can open no file to import
        importlib.import_module(module)
    seccomp_library = _open_libseccomp()  # likewise: opening it reads and maps a file
    report: dict[str, str] = {}
    set_rlimits(limits)  # must work everywhere: failure raises and the child exits
    report["rlimits"] = OK
    is_root = os.geteuid() == 0
    report["netns"] = _network_layer(is_root)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    report["no_new_privs"] = OK
    report["landlock"] = _attempt(lambda: _landlock(limits.read_paths))
    if is_root:
        _drop_privileges(limits)  # must work: RLIMIT_NPROC is ignored for root
        report["uid"] = OK
    else:
        report["uid"] = f"missing: not root, so programs run as the runner's own uid {os.getuid()}"
    if limits.wall_limit_s is not None:
        arm_kill_timer(limits.wall_limit_s)  # must work: it is the backstop if the runner dies
    report["seccomp"] = _attempt(lambda: _seccomp(seccomp_library))
    return report


def lower_priority(nice: int) -> None:
    """Run at niceness ``nice`` or lower priority; raising niceness needs no privilege."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, max(current, min(nice, 19)))


class _SigEvent(ctypes.Structure):
    _fields_ = [  # struct sigevent on Linux (64 bytes on x86_64 and arm64)
        ("value", ctypes.c_void_p),
        ("signo", ctypes.c_int),
        ("notify", ctypes.c_int),
        ("pad", ctypes.c_int * 12),
    ]


class _ItimerSpec(ctypes.Structure):
    _fields_ = [
        ("interval_s", ctypes.c_long),
        ("interval_ns", ctypes.c_long),
        ("value_s", ctypes.c_long),
        ("value_ns", ctypes.c_long),
    ]


def arm_kill_timer(seconds: float) -> None:
    """A POSIX timer that sends SIGKILL (which nothing can catch, block or ignore) after
    ``seconds``; armed before seccomp, which then denies every timer call, so the program can
    neither disarm nor re-arm it. Unlike ``alarm``, it needs no cooperation from the child."""
    libc = _libc()
    event = _SigEvent(None, signal.SIGKILL, 0, (ctypes.c_int * 12)())  # SIGEV_SIGNAL
    timer = ctypes.c_void_p()
    for attempt in range(5):  # EAGAIN: the kernel's per-uid signal-queue quota is momentarily full
        if libc.timer_create(time.CLOCK_MONOTONIC, ctypes.byref(event), ctypes.byref(timer)) == 0:
            break
        if ctypes.get_errno() != errno.EAGAIN or attempt == 4:
            raise OSError(ctypes.get_errno(), "timer_create failed")
        time.sleep(0.05 * (attempt + 1))
    whole = int(seconds)
    spec = _ItimerSpec(0, 0, whole, int((seconds - whole) * 1e9))
    if libc.timer_settime(timer, 0, ctypes.byref(spec), None) != 0:
        raise OSError(ctypes.get_errno(), "timer_settime failed")


def _network_layer(is_root: bool) -> str:
    """A fresh network namespace, or "ok" when the runner's own has nothing but loopback."""
    state = _attempt(_unshare_network) if is_root else "missing: not root, no namespace"
    if in_force(state):
        return state
    interfaces = _interfaces()
    if interfaces == ["lo"]:
        return "ok: the runner's network namespace has only lo (network_mode: none)"
    return state


def _interfaces() -> list[str]:
    try:
        return sorted(os.listdir("/sys/class/net"))
    except OSError:
        return []


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
    except (OSError, landlock.LandlockError, RuntimeError, AttributeError, ValueError) as exc:
        return f"missing: {type(exc).__name__}: {exc}".splitlines()[0][:300]
    finally:
        # A failed libc call leaves ctypes' errno set; the landlock library reads errno after
        # its own successful calls and would report a stale failure (seen in the container,
        # where unshare fails without CAP_SYS_ADMIN).
        ctypes.set_errno(0)
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


def _seccomp(lib: ctypes.CDLL | OSError) -> None:
    """Default deny (EPERM); allow only ``syscalls.rules``, some with their arguments pinned.
    Other architectures' system-call ABIs (i386, x32) kill the process (libseccomp's default
    for a foreign architecture)."""
    if isinstance(lib, OSError):
        raise lib
    flt = libseccomp.Filter(lib, libseccomp.errno_action(errno.EPERM))
    try:
        for name, args in syscalls.rules(os.getpid()):
            # A system call this architecture does not have (alarm on arm64) cannot be added.
            with contextlib.suppress(OSError):
                flt.add_rule(libseccomp.ALLOW, name, *args)
        flt.load()
    finally:
        flt.close()


def _open_libseccomp() -> ctypes.CDLL | OSError:
    try:
        return libseccomp.open_library()
    except OSError as exc:  # reported as the seccomp layer's failure, after the others
        return exc
