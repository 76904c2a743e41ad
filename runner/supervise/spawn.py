"""Starting and discarding the sandbox child processes the Supervisor runs programs in.

Each child is a fresh interpreter (never a fork of the LED-holding runner) with an empty
environment in its own process group; its confinement is passed as JSON on its command line,
then the number of the fd it writes its program's printed text to: a pipe of its own, whose
read end the parent keeps (``Child.log_fd``; see ``runner.sandbox.program_log``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import signal
import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from runner.config import RunnerConfig
from runner.sandbox.confine import LAYERS, Limits, default_read_paths, in_force

# -I: no PYTHON* variables, no user site, no current directory on sys.path; -B: write no .pyc.
CHILD_COMMAND = (sys.executable, "-I", "-B", "-m", "runner.sandbox.child")


# The niceness of children that run beside the tree program (dry runs, upload checks): the tree
# program's frame rate comes first.
BACKGROUND_NICE = 19
# Background children (dry runs, checks) are the OOM killer's first choice: under memory
# pressure a preview fails, the program on the tree goes on (red team round six).
BACKGROUND_OOM_SCORE = 1000

# Time a child may take to start and confine itself, before the program's own time limit starts.
STARTUP_LIMIT_S = 10.0
# A prestarted child older than this is replaced: its kernel kill timer (armed at start, see
# Limits.wall_limit_s) must leave a whole run's time after it is taken.
SPARE_MAX_AGE_S = 15.0

# What a raw (audit) child imports before it confines itself, so that payloads can use them:
# once confined, the child can open no file, so it can import nothing new.
RAW_PRELOAD = (
    "ctypes",
    "ctypes.util",
    "errno",
    "fcntl",
    "mmap",
    "resource",
    "select",
    "signal",
    "socket",
    "struct",
    "subprocess",
    "threading",
    "multiprocessing",
)


def child_limits(
    config: RunnerConfig,
    preload: tuple[str, ...] = (),
    *,
    cpu_seconds: int | None = None,
    nice: int = 0,
    wall_limit_s: float | None = None,
) -> Limits:
    """The confinement a child applies to itself, from the runner's settings (``cpu_seconds``,
    ``nice`` and ``wall_limit_s`` override the CPU limit, its priority and the kernel's kill
    timer: dry runs)."""
    uid = gid = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(config.child_user)
        except KeyError:
            raise ValueError(f"child_user {config.child_user!r} does not exist") from None
        uid, gid = user.pw_uid, user.pw_gid
    return Limits(
        memory_bytes=config.memory_limit_bytes,
        cpu_seconds=config.cpu_seconds() if cpu_seconds is None else cpu_seconds,
        uid=uid,
        gid=gid,
        read_paths=default_read_paths(),
        preload=preload,
        nice=nice,
        oom_score_adj=BACKGROUND_OOM_SCORE if nice > 0 else 0,
        wall_limit_s=(
            STARTUP_LIMIT_S + config.time_limit_s + SPARE_MAX_AGE_S + 5.0
            if wall_limit_s is None
            else wall_limit_s
        ),
    )


# The log pipe holds a whole log and more (``protocol.limits.MAX_LOG_CHARS`` is the most any
# run keeps), so a child's write of its printed text never waits for the parent to read.
LOG_PIPE = 1 << 18


@dataclass(frozen=True)
class Child:
    """A spawned sandbox child: its process (records on stdin/stdout, faulthandler's dumps on
    stderr) and the read end of its log pipe."""

    proc: subprocess.Popen[bytes]
    log_fd: int
    log_capacity: int  # bytes the log pipe holds (F_GETPIPE_SZ)

    @property
    def pid(self) -> int:
        """The child's pid."""
        return self.proc.pid

    def log_room(self) -> int:
        """The biggest log whose every write fits the pipe at once, however it is cut into
        prints: the kernel starts a write on a fresh page unless it fits the last one, so a
        page may hold as little as half a page and a byte."""
        return max(0, self.log_capacity // 2 - 1)


def spawn_child(command: Sequence[str], nice: int = 0) -> Child:
    """A fresh interpreter (never a fork of this LED-holding process), empty env, own group;
    ``nice`` > 0 lowers its priority at once (the child lowers it again before confining
    itself, from its limits), not only once it has imported everything. The number of the
    log pipe's write end is its last argument."""
    log_r, log_w = os.pipe2(os.O_CLOEXEC)
    # Refused over the account's pipe quota (``fs.pipe-user-pages-soft``, 64 MiB of pipes per
    # uid, root's shared with the whole host unless it has CAP_SYS_RESOURCE): the pipe keeps its
    # 64 KiB, or gets 8 KiB past the quota, and the run's log is capped at what it holds
    # (``Child.log_room``), so a print never waits for the parent (red team round twenty-eight).
    with contextlib.suppress(OSError):
        fcntl.fcntl(log_r, fcntl.F_SETPIPE_SZ, LOG_PIPE)
    try:
        capacity = fcntl.fcntl(log_r, fcntl.F_GETPIPE_SZ)
    except OSError:
        capacity = 0
    try:
        proc = subprocess.Popen(
            [*command, str(log_w)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={},
            cwd="/",
            close_fds=True,
            pass_fds=(log_w,),
            process_group=0,
        )
    except BaseException:
        os.close(log_r)
        raise
    finally:
        os.close(log_w)  # the child's now: EOF on the read end once it is gone
    if nice > 0:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, proc.pid, nice)
    return Child(proc, log_r, capacity)


def discard_child(child: Child) -> None:
    """Kill and reap a child that never ran a program, and close its pipes."""
    proc = child.proc
    if proc.returncode is None:  # once reaped, its pid may belong to someone else
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    os.close(child.log_fd)


def probe_layers(
    config: RunnerConfig, child_command: Sequence[str] = CHILD_COMMAND
) -> dict[str, str]:
    """Start one confined child, read which sandbox layers it reports, and discard it."""
    import json
    import time

    from runner.sandbox.wire import READY
    from runner.supervise.pipes import ChildIO, ChildProtocolError

    limits = json.dumps(child_limits(config).to_dict())
    io = ChildIO(spawn_child([*child_command, limits]), time.monotonic() + 30.0)
    try:
        kind, payload = io.next_record(max_size=16384)
    except ChildProtocolError as exc:
        raise RuntimeError(f"the sandbox child broke its protocol: {exc}") from None
    finally:
        exit = io.close()
    if kind != READY:
        tail = exit.stderr_tail.decode("utf-8", "replace")[-2000:]
        raise RuntimeError(f"the sandbox child did not start (status {exit.returncode}): {tail}")
    report = json.loads(payload)
    return {str(k): str(v) for k, v in report.items()}


# Only root can drop a child to another uid or (without user namespaces) give it a network
# namespace of its own; an ordinary account can apply the other four.
ROOT_ONLY_LAYERS = frozenset({"uid", "netns"})


def required_layers(config: RunnerConfig) -> frozenset[str]:
    """The sandbox layers a child must report in force before it gets a program, when the
    runner's start-up check did not say (tests, tools): every one (every one an ordinary
    account can apply, when not run as root), or on a development machine
    (``TREE_SANDBOX_DEV``) none beyond what the child itself insists on. The server passes what
    its start-up check found in force (``runner.server.main``), and that check refuses to
    start without all six unless ``TREE_SANDBOX_DEV`` is set."""
    if config.sandbox_dev:
        return frozenset()
    if os.geteuid() != 0:
        return frozenset(LAYERS) - ROOT_ONLY_LAYERS
    return frozenset(LAYERS)


def confinement_failure(report: Mapping[str, object], required: Collection[str]) -> str | None:
    """Why a child whose READY said ``report`` must get no program (a required layer failed
    in this child, though it held at start-up: ENOMEM, EMFILE...), or None when it may."""
    missing = [
        f"{name} ({str(report.get(name, 'not reported'))[:200]})"
        for name in sorted(required)
        if not in_force(str(report.get(name, "")))
    ]
    if not missing:
        return None
    return "the sandbox could not confine this program: " + "; ".join(missing)
