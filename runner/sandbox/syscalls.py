"""The sandbox child's system-call allow-list: everything else fails with EPERM.

Derived from the calls a confined child actually makes after its filter is loaded, traced with
``strace -f`` over every program in ``tests/programs``, ``runner/examples`` and ``tests/corpus``
(rt_sigaction, write, read, brk, munmap, sigaltstack, mmap, getrandom, exit_group,
clock_nanosleep, and getpid/gettid/tgkill when faulthandler re-raises a fatal signal), plus the
few that the same code paths can make under other conditions (a realloc that moves, a sleep a
signal interrupts). Each group says why it is there. Names a kernel architecture lacks are
skipped when the filter is built. No timers: the kernel's SIGKILL timer, armed before the
filter, must stay as it is (``confine.arm_kill_timer``).

Not here, so denied: opening files (the child imports everything before it confines itself),
sockets, processes and threads (fork, vfork, clone, clone3, execve), signals to anything but
itself (kill/tgkill/tkill are allowed only with the child's own pid; rt_sigqueueinfo,
rt_tgsigqueueinfo and pidfd_send_signal never), new sessions or process groups (setsid,
setpgid), SysV IPC (shmget, msgget, semget...), ptrace and process_vm_readv/writev, bpf,
perf_event_open, userfaultfd, io_uring_*, keyring calls (add_key, request_key, keyctl),
namespaces and mounts, ioctl, prctl, prlimit64, executable memory, ``madvise`` with any
advice but the allocator's, clocks of other processes (dynamic clock ids), and ``futex`` but
for private waits and wakes (``FUTEX_OPS``).
"""

from __future__ import annotations

from runner.sandbox.libseccomp import EQ, LE, LT, MASKED_EQ, Arg

# Plain calls, allowed whatever their arguments.
ALLOWED: dict[str, tuple[str, ...]] = {
    # Memory: the allocator grows and shrinks the heap; RLIMIT_AS caps the total. (madvise is
    # allowed only with the advice in MADVISE_ALLOWED.)
    "memory": ("brk", "munmap", "mremap"),
    # The two pipes to the parent (records in, ACKs out) and stderr for faulthandler's dump.
    "pipes": ("read", "write", "close"),
    # Signal handling inside the process (faulthandler, the SIGALRM backstop, Python's handlers).
    "signal handling": ("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack"),
    # time.sleep and clocks; a sleep a signal interrupts is resumed through restart_syscall.
    # (clock_gettime, clock_getres and clock_nanosleep only with a static clock: STATIC_CLOCKS.)
    "time": (
        "nanosleep",
        "gettimeofday",
        "restart_syscall",
        "getrusage",
        "times",
    ),
    # random.Random() seeds itself from the kernel.
    "randomness": ("getrandom",),
    # Harmless questions CPython asks about itself.
    "identity": ("getpid", "gettid", "getuid", "geteuid", "getgid", "getegid"),
    # Yielding. (futex only with the operations in FUTEX_OPS.)
    "locks": ("sched_yield",),
    # Ending the process.
    "exit": ("exit", "exit_group"),
}

# Calls allowed only with the child's own pid as the target (signals to itself: faulthandler
# re-raises a fatal signal with tgkill(pid, tid, sig) after dumping the traceback), and only for
# standard signals: a blocked real-time signal queues once per send, and the queue is counted
# per uid (RLIMIT_SIGPENDING), so a child could starve every process of its uid of signals and
# timers (the next child could not arm its kill timer). Name -> index of the signal argument.
SELF_ONLY = {"kill": 1, "tgkill": 2, "tkill": 1}
FIRST_RT_SIGNAL = 32

# Clock calls only with the kernel's static clock ids (REALTIME 0 ... TAI 11: the child's own
# process and thread CPU clocks are 2 and 3). A negative id is a dynamic clock, the CPU clock of
# any process by pid, which the kernel reads for anyone: the child could list every process
# around it and watch the runner's CPU (red team round six). Compared as unsigned 64-bit, so
# any negative 32-bit id is above the bound whatever the register's upper half holds.
STATIC_CLOCKS = ("clock_gettime", "clock_getres", "clock_nanosleep")
LAST_STATIC_CLOCK = 11

# Memory mappings are allowed only without PROT_EXEC: a tree program never needs new code.
NO_EXEC = ("mmap", "mprotect")
PROT_EXEC = 0x4

# madvise(addr, len, advice) only with the advice glibc's allocator and CPython give: freeing
# pages (DONTNEED, FREE), access hints, transparent huge pages, core-dump exclusion. The rest
# fail with EPERM: PAGEOUT/COLD would write the child's memory to swap on demand (the Pi's SD
# card), MERGEABLE opts into KSM deduplication (a timing side channel), REMOVE, WIPEONFORK,
# POPULATE_*... are nothing a tree program needs. The values are the kernel's generic ones,
# the same on x86_64 and arm64 (asm-generic/mman-common.h).
MADVISE_ALLOWED = {
    "MADV_NORMAL": 0,
    "MADV_RANDOM": 1,
    "MADV_SEQUENTIAL": 2,
    "MADV_WILLNEED": 3,
    "MADV_DONTNEED": 4,
    "MADV_FREE": 8,
    "MADV_HUGEPAGE": 14,
    "MADV_NOHUGEPAGE": 15,
    "MADV_DONTDUMP": 16,
}


# futex(uaddr, op, ...) only for the private waits and wakes of the C library's own locks
# (uncontended in a single-threaded process: seldom called at all). The private flag keys the
# futex by the child's own address space: without it, a futex on a page of a shared file (the
# C library every child maps) is keyed by the file, and two children waited and woke each
# other through it, a channel between the program on the tree and a dry run (red team round
# sixteen); and FUTEX_LOCK_PI looks a pid up to attach the lock to it, answering EPERM for a
# task that exists and ESRCH for a free pid: a listing of every process and thread around the
# child. Compared on the low 32 bits, the ``int`` the kernel reads.
FUTEX_PRIVATE = 128
FUTEX_CLOCK_REALTIME = 256
FUTEX_OPS = {
    "FUTEX_WAIT_PRIVATE": 0 | FUTEX_PRIVATE,
    "FUTEX_WAKE_PRIVATE": 1 | FUTEX_PRIVATE,
    "FUTEX_WAIT_BITSET_PRIVATE": 9 | FUTEX_PRIVATE,
    "FUTEX_WAKE_BITSET_PRIVATE": 10 | FUTEX_PRIVATE,
    # Timed waits against the wall clock (sem_clockwait, pthread_cond_timedwait).
    "FUTEX_WAIT_REALTIME_PRIVATE": 0 | FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME,
    "FUTEX_WAIT_BITSET_REALTIME_PRIVATE": 9 | FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME,
}
INT_MASK = 0xFFFF_FFFF


def allowed_names() -> frozenset[str]:
    """Every syscall name the filter allows in some form."""
    names = {n for group in ALLOWED.values() for n in group}
    names |= set(SELF_ONLY) | set(STATIC_CLOCKS) | set(NO_EXEC)
    return frozenset(names | {"madvise", "futex"})


def rules(pid: int) -> list[tuple[str, tuple[Arg, ...]]]:
    """The filter's rules for the child whose pid is ``pid``: (system call, comparisons that
    must all hold); a call with several rules is allowed when any one holds."""
    found: list[tuple[str, tuple[Arg, ...]]] = [
        (name, ()) for group in ALLOWED.values() for name in group
    ]
    for name, sig_arg in SELF_ONLY.items():  # own pid, standard signals only
        found.append((name, (Arg(0, EQ, pid), Arg(sig_arg, LT, FIRST_RT_SIGNAL))))
    for name in STATIC_CLOCKS:
        found.append((name, (Arg(0, LE, LAST_STATIC_CLOCK),)))
    for name in NO_EXEC:  # mmap/mprotect(addr, len, prot): PROT_EXEC clear
        found.append((name, (Arg(2, MASKED_EQ, PROT_EXEC, 0),)))
    for advice in MADVISE_ALLOWED.values():  # madvise(addr, len, advice)
        found.append(("madvise", (Arg(2, EQ, advice),)))
    for op in FUTEX_OPS.values():  # futex(uaddr, op, ...), on the low 32 bits
        found.append(("futex", (Arg(1, MASKED_EQ, INT_MASK, op),)))
    return found
