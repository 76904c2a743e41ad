"""The parent's side of one child's pipes: exact reads, bounded waits, a pidfd kill, and the reap.

Nothing here believes the child. A record is read only when the supervisor asks for one, and
only as many bytes as that record needs (never more: the rest stays in the kernel's pipe), so at
most one record is ever held. Every wait is a ``poll`` bounded by the deadline and woken at once
by ``kill`` (a self-pipe). ``kill`` signals the process through a pidfd (its pid can never be
reused while we hold it) and its process group as well; ``close`` confirms the death before it
reaps.

The child's stderr gets a byte budget per child (``STDERR_BUDGET``): a program can print
tracebacks there without end (every dropped generator whose ``finally`` raises prints one), and
reading them costs this process, at nice 0, beside the tree. Past the budget the parent keeps
the head and the tail it read, and closes its read end: the child's next write fails with EPIPE,
which costs the parent nothing. The reads are paced as well as the bytes: after a read, stderr
rests ``STDERR_REST_S`` before the parent listens to it again. The stderr pipe is made big
enough (``STDERR_PIPE``) to hold a whole budget and more, so no write of a child that stays within
its budget ever waits out a rest: whether the parent happened to be resting no program can time.

The program's printed text comes on a pipe of its own (``runner.sandbox.program_log``), read the
same way: at most a log's budget of bytes (then the read end is closed), a read at most every
``LOG_REST_S``, so a program printing a byte at a time wakes the runner no more than 20 times a
second. The pipe holds more than a whole log, so no write of the child ever waits for a read,
and what the child wrote stays in the pipe when it dies: ``drain_log`` and ``close`` read it
all, so a deadline, a Stop or a crash loses no line printed before it.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import logging
import os
import select
import signal
import termios
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from runner.sandbox.wire import HEADER, PROGRAM_FILENAME
from runner.supervise.spawn import Child

logger = logging.getLogger(__name__)

STDERR_TAIL = 16384  # holds a whole faulthandler dump (at most 100 frames)
STDERR_HEAD = 4096  # what the child said first (a start-up failure), kept for the log
STDERR_BUDGET = 1 << 16  # bytes of stderr read per child; then the read end is closed
# After a small read of stderr the parent leaves it alone this long (what comes meanwhile waits
# in the pipe, 64 KiB): the budget counts bytes, and a child writing one byte at a time would
# otherwise wake the runner once per byte (red team round twenty: 65,536 wake-ups, 1-2 s of the
# runner's CPU per run). At most about 40 such wake-ups a second come from stderr now. A read of
# STDERR_BULK bytes or more rests not: the budget allows only 16 of them, and a program whose
# burst fills the pipe must not wait out a rest on the tree that a dry run's clock never sees
# (red team round twenty-one: a 50 ms stall told the two apart).
STDERR_REST_S = 0.05
STDERR_BULK = 4096
# The kernel's default pipe holds 64 KiB, one budget: a burst of tracebacks written while the
# parent rested filled it, and the child's write waited out the rest, 50 ms on the tree in one
# run of eight and in a dry run in another (a flaky tell). Four budgets: the budget runs out, and
# the read end closes, before any write of the child can wait.
STDERR_PIPE = 4 * STDERR_BUDGET
# The log is read at most this often while the child runs (and all of it once it is gone): 20
# wake-ups a second, whatever the program prints (red team round twenty).
LOG_REST_S = 0.05
MAX_PENDING_WRITE = 1 << 20  # a child that stops reading gets no more than this queued
# A record comes whole: a child writes each with one write, atomic up to PIPE_BUF (4 KiB), so
# the runner never waits in the middle of one unless a big record is still being copied in. One
# trickled a byte at a time cost the runner a wake-up and a read per byte (red team round
# twenty-nine: 0.4-2.6 s of its CPU per run); so did records each within a per-record allowance,
# header bytes uncounted, 3,602 of them in a dry run (round thirty-five: 1.1 s). So a run may
# wait mid-record 8 times, and once more per this many bytes of the records announced so far;
# one wait more is a protocol break.
RECORD_READ_BYTES = 2048
RECORD_WAITS = 8
_warned_small_pipe = False  # a log pipe too small for the configured log was reported
DEATH_WAIT_S = 5.0
_USER_FRAME = PROGRAM_FILENAME.encode()
# What CPython's fatal errors say when an allocation fails ("Cannot recover from MemoryErrors
# while normalizing exceptions", "...: out of memory", "Cannot allocate memory").
_MEMORY_WORDS = (b"MemoryError", b"out of memory", b"Cannot allocate")


def _grow_pipe(fd: int, size: int) -> None:
    """Make the pipe hold ``size`` bytes. Unprivileged accounts may do so up to
    ``/proc/sys/fs/pipe-max-size`` (1 MiB by default); an account over its total of pipe pages
    is refused (EPERM), and the pipe keeps its 64 KiB: rests can then be timed again, nothing
    worse."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)


class ChildProtocolError(Exception):
    """The child wrote something that is not a well-formed record."""


@dataclass(frozen=True)
class Exit:
    """How the child process ended."""

    returncode: int  # negative: killed by that signal
    cpu_s: float
    stderr_tail: bytes = b""

    def crash_line(self) -> int | None:
        """The user's line the child was on when a signal killed it (from faulthandler)."""
        dump = self.stderr_tail.rpartition(b"(most recent call first):")[2]
        marker = b'File "' + _USER_FRAME + b'", line '
        start = dump.find(marker)
        if start < 0:
            return None
        digits = dump[start + len(marker) :][:12].split(maxsplit=1)[0:1]
        # The child wrote this: at most 9 digits (a line number), never a 5,000-digit int().
        if digits and digits[0].isdigit() and len(digits[0]) <= 9:
            return int(digits[0])
        return None

    def out_of_memory(self) -> bool:
        """Whether the interpreter aborted for want of memory: killed by SIGABRT after a fatal
        error about memory (a C-level allocation failure it could not raise as ``MemoryError``).

        A program's own words reach stderr too (Python prints a dropped generator's error
        there, message and all), so the words alone decide nothing: a crash by any other signal
        (a C stack overflow's SIGSEGV) is never called out of memory, whatever stderr says (red
        team round eighteen). Only a line the interpreter starts, ``Fatal Python error:``, is
        read, and only for an abort, which no ordinary program can cause."""
        if self.returncode != -signal.SIGABRT:
            return False
        return any(
            line.startswith(b"Fatal Python error:") and any(word in line for word in _MEMORY_WORDS)
            for line in self.stderr_tail.splitlines()
        )


class ChildIO:
    """Pipes to one child, with its deadline; ``kill`` is thread-safe and wakes any wait."""

    def __init__(self, child: Child, deadline: float) -> None:
        proc = child.proc
        assert proc.stdin and proc.stdout and proc.stderr
        self._proc = proc
        self.deadline = deadline
        self._in, self._out, self._err = proc.stdin, proc.stdout, proc.stderr
        for stream in (self._in, self._out, self._err):
            os.set_blocking(stream.fileno(), False)
        _grow_pipe(self._err.fileno(), STDERR_PIPE)
        self._log = child.log_fd
        os.set_blocking(self._log, False)
        self.log_room = child.log_room()  # the biggest log the pipe holds whole
        self.log_budget = 0  # bytes of log read at most (``watch_log``); none until then
        self.log_read = 0
        self.log_cut = False  # the child wrote more than the budget: the read end was closed
        self._log_open = True
        self._log_new = bytearray()  # read, not yet taken
        self._log_wakes = False
        self._log_rest_until = 0.0
        self._pidfd = os.pidfd_open(proc.pid)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._header = bytearray()
        self._payload = bytearray()
        self._want: int | None = None  # payload size of the record being read
        self._waits = 0  # times the run's records were waited for with one partly read
        self._wait_allowance = RECORD_WAITS
        self._kind = b""
        self._outbuf = bytearray()
        self.stderr_head = b""
        self.stderr_tail = b""
        self.stderr_read = 0  # bytes of stderr read so far, at most STDERR_BUDGET
        self.stderr_cut = False
        self._stderr_rest_until = 0.0  # monotonic: stderr is not listened to before then
        self.eof = False
        self._err_open = True
        self.timed_out = False
        self.killed = False
        self._lock = threading.Lock()
        self._reaped = False

    @property
    def pid(self) -> int:
        """The child's pid (also its process group id, unless it managed to leave it)."""
        return self._proc.pid

    def kill(self) -> None:
        """SIGKILL the child through its pidfd and its process group; wake any wait."""
        with self._lock:
            if self._reaped:
                return
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._wake_w, b"k")

    def watch_log(self, limit: int, wake: bool = False) -> None:
        """Read the child's log pipe while waiting, up to ``limit`` bytes and the byte that
        marks the cut; ``wake``: ``next_record`` and ``sleep_until`` return when text
        arrives."""
        self.log_budget = limit + 1
        self._log_wakes = wake

    def fit_log(self, limit: int) -> int:
        """The run's log limit: ``limit``, or less when the log pipe cannot hold that much whole
        (the account's pipe quota refused to grow it; said once in the runner's log)."""
        if limit <= self.log_room:
            return limit
        global _warned_small_pipe
        if not _warned_small_pipe:
            _warned_small_pipe = True
            logger.warning(
                "a sandbox child's log pipe holds only %d bytes (the pipe quota of this "
                "account, fs.pipe-user-pages-soft, is spent): run logs are cut at %d bytes "
                "instead of %d",
                self.log_room * 2 + 2,
                self.log_room,
                limit,
            )
        return self.log_room

    def take_log(self) -> bytes:
        """The printed text read since the last call."""
        data = bytes(self._log_new)
        self._log_new.clear()
        return data

    def drain_log(self) -> None:
        """Read what the log pipe holds now, without waiting or resting (the end of a run)."""
        for _ in range(64):  # bounded by the budget; the loop only in case of a short read
            if not self._log_open or self.log_budget <= 0:
                return
            before = self.log_read
            if not self._read_log() or self.log_read == before:
                return

    def expired(self, now: float) -> bool:
        """Whether the deadline has passed (and if so, the child is killed)."""
        if now >= self.deadline:
            if not self.timed_out:
                self.timed_out = True
                self.kill()
            return True
        return False

    def send(self, kind: bytes, payload: bytes) -> None:
        """Queue one record for the child (written as the pipe accepts it)."""
        self.send_raw(HEADER.pack(kind, len(payload)) + payload)

    def send_raw(self, data: bytes) -> None:
        """Queue raw bytes for the child and write what the pipe takes now (never reads)."""
        if len(self._outbuf) + len(data) > MAX_PENDING_WRITE:
            return  # the child stopped reading: what it misses is its own loss
        self._outbuf += data
        self._write()

    def next_record(
        self, max_size: int | Mapping[bytes, int], wake_at: float | None = None
    ) -> tuple[bytes | None, bytes]:
        """The next record, or ``(None, b"")`` at EOF, at ``wake_at``, at the deadline or kill.

        Reads exactly the bytes of one record. ``max_size`` bounds every record, or each kind
        (then any other kind is refused at its header). Raises ``ChildProtocolError`` for a header
        announcing more than allowed.
        """
        while True:
            if self._read_some(max_size):
                kind, payload = self._kind, bytes(self._payload)
                self._header.clear()
                self._payload.clear()
                self._want = None
                return kind, payload
            if self.eof or self.killed or (self._log_wakes and self._log_new):
                return None, b""
            now = time.monotonic()
            if self.expired(now) or (wake_at is not None and now >= wake_at):
                return None, b""
            self._wait(min(self.deadline, wake_at or self.deadline) - now, read=True)

    def sleep_until(self, when: float) -> None:
        """Wait until ``when`` (or the deadline, or a kill) while draining stderr; returns
        early with printed text to pass on (``watch_log``'s ``wake``)."""
        while not self.killed and (now := time.monotonic()) < when:
            if self.expired(now) or (self._log_wakes and self._log_new):
                return
            self._wait(min(when, self.deadline) - now, read=False)

    def backlogged(self) -> bool:
        """Whether record bytes wait in the pipe: the parent is behind, and the child may be
        waiting for it to read (the parent reads every byte as it comes, partial records too,
        so a child cannot leave any there itself)."""
        try:
            waiting = array.array("i", [0])
            fcntl.ioctl(self._out.fileno(), termios.FIONREAD, waiting)
        except OSError:
            return True  # cannot tell: never call the child asleep for it
        return waiting[0] > 0

    def close(self) -> Exit:
        """Kill the child, confirm its death through the pidfd, reap it, close the pipes."""
        self.kill()
        ready = select.select([self._pidfd], [], [], DEATH_WAIT_S)[0]
        with self._lock:
            if not ready:  # not dead 5 s after SIGKILL (uninterruptible sleep): wait4 blocks
                os.write(2, f"sandbox child {self.pid} not dead after SIGKILL\n".encode())
            _, status, usage = os.wait4(self._proc.pid, 0)
            self._reaped = True
        self._proc.returncode = os.waitstatus_to_exitcode(status)
        self._drain_stderr()
        self.drain_log()  # the child is dead: everything it wrote is in the pipe
        for stream in (self._in, self._out, self._err):
            stream.close()
        if self._log_open:
            os.close(self._log)
        for fd in (self._pidfd, self._wake_r, self._wake_w):
            os.close(fd)
        return Exit(self._proc.returncode, usage.ru_utime + usage.ru_stime, self.stderr_tail)

    def stderr_text(self, limit: int = 4000) -> str:
        """What the child wrote to stderr, for the runner's log: the tail, and the head when
        the budget cut it (escape it before logging: the child chose these bytes)."""
        tail = self.stderr_tail.decode("utf-8", "replace")[-limit:]
        if not self.stderr_cut:
            return tail
        head = self.stderr_head.decode("utf-8", "replace")[: limit // 4]
        return f"{head}\n[... stderr closed after {STDERR_BUDGET} bytes; last read:]\n{tail}"

    # --- internals ------------------------------------------------------------------------

    def _read_some(self, max_size: int | Mapping[bytes, int]) -> bool:
        """Read what is there of the current record, at most up to its end; True when whole."""
        fd = self._out.fileno()
        while not self.eof:
            if self._want is None:
                need = HEADER.size - len(self._header)
                chunk = self._read(fd, need)
                if chunk is None:
                    return self._partly_read()
                self._header += chunk
                if len(self._header) < HEADER.size:
                    continue
                kind, size = HEADER.unpack(bytes(self._header))
                if not isinstance(max_size, int) and kind not in max_size:
                    raise ChildProtocolError(f"unknown record {kind!r}")
                limit = max_size if isinstance(max_size, int) else max_size[kind]
                if size > limit:
                    message = f"record {kind!r} of {size} bytes (at most {limit})"
                    raise ChildProtocolError(message)
                self._kind, self._want = kind, size
                self._wait_allowance += size // RECORD_READ_BYTES
            need = self._want - len(self._payload)
            if need == 0:
                return True
            chunk = self._read(fd, need)
            if chunk is None:
                return self._partly_read()
            self._payload += chunk
        return False

    def _partly_read(self) -> bool:
        """No more bytes now: count a wait in the middle of a record (False, not whole)."""
        if self._header:
            self._waits += 1
            if self._waits > self._wait_allowance:
                raise ChildProtocolError(
                    f"records trickled in: waited {self._waits} times in the middle of one"
                )
        return False

    def _read(self, fd: int, size: int) -> bytes | None:
        try:
            chunk = os.read(fd, min(size, 1 << 20))
        except BlockingIOError:
            return None
        if not chunk:
            self.eof = True
            return None
        return chunk

    def _wait(self, timeout: float, read: bool) -> None:
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        if read and not self.eof:
            poller.register(self._out.fileno(), select.POLLIN)
        err_fd = -1
        if self._err_open:
            rest = self._stderr_rest_until - time.monotonic()
            if rest <= 0:
                err_fd = self._err.fileno()
                poller.register(err_fd, select.POLLIN)
            else:  # come back for it when its rest is over
                timeout = min(timeout, rest)
        log_fd = -1
        if self._log_open and self.log_budget > 0:
            rest = self._log_rest_until - time.monotonic()
            if rest <= 0:
                log_fd = self._log
                poller.register(log_fd, select.POLLIN)
            else:
                timeout = min(timeout, rest)
        if self._outbuf and not self._in.closed:
            poller.register(self._in.fileno(), select.POLLOUT)
        for fd, _ in poller.poll(max(0, int(timeout * 1000) + 1)):
            if fd == err_fd:
                self._read_stderr()
            elif fd == log_fd:
                self._read_log()
                self._log_rest_until = time.monotonic() + LOG_REST_S
            elif fd == self._in.fileno():
                self._write()

    def _write(self) -> None:
        if not self._outbuf or self._in.closed:
            return
        try:
            written = os.write(self._in.fileno(), self._outbuf)
        except BlockingIOError:
            return
        except (BrokenPipeError, OSError):
            written = len(self._outbuf)  # the child is gone; EOF tells the rest
        del self._outbuf[:written]

    def _read_stderr(self) -> None:
        room = STDERR_BUDGET - self.stderr_read
        try:
            chunk = os.read(self._err.fileno(), max(1, min(room, 1 << 16)))
        except BlockingIOError:
            return
        if not chunk:
            self._err_open = False
            return
        if room <= 0:  # a byte past the budget: the child will not stop
            self._cut_stderr()
            return
        if len(self.stderr_head) < STDERR_HEAD:
            self.stderr_head += chunk[: STDERR_HEAD - len(self.stderr_head)]
        if len(chunk) < STDERR_BULK:
            self._stderr_rest_until = time.monotonic() + STDERR_REST_S
        self.stderr_read += len(chunk)
        self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL:]

    def _read_log(self) -> bool:
        """One read of the log pipe, within the budget; False when nothing was there."""
        room = self.log_budget - self.log_read
        try:
            chunk = os.read(self._log, max(1, min(room, 1 << 16)))
        except BlockingIOError:
            return False
        if not chunk:  # the child is gone and everything it wrote was read
            self._log_open = False
            os.close(self._log)
            return False
        if room <= 0:  # a byte past the budget: no real child writes it
            self.log_cut = True
            self._log_open = False
            os.close(self._log)  # the child's next write fails with EPIPE, at its own cost
            return False
        self.log_read += len(chunk)
        self._log_new += chunk
        return True

    def _cut_stderr(self) -> None:
        """Stop reading the child's stderr for good: its next write fails with EPIPE (Python
        ignores SIGPIPE), and what it does then is its own CPU, not the runner's."""
        self.stderr_cut = True
        self._err_open = False
        self._err.close()

    def _drain_stderr(self) -> None:
        for _ in range(64):  # the child is dead: what is left is bounded
            if not self._err_open:
                return
            before = self.stderr_tail
            self._read_stderr()
            if self.stderr_tail == before and self._err_open:
                return
