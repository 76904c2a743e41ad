"""Red team round 46: the child's start-up path after its own libseccomp binding and the
collector changes (``runner.sandbox.libseccomp``, ``runner.sandbox.garbage``).

Everything here runs real confined children: the filter is read back from the kernel of a
child that reported READY (``PTRACE_SECCOMP_GET_FILTER``, root only), programs run under the
real ``Supervisor`` and ``Previewer``, raw payloads under ``runner.audit``'s raw mode. See
``docs/red-team/round46-startup.md``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.config import RunnerConfig
from runner.sandbox import libseccomp, syscalls
from runner.supervise.pipes import ChildIO
from runner.supervise.spawn import CHILD_COMMAND, RAW_PRELOAD, child_limits, spawn_child
from tests.hardening.confined_runs import dry_run, tree_run
from tests.runner.test_libseccomp import pyseccomps

ROOT = Path(__file__).resolve().parents[2]
AUDIT_ARCH_X86_64 = 0xC000003E
SCMP_ARCH_AARCH64 = 0xC00000B7
X32_SYSCALL_BIT = 0x40000000
SECCOMP_RET_KILL_THREAD = 0
PTRACE_SEIZE, PTRACE_INTERRUPT, PTRACE_DETACH = 0x4206, 0x4207, 17
PTRACE_SECCOMP_GET_FILTER = 0x420C

needs_root = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="needs root: reading a non-dumpable child's filter needs CAP_SYS_PTRACE",
)


@contextlib.contextmanager
def ready_child(preload: tuple[str, ...] = (), nice: int = 0) -> Iterator[tuple[int, dict]]:
    """A real sandbox child, spawned as the Supervisor spawns it, that has reported READY and
    waits, confined, for its program: (pid, its READY report)."""
    limits = child_limits(RunnerConfig(led_count=10), preload, nice=nice)
    child = spawn_child([*CHILD_COMMAND, json.dumps(limits.to_dict())], nice=nice)
    io = ChildIO(child, time.monotonic() + 20.0)
    try:
        kind, payload = io.next_record(max_size=16384)
        assert kind == b"R", (kind, payload)
        yield child.pid, json.loads(payload)
    finally:
        io.close()


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _kernel_filters(pid: int) -> list[bytes]:
    """The BPF programs the kernel holds for ``pid``, newest first, read with ptrace."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
    assert libc.ptrace(PTRACE_SEIZE, pid, None, None) == 0, os.strerror(ctypes.get_errno())
    try:
        assert libc.ptrace(PTRACE_INTERRUPT, pid, None, None) == 0
        os.waitpid(pid, 0)  # stopped: the filter calls need a tracee that is stopped
        filters = []
        for index in range(8):
            count = libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, ctypes.c_void_p(index), None)
            if count < 0:
                assert ctypes.get_errno() == errno.ENOENT, os.strerror(ctypes.get_errno())
                break
            buf = ctypes.create_string_buffer(8 * count)
            assert libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, ctypes.c_void_p(index), buf) == count
            filters.append(buf.raw)
        return filters
    finally:
        libc.ptrace(PTRACE_DETACH, pid, None, None)


def _instructions(program: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack_from("<HBBI", program, at) for at in range(0, len(program), 8)]


# --- (1) the filter the kernel gets -------------------------------------------------------


@needs_root
@pytest.mark.parametrize("nice", [0, 19])  # a tree child, a background one (dry run, check)
def test_cant_run_under_a_filter_other_than_the_allow_list(nice: int) -> None:
    """The one filter the kernel holds for a child that said "seccomp: ok" is, byte for byte,
    what pyseccomp (the binding the child used before) builds from ``syscalls.rules`` for
    that child's pid; and every other layer it reported is in force as the kernel sees it."""
    with ready_child(nice=nice) as (pid, report):
        assert report["seccomp"] == "ok" and report["uid"] == "ok", report
        status = _status(pid)
        assert status["Seccomp"] == "2"  # SECCOMP_MODE_FILTER
        assert status["Seccomp_filters"] == "1"
        assert status["NoNewPrivs"] == "1"
        assert status["Uid"].split() == [status["Uid"].split()[0]] * 4 != ["0"] * 4
        assert status["Gid"].split()[0] != "0" and status["Groups"] == ""
        assert status["CapEff"] == status["CapPrm"] == "0000000000000000"
        filters = _kernel_filters(pid)
    assert len(filters) == 1
    assert filters[0] == pyseccomps(pid)


@needs_root
def test_cant_call_a_foreign_system_call_abi_past_the_kernels_filter() -> None:
    """The loaded filter kills a call made through another ABI: any architecture but x86_64
    (i386's int 0x80) and x86_64's x32 numbers (bit 30): libseccomp's bad-arch action."""
    if os.uname().machine != "x86_64":
        pytest.skip("x86_64's ABIs")
    with ready_child() as (pid, _):
        program = _instructions(_kernel_filters(pid)[0])

    def ret_at(index: int) -> int:
        code, _, _, k = program[index]
        assert code == 0x06, program[index]  # BPF_RET | BPF_K
        return k

    assert program[0] == (0x20, 0, 0, 4)  # load seccomp_data.arch
    code, jt, jf, k = program[1]
    assert (code, jt, k) == (0x15, 0, AUDIT_ARCH_X86_64)  # jeq x86_64, else...
    assert ret_at(2 + jf) == SECCOMP_RET_KILL_THREAD
    assert program[2] == (0x20, 0, 0, 0)  # load seccomp_data.nr
    code, jt, jf, k = program[3]
    assert (code, jt, k) == (0x35, 0, X32_SYSCALL_BIT)  # jge 0x40000000 -> next
    code, jt, jf, k = program[4]
    assert (code, jt, k) == (0x15, 0, 0xFFFFFFFF)  # only nr -1 (a tracer's skip) goes on
    assert ret_at(5 + jf) == SECCOMP_RET_KILL_THREAD


def test_cant_reach_more_on_arm64_than_the_allow_list() -> None:
    """The same binding, asked for an aarch64 filter: every allowed name is there under its
    aarch64 number, nothing else is, and a foreign architecture (arm64's 32-bit compat) is
    killed. (The child on a Pi resolves names for its native arch, as this does for aarch64.)"""
    lib = libseccomp.open_library()
    lib.seccomp_arch_add.argtypes = (ctypes.c_void_p, ctypes.c_uint32)
    lib.seccomp_arch_remove.argtypes = (ctypes.c_void_p, ctypes.c_uint32)
    lib.seccomp_arch_native.restype = ctypes.c_uint32
    lib.seccomp_export_pfc.argtypes = (ctypes.c_void_p, ctypes.c_int)
    flt = libseccomp.Filter(lib, libseccomp.errno_action(errno.EPERM))
    try:
        assert lib.seccomp_arch_add(flt._ctx, SCMP_ARCH_AARCH64) == 0
        if lib.seccomp_arch_native() != SCMP_ARCH_AARCH64:
            assert lib.seccomp_arch_remove(flt._ctx, lib.seccomp_arch_native()) == 0
        for name, args in syscalls.rules(4242):
            flt.add_rule(libseccomp.ALLOW, name, *args)  # none refused: arm64 has them all
        read_end, write_end = os.pipe()
        assert lib.seccomp_export_pfc(flt._ctx, write_end) == 0
        os.close(write_end)
        with os.fdopen(read_end) as pfc_file:
            pfc = pfc_file.read()
    finally:
        flt.close()
    arches = re.findall(r"# filter for arch (\w+)", pfc)
    assert arches == ["aarch64"]
    found = dict(re.findall(r'# filter for syscall "(\w+)" \((\d+)\)', pfc))
    assert set(found) == syscalls.allowed_names()
    resolve = lib.seccomp_syscall_resolve_name_arch
    for name, number in found.items():
        assert int(number) == resolve(SCMP_ARCH_AARCH64, name.encode()) >= 0, name
    assert pfc.split("# invalid architecture action")[1].split()[:2] == ["action", "KILL;"]


@needs_root
@pytest.mark.parametrize("preload", [(), RAW_PRELOAD])
def test_cant_inherit_a_file_or_executable_memory_into_the_confined_child(
    preload: tuple[str, ...],
) -> None:
    """With the collector off through the imports (their garbage frozen, never collected),
    nothing they opened stays open past confinement, which Landlock would not close: the
    child holds its four pipes and stderr only. Its libseccomp is the system's, and it has no
    writable or anonymous executable mapping (libffi's closures) a payload could fill."""
    with ready_child(preload) as (pid, _):
        fd_dir = f"/proc/{pid}/fd"
        fds = {int(fd): os.readlink(f"{fd_dir}/{fd}") for fd in os.listdir(fd_dir)}
        maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    # records in and out, stderr (fd 1 a copy of it), the log pipe (its number is the parent's)
    assert sorted(fds)[:4] == [0, 1, 2, 3] and len(fds) == 5, fds
    assert all(target.startswith("pipe:") for target in fds.values()), fds
    libraries = {line.split()[-1] for line in maps if "libseccomp" in line}
    assert len(libraries) == 1
    assert re.fullmatch(
        r"/(usr/)?lib(64)?/(\w+-linux-gnu/)?libseccomp\.so\.2[.\d]*", libraries.pop()
    )
    executable = [line.split() for line in maps if "x" in line.split()[1]]
    assert not [m for m in executable if "w" in m[1]], executable
    assert not [m for m in executable if len(m) < 6 and m[-1] != "[vsyscall]"], executable


# --- (2) the collector ---------------------------------------------------------------------

# A suspended generator in a reference cycle: its ``finally`` is the program's code, run only by
# a collection (round eight's crasher ran it inside a C function, at an allocation).
CYCLE = """
import time
events = []
step = [0]

def g(box, i):
    try:
        yield
    finally:
        events.append((i, step[0]))

def make(i):
    box = []
    it = g(box, i)
    next(it)
    box.append(it)
    return box
"""


def test_cant_have_cyclic_garbage_collected_at_an_allocation() -> None:
    """A program's cycles are finalized at its setLEDs and time.sleep calls, never at one of
    the thousands of allocations in between (the collector stays off after ``hand_over``)."""
    program = CYCLE + (
        "make(1)\n"
        "junk = [[k] for k in range(20000)]\n"
        "junk = {k: [k] for k in range(20000)}\n"
        "print('after allocations', events)\n"
        "setLEDs([BLUE] * getLEDCount())\n"
        "print('after setLEDs', events)\n"
        "make(2)\n"
        "junk = [[k] for k in range(20000)]\n"
        "print('after more allocations', events)\n"
        "time.sleep(0)\n"
        "print('after sleep', events)\n"
    )
    result = tree_run(program, "allocations")
    assert result.reason == "ended", result.error
    assert result.log.splitlines() == [
        "after allocations []",
        "after setLEDs [(1, 0)]",
        "after more allocations [(1, 0)]",
        "after sleep [(1, 0), (2, 0)]",
    ]


def test_cant_tell_a_dry_run_from_the_tree_by_when_cyclic_garbage_is_collected() -> None:
    """230 calls (young, middle and full collections; cycles promoted before they die): the
    step at which each cycle is finalized is the same on the tree and in a dry run, though the
    dry run's clock allocated differently before ``hand_over`` and during the run."""
    program = CYCLE + (
        "held = {}\n"
        "for s in range(230):\n"
        "    step[0] = s\n"
        "    held[s] = make(s)\n"
        "    gone = s - (s * 7) % 23\n"
        "    if gone in held:\n"
        "        del held[gone]\n"
        "    if s % 3 == 0:\n"
        "        setLEDs([BLUE] * getLEDCount())\n"
        "    else:\n"
        "        time.sleep(0)\n"
        "print(len(events), events)\n"
    )
    real = tree_run(program, "schedule")
    predicted = dry_run(program)
    assert real.reason == predicted.reason == "ended", (real.error, predicted.error)
    assert int(real.log.split()[0]) > 150  # young, middle and full collections all came
    assert real.log == predicted.log


RAW_COLLECTOR = "import gc\nprint(gc.isenabled(), gc.get_count())\n"


# Found by round 46: raw mode returned before ``garbage.hand_over``, so a payload ran with the
# automatic collector on and its counts not reset, unlike any program. Fixed: ``_run_raw`` hands
# over as ``_run_restricted`` does.
def test_cant_audit_a_raw_payload_under_another_collector_than_a_programs(
    tmp_path: Path,
) -> None:
    payload = tmp_path / "collector.py"
    payload.write_text(RAW_COLLECTOR)
    out = subprocess.run(
        [sys.executable, "-m", "runner.audit", "raw", str(payload), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result = json.loads(out.stdout)
    assert result["status"] == "completed", result
    # What a program finds after hand_over: collector off, everything before it frozen.
    assert result["log"].startswith("False (")
