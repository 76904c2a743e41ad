"""What the parent saw of one run, and the SPEC §3 status and reason it turns into.

The child's own report (END) is one input among several and the least trusted: a Stop and the
deadline are the parent's facts and win over anything the child said; a malformed report of any
shape is a crash, never an exception.
"""

from __future__ import annotations

import codecs
import json
import signal
from dataclasses import dataclass, field

from pydantic import ValidationError

from protocol.messages import ProgramError
from runner.sandbox.wire import EXIT_OUT_OF_MEMORY
from runner.supervise.pipes import Exit

_CHILD_REASONS = ("error", "invalid_frame", "memory_limit")
Verdict = tuple[str, str, ProgramError | None]


@dataclass
class Outcome:
    """What the parent saw of one run, before the exit status is known."""

    frames: int = 0
    ready: bool = False  # the child confined itself and got the program
    end: dict[str, object] | None = None
    invalid_frame: str | None = None
    crashed: str | None = None
    end_seen: float = 0.0  # monotonic time the END record arrived
    log_limit: int = 0  # bytes of printed text this run keeps (``Supervisor``, ``Previewer``)
    _log: list[str] = field(default_factory=list)
    _log_bytes: int = 0
    _log_full: bool = False
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace")
    )

    def fail_frame(self, message: str) -> Outcome:
        """The parent's frame check refused a frame."""
        self.invalid_frame = message
        return self

    def fail_protocol(self, message: str) -> Outcome:
        """The child broke the record protocol: a crash, not the author's fault."""
        if self.crashed is None:
            self.crashed = message
        return self

    def take_end(self, payload: bytes) -> None:
        """The child's END record: a JSON object, or the run is a crash."""
        try:
            end = json.loads(payload)
        except (ValueError, RecursionError):
            end = None
        if not isinstance(end, dict):
            self.fail_protocol("the sandbox sent a malformed report")
            return
        self.end = end

    def add_log(self, chunk: bytes) -> str:
        """Keep printed text up to ``log_limit`` bytes; return the part kept (and the cap note).

        The pipe's chunks fall anywhere, inside a character too: decoded as a stream.
        """
        if self._log_full or not chunk:
            return ""
        limit = self.log_limit
        room = limit - self._log_bytes
        kept = chunk[:room]
        self._log_bytes += len(kept)
        cut = len(chunk) > room
        if cut:  # a character cut short by the cap is left out, not shown as one replaced
            self._decoder.errors = "ignore"
        text = self._decoder.decode(kept, final=cut)
        if cut:
            self._log_full = True
            text += f"\n[log truncated: a run's log is limited to {limit} bytes]\n"
        if text:
            self._log.append(text)
        return text

    def end_log(self) -> str:
        """The log's end: a character its last bytes began, and never finished, replaced."""
        if self._log_full:
            return ""
        self._log_full = True
        text = self._decoder.decode(b"", final=True)
        if text:
            self._log.append(text)
        return text

    def log_text(self) -> str:
        """Everything kept of the log."""
        return "".join(self._log)

    def verdict(
        self, stop_reason: str | None, exit: Exit, timed_out: bool, cpu_limit: float
    ) -> Verdict:
        """Status, reason and error of SPEC §3: the parent's facts first, the child's word last."""
        if stop_reason is not None:
            return "cancelled", stop_reason, None
        if timed_out and self.ready:
            return "completed", "time_limit", None
        if timed_out:
            return "failed", "crashed", _err("RunnerError", "the sandbox did not start in time")
        if self.crashed is not None:
            return "failed", "crashed", _err("RunnerError", self.crashed)
        if self.invalid_frame is not None:
            return "failed", "invalid_frame", _err("ValueError", self.invalid_frame)
        if self.end is not None:
            return end_verdict(self.end)
        return exit_verdict(exit, cpu_limit)


def end_verdict(end: dict[str, object]) -> Verdict:
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


def exit_verdict(exit: Exit, cpu_limit: float) -> Verdict:
    """The status a run without a report gets from how its process ended."""
    code, line = exit.returncode, exit.crash_line()
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and exit.cpu_s >= cpu_limit):
        message = f"the program used its {cpu_limit:g} s of CPU time"
        return "failed", "cpu_limit", _err("CPULimitExceeded", message, line)
    if code == EXIT_OUT_OF_MEMORY or exit.out_of_memory():
        return "failed", "memory_limit", _err("MemoryError", "the program ran out of memory", line)
    if code < 0:
        message = f"the program's process was killed by {_signal_name(-code)}"
        return "failed", "killed", _err("Killed", message, line)
    if code == 0:
        return "failed", "crashed", _err("RunnerError", "the sandbox ended without a report")
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
