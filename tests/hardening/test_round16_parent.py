"""Red team, round sixteen: the runner's parent, its confinement, and the web-runner socket.

Real parts only: a real ``RunnerServer`` on a real Unix socket with a recording
``VirtualStrip``, real confined children under the real ``Supervisor`` (raw Python, the
language layer assumed fallen, as ``python -m runner.audit raw`` runs it). Findings are marked
``xfail(strict=True)``: they fail today and must pass once fixed (then the marker comes off).
The write-up with figures and suggested fixes is ``docs/red-team/round16-parent.md``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.messages import Finished, Log, Message, Welcome
from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.server.tree_server import RunnerServer
from runner.supervise.supervisor import Supervisor
from tests.hardening.raw_children import RAW_COMMAND

LEDS = 10
SAFETY_TIMEOUT_S = 30.0


@contextlib.contextmanager
def serving(config: RunnerConfig) -> Iterator[RunnerServer]:
    """A real runner server on ``config.socket_path``, shut down after the block."""
    server = RunnerServer(config, VirtualStrip(LEDS))
    thread = threading.Thread(target=server.serve_forever, name="round16-server")
    thread.start()
    try:
        assert server.ready.wait(10), "the server did not start"
        yield server
    finally:
        server.shutdown()
        thread.join(10)


@contextlib.contextmanager
def short_dir() -> Iterator[Path]:
    """A private directory with a short path (Unix socket paths are limited to 107 bytes)."""
    path = tempfile.mkdtemp(prefix="lt16-")
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- 1. an ordinary program's prints make the runner hang up on web -----------------------------
#
# The supervisor turns every LOG record into a ``Log`` event for every client
# (``Supervisor._stream``: ``emit(Log(...))``), and a connection whose outbox holds 2,000
# messages (``OUTBOX_LIMIT``) is dropped as "not reading". Log events are capped only by the
# run's log bytes: ``print()`` writes one byte, so a run may send 16,384 of them (the default
# 16 KiB log) within a fraction of a second; frames are capped at the view rate, logs are not.
# web's own ``RunnerClient`` (its reader thread, here with a listener that only counts) was
# dropped in 4 of 6 such runs, after 176 to 12,303 Log events; a bare socket reader doing
# nothing but ``read_message`` in 2 of 3. web then takes the runner as gone: the run in
# progress ends failed/runner_lost (``web/runner_events.py``: ``on_runner_offline``), its log
# is lost, and every live view drops with it. No escape needed: an ordinary program. The race
# is lost in most runs, not all, so the test runs the program up to twenty times.
PRINT_FLOOD = "for i in range(20000):\n    print()\n"
TRIES = 20


class RecordingListener:
    """What web's runner client handed on (a real class that records, not a mock)."""

    def __init__(self) -> None:
        self.online = threading.Event()
        self.offline = threading.Event()
        self.finished: list[Finished] = []
        self.logs = 0

    def on_runner_online(self, welcome: Welcome) -> None:
        self.online.set()

    def on_runner_offline(self) -> None:
        self.offline.set()

    def on_runner_message(self, msg: Message) -> None:
        if isinstance(msg, Log):
            self.logs += 1
        elif isinstance(msg, Finished):
            self.finished.append(msg)


def print_flood_through_web(server: RunnerServer, config: RunnerConfig, name: str) -> str:
    """Run ``PRINT_FLOOD`` through web's real ``RunnerClient``; how it ended for web."""
    from web.runner_client import RunnerClient

    listener = RecordingListener()
    client = RunnerClient(config.socket_path, listener)
    client.start()
    try:
        assert listener.online.wait(10), "web's client did not connect"
        client.run(name, PRINT_FLOOD, 10.0)
        deadline = time.monotonic() + SAFETY_TIMEOUT_S
        while not (listener.finished or listener.offline.is_set()):
            assert time.monotonic() < deadline, "no result and no hang-up"
            time.sleep(0.01)
    finally:
        client.close()
    while server.supervisor.busy:  # the run goes on without web: wait for it to end
        time.sleep(0.05)
    time.sleep(0.2)  # and for the server to take it as ended
    if listener.offline.is_set() and not listener.finished:
        return f"the runner hung up on web after {listener.logs} Log events"
    assert listener.logs > 0, "the program printed nothing: the test proves nothing"
    (finished,) = listener.finished
    return f"{finished.status}/{finished.reason}"


@pytest.mark.slow
def test_a_program_cant_make_the_runner_hang_up_on_web_by_printing() -> None:
    with short_dir() as where:
        config = RunnerConfig(
            socket_path=str(where / "runner.sock"), led_count=LEDS, time_limit_s=10
        )
        with serving(config) as server:
            for attempt in range(TRIES):
                ended = print_flood_through_web(server, config, f"printer-{attempt}")
                assert ended == "completed/ended", f"run {attempt + 1}: {ended}"


# --- 2. futex(FUTEX_LOCK_PI) tells a child which pids and tids exist ---------------------------
#
# ``futex`` is allowed with any operation (``syscalls.ALLOWED["locks"]``). ``FUTEX_LOCK_PI``
# on the child's own private word, holding a pid, makes the kernel look that task up to attach
# to it as the lock's owner: an existing task answers EPERM (a kernel thread, or, on this
# kernel, a user process), a free pid ESRCH, whatever its uid. So a confined child lists every
# process and thread around it, in its pid namespace: the runner's pid and its threads (one
# per connection, dry run and check), the other children, and in compose everything in the
# runner's container. Round six closed the same listing through dynamic clock ids
# (``STATIC_CLOCKS``); this is another door to it. Found: the runner's pid and a runner thread
# EPERM, a free pid ESRCH, 3 of 3 runs.
FUTEX_PROBE = """
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_FUTEX = {nr}
FUTEX_LOCK_PI_PRIVATE = 6 | 128


def probe(pid):
    word = ctypes.c_uint32(pid)
    at_once = (ctypes.c_long * 2)(0, 0)  # an absolute time long past: never waits
    ctypes.set_errno(0)
    result = libc.syscall(
        SYS_FUTEX, ctypes.byref(word), FUTEX_LOCK_PI_PRIVATE, 0, ctypes.byref(at_once), 0, 0
    )
    return "ok" if result == 0 else errno.errorcode.get(ctypes.get_errno(), "?")


print("runner", probe({runner}), "thread", probe({thread}), "free", probe({free}))
"""
SYS_FUTEX = {"x86_64": 202, "aarch64": 98, "armv7l": 240, "armv6l": 240}


def free_pid() -> int:
    """A pid no process or thread has now (from the top of the pid range down)."""
    top = int(Path("/proc/sys/kernel/pid_max").read_text())
    return next(pid for pid in range(top - 1, 300, -1) if not Path(f"/proc/{pid}").exists())


def test_a_child_cant_tell_which_processes_exist() -> None:
    machine = os.uname().machine
    if machine not in SYS_FUTEX:
        pytest.fail(f"no futex syscall number known for {machine}")
    done = threading.Event()
    helper = threading.Thread(target=done.wait, name="round16-helper")  # a thread of ours
    helper.start()
    try:
        assert helper.native_id is not None
        source = FUTEX_PROBE.format(
            nr=SYS_FUTEX[machine], runner=os.getpid(), thread=helper.native_id, free=free_pid()
        )
        config = RunnerConfig(led_count=LEDS, time_limit_s=5.0)
        with (
            VirtualStrip(LEDS) as strip,
            Supervisor(config, strip, spiral_cone(LEDS), raw=True) as tree,
        ):
            result = tree.run("round16", source)
    finally:
        done.set()
        helper.join()
    assert (result.status, result.reason) == ("completed", "ended"), result
    words = result.log.split()
    answers = dict(zip(words[0::2], words[1::2], strict=True))
    assert set(answers) == {"runner", "thread", "free"}, result.log
    # A pid that exists must look exactly like one that does not.
    assert answers["runner"] == answers["free"], answers
    assert answers["thread"] == answers["free"], answers


# --- 3. two sandbox children talk through a futex on a page of libc they both map --------------
#
# ``futex`` is allowed with any operation and without ``FUTEX_PRIVATE_FLAG``. A shared futex on
# a file-backed page is keyed by the file and the page, not by the process: every child maps
# the same libc, so ``FUTEX_WAIT`` on the address of ``getpid`` in one child is woken by
# ``FUTEX_WAKE`` on the same function in another, whose answer (1) also says a waiter was
# there. The program on the tree and a dry run (or check) of another upload, both confined
# and with no IPC left to them (no pipes between them, no SysV or POSIX IPC, no sockets, no
# signals to others), have a channel after all. Found: the tree child's wait returned 0 (woken)
# 1.5 s in, when the dry-run child's wake answered 1, 3 of 3 runs.
FUTEX_SHARED = """
import ctypes
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_FUTEX = {nr}
FUTEX_WAIT, FUTEX_WAKE = 0, 1  # shared: no FUTEX_PRIVATE_FLAG
word = ctypes.cast(libc.getpid, ctypes.c_void_p).value  # libc's code: one file page for all
"""
FUTEX_WAITER = (
    FUTEX_SHARED
    + """
value = ctypes.c_uint32.from_address(word).value
up_to = (ctypes.c_long * 2)(10, 0)
woken = libc.syscall(SYS_FUTEX, ctypes.c_void_p(word), FUTEX_WAIT, value, ctypes.byref(up_to), 0, 0)
print("waiter", "woken" if woken == 0 else "not-woken")
"""
)
FUTEX_WAKER = (
    FUTEX_SHARED
    + """
# Busy, not sleeping between tries: a dry-run child asleep more than 2 s is ended (red team
# round thirty-five); 2.5 s of tries stay within its 3 s CPU budget.
woke, until = 0, time.monotonic() + 2.5
while woke <= 0 and time.monotonic() < until:
    woke = libc.syscall(SYS_FUTEX, ctypes.c_void_p(word), FUTEX_WAKE, 1, None, 0, 0)
print("waker", max(0, woke))
"""
)


@pytest.mark.slow
def test_two_sandbox_children_cant_signal_each_other_through_a_futex() -> None:

    from runner.supervise.preview import Previewer

    machine = os.uname().machine
    if machine not in SYS_FUTEX:
        pytest.fail(f"no futex syscall number known for {machine}")
    nr = SYS_FUTEX[machine]
    config = RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=15.0, preview_cpu_s=3)
    on_tree: list[str] = []

    def tree_run() -> None:
        with (
            VirtualStrip(LEDS) as strip,
            Supervisor(config, strip, spiral_cone(LEDS), raw=True) as tree,
        ):
            on_tree.append(tree.run("waiter", FUTEX_WAITER.format(nr=nr)).log)

    tree = threading.Thread(target=tree_run, name="round16-tree")
    tree.start()
    try:
        command = RAW_COMMAND
        previewer = Previewer(config, spiral_cone(LEDS), child_command=command)
        try:
            dry = previewer.preview(FUTEX_WAKER.format(nr=nr))  # a dry run beside the tree
        finally:
            previewer.close()
    finally:
        tree.join(60)
    assert on_tree and "waiter" in on_tree[0], on_tree
    assert "waker" in dry.log, dry
    assert "waiter woken" not in on_tree[0], (on_tree[0], dry.log)
    assert "waker 0" in dry.log, (on_tree[0], dry.log)
