"""The parent's side of one child: non-blocking pipes, the wall clock, kill and reap.

``ChildIO`` never blocks past the deadline: every wait is a ``poll`` bounded by it, and at the
deadline the child's whole process group is killed. ``Outcome`` gathers what the child did and
turns it, with how the child exited, into a SPEC §3 status and reason.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from pydantic import ValidationError

from protocol.messages import ProgramError
from runner.sandbox.wire import EXIT_OUT_OF_MEMORY, HEADER, PROGRAM_FILENAME

STDERR_TAIL = 16384  # holds a whole faulthandler dump (at most 100 frames)
_USER_FRAME = re.compile(rb'File "' + re.escape(PROGRAM_FILENAME.encode()) + rb'", line (\d+)')
_CHILD_REASONS = ("error", "invalid_frame", "memory_limit")


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
        match = _USER_FRAME.search(dump)
        return int(match.group(1)) if match else None

    def out_of_memory(self) -> bool:
        """Whether the child's last words were about memory (a C-level allocation failure)."""
        return any(word in self.stderr_tail for word in (b"MemoryError", b"Cannot allocate"))


class ChildIO:
    """Pipes to one child, with its deadline; ``kill`` is thread-safe."""

    def __init__(self, proc: subprocess.Popen[bytes], deadline: float) -> None:
        assert proc.stdin and proc.stdout and proc.stderr
        self._proc = proc
        self.deadline = deadline
        self._in, self._out, self._err = proc.stdin, proc.stdout, proc.stderr
        for stream in (self._in, self._out, self._err):
            os.set_blocking(stream.fileno(), False)
        self._inbuf = bytearray()
        self._outbuf = bytearray()
        self.stderr_tail = b""
        self.eof = False
        self._err_open = True
        self.timed_out = False
        self._lock = threading.Lock()
        self._reaped = False

    @property
    def pid(self) -> int:
        """The child's pid (also its process group id)."""
        return self._proc.pid

    def kill(self) -> None:
        """SIGKILL the child's whole process group, unless it has been reaped already."""
        with self._lock:
            if self._reaped:
                return
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(self._proc.pid, signal.SIGKILL)

    def send(self, kind: bytes, payload: bytes) -> None:
        """Queue one record for the child (written as the pipe accepts it)."""
        self.send_raw(HEADER.pack(kind, len(payload)) + payload)

    def send_raw(self, data: bytes) -> None:
        """Queue raw bytes for the child and write what the pipe takes now."""
        self._outbuf += data
        self._pump(0)

    def next_record(
        self, max_size: int, wake_at: float | None = None
    ) -> tuple[bytes | None, bytes]:
        """The next record, or ``(None, b"")`` at EOF, at ``wake_at`` or at the deadline.

        Raises:
            ChildProtocolError: a record header announcing more than ``max_size`` bytes.
        """
        while True:
            record = self._parse(max_size)
            if record is not None:
                return record
            if self.eof:
                return None, b""
            now = time.monotonic()
            if wake_at is not None and now >= wake_at:
                return None, b""
            self._pump(min(self.deadline, wake_at or self.deadline) - now)

    def sleep_until(self, when: float) -> None:
        """Wait until ``when`` while still watching the pipes and the deadline."""
        while not self.eof and (now := time.monotonic()) < when:
            self._pump(when - now, read_stdout=False)

    def close(self) -> Exit:
        """Kill what is left of the group, reap the child, close the pipes."""
        self.kill()
        with self._lock:
            _, status, usage = os.wait4(self._proc.pid, 0)
            self._reaped = True
        self._proc.returncode = os.waitstatus_to_exitcode(status)
        self._drain_stderr()
        for stream in (self._in, self._out, self._err):
            stream.close()
        return Exit(self._proc.returncode, usage.ru_utime + usage.ru_stime, self.stderr_tail)

    def _parse(self, max_size: int) -> tuple[bytes, bytes] | None:
        if len(self._inbuf) < HEADER.size:
            return None
        kind, size = HEADER.unpack_from(self._inbuf)
        if size > max_size:
            raise ChildProtocolError(f"record {kind!r} of {size} bytes (at most {max_size})")
        end = HEADER.size + size
        if len(self._inbuf) < end:
            return None
        payload = bytes(self._inbuf[HEADER.size : end])
        del self._inbuf[:end]
        return kind, payload

    def _pump(self, timeout: float, read_stdout: bool = True) -> None:
        """One poll round: read what is there, write what fits, enforce the deadline."""
        if time.monotonic() >= self.deadline and not self.timed_out:
            self.timed_out = True
            self.kill()
        poller = select.poll()
        fds = {}
        if read_stdout and not self.eof:
            fds[self._out.fileno()] = "out"
            poller.register(self._out.fileno(), select.POLLIN)
        if self._err_open:
            fds[self._err.fileno()] = "err"
            poller.register(self._err.fileno(), select.POLLIN)
        if self._outbuf and not self._in.closed:
            fds[self._in.fileno()] = "in"
            poller.register(self._in.fileno(), select.POLLOUT)
        if self.timed_out:
            timeout = min(timeout, 0.05)  # killed: EOF follows at once
        for fd, _ in poller.poll(max(0, int(timeout * 1000) + 1)):
            self._handle(fds[fd])

    def _handle(self, which: str) -> None:
        if which == "out":
            chunk = os.read(self._out.fileno(), 1 << 16)
            if chunk:
                self._inbuf += chunk
            else:
                self.eof = True
        elif which == "err":
            chunk = os.read(self._err.fileno(), 1 << 16)
            if chunk:
                self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL:]
            else:
                self._err_open = False
        else:
            try:
                written = os.write(self._in.fileno(), self._outbuf)
            except (BrokenPipeError, BlockingIOError):
                written = len(self._outbuf)  # the child is gone or busy; EOF tells the rest
            del self._outbuf[:written]

    def _drain_stderr(self) -> None:
        for _ in range(64):  # the child is dead: what is left is bounded
            if not self._err_open:
                return
            try:
                self._handle("err")
            except BlockingIOError:
                return


@dataclass
class Outcome:
    """What the parent saw of one run, before the exit status is known."""

    frames: int = 0
    ready: bool = False  # the child confined itself and got the program
    end: dict[str, object] | None = None
    invalid_frame: str | None = None
    crashed: str | None = None
    _log: list[str] = field(default_factory=list)
    _log_bytes: int = 0
    _log_full: bool = False

    def fail_frame(self, message: str) -> Outcome:
        """The parent's frame check refused a frame."""
        self.invalid_frame = message
        return self

    def fail_protocol(self, message: str) -> Outcome:
        """The child broke the record protocol: a crash, not the author's fault."""
        self.crashed = message
        return self

    def add_log(self, payload: bytes, limit: int) -> str:
        """Keep printed text up to ``limit`` bytes; return the part kept (and the cap note)."""
        if self._log_full:
            return ""
        room = limit - self._log_bytes
        kept = payload[:room]
        self._log_bytes += len(kept)
        text = kept.decode("utf-8", "ignore" if len(kept) < len(payload) else "replace")
        if len(payload) > room:
            self._log_full = True
            text += f"\n[log truncated: a run's log is limited to {limit} bytes]\n"
        self._log.append(text)
        return text

    def log_text(self) -> str:
        """Everything kept of the log."""
        return "".join(self._log)

    def verdict(
        self, stop_reason: str | None, exit: Exit, timed_out: bool, cpu_limit: float
    ) -> tuple[str, str, ProgramError | None]:
        """Status, reason and error of SPEC §3, most specific cause first."""
        if stop_reason is not None:
            return "cancelled", stop_reason, None
        if self.invalid_frame is not None:
            return "failed", "invalid_frame", _err("ValueError", self.invalid_frame)
        if self.end is not None:
            return _end_verdict(self.end)
        if timed_out and self.ready:
            return "completed", "time_limit", None
        if timed_out:
            return "failed", "crashed", _err("RunnerError", "the sandbox did not start in time")
        if self.crashed is not None:
            return "failed", "crashed", _err("RunnerError", self.crashed)
        return _exit_verdict(exit, cpu_limit)


def _end_verdict(end: dict[str, object]) -> tuple[str, str, ProgramError | None]:
    """The child's own report, checked: it comes from the untrusted side of the pipe."""
    outcome, reason, error = end.get("outcome"), end.get("reason"), end.get("error")
    if outcome == "completed" and reason == "ended":
        return "completed", "ended", None
    if outcome == "failed" and reason in _CHILD_REASONS:
        try:
            return "failed", str(reason), ProgramError.model_validate(error)
        except ValidationError:
            pass
    return "failed", "crashed", _err("RunnerError", "the sandbox sent a malformed report")


def _exit_verdict(exit: Exit, cpu_limit: float) -> tuple[str, str, ProgramError | None]:
    code, line = exit.returncode, exit.crash_line()
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and exit.cpu_s >= cpu_limit):
        message = f"the program used its {cpu_limit:g} s of CPU time"
        return "failed", "cpu_limit", _err("CPULimitExceeded", message, line)
    if code == -signal.SIGALRM:  # the child's own backstop for its time limit
        return "completed", "time_limit", None
    if code == EXIT_OUT_OF_MEMORY or (code < 0 and exit.out_of_memory()):
        return "failed", "memory_limit", _err("MemoryError", "the program ran out of memory", line)
    if code < 0:
        message = f"the program's process was killed by {_signal_name(-code)}"
        return "failed", "killed", _err("Killed", message, line)
    return "failed", "crashed", _err("RunnerError", f"the sandbox exited with status {code}")


def _signal_name(number: int) -> str:
    try:
        sig = signal.Signals(number)
    except ValueError:
        return f"signal {number}"
    description = signal.strsignal(sig) or ""
    return f"{sig.name} ({description.lower()})" if description else sig.name


def _err(type_name: str, message: str, line: int | None = None) -> ProgramError:
    return ProgramError(type=type_name, message=message[:2000], line=line)
