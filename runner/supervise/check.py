"""Upload checks in a confined child: untrusted source is never compiled in the runner process.

Each check gets a fresh child (the same command and confinement as a run), sends it the source
as a CHECK record and reads one RESULT record back, bounded in size and time. Whatever the child
does instead (crash, hang, garbage) becomes a rejection naming the problem; it never raises.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Collection, Sequence

from pydantic import ValidationError

from protocol.messages import ProgramError
from runner.config import RunnerConfig
from runner.sandbox.wire import CHECK, MAX_CHECK_ERRORS, MAX_CHECK_RESULT, READY, RESULT
from runner.supervise.pipes import ChildIO, ChildProtocolError
from runner.supervise.spawn import (
    BACKGROUND_NICE,
    CHILD_COMMAND,
    child_limits,
    confinement_failure,
    required_layers,
    spawn_child,
)

logger = logging.getLogger(__name__)

CHECK_TIME_S = 10.0  # wall time for start-up and compiling; the CPU rlimit applies as well
# The child lists at most MAX_CHECK_ERRORS errors within this size, then how many more there were.
MAX_RESULT = MAX_CHECK_RESULT
MAX_CONCURRENT_CHECKS = 2  # each check is a process; bound them on a 2-core Pi


class Checker:
    """Checks programs in disposable confined children, at most two at a time."""

    def __init__(
        self,
        config: RunnerConfig,
        child_command: Sequence[str] | None = None,
        required: Collection[str] | None = None,
    ) -> None:
        """``required``: the sandbox layers a child must report in force (as ``Supervisor``):
        a compiler bomb is only harmless in a confined child."""
        self._required = frozenset(required_layers(config) if required is None else required)
        # Low priority, as dry runs: a program that is slow to compile (seconds of CPU for a
        # 60 KB chain of comparisons) must not take the CPU from the tree program.
        limits = json.dumps(child_limits(config, nice=BACKGROUND_NICE).to_dict())
        self._command = [*(child_command or CHILD_COMMAND), limits]
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_CHECKS)

    def check(self, source: str) -> list[ProgramError]:
        """The policy's errors for ``source`` (``[]``: accepted)."""
        with self._slots:
            proc = spawn_child(self._command, nice=BACKGROUND_NICE)
            io = ChildIO(proc, time.monotonic() + CHECK_TIME_S)
            try:
                return self._exchange(io, source)
            except (ChildProtocolError, OSError, UnicodeError) as exc:
                return [_unchecked(f"the checker broke its protocol ({type(exc).__name__})")]
            finally:
                io.close()

    def _exchange(self, io: ChildIO, source: str) -> list[ProgramError]:
        kind, payload = io.next_record(max_size=16384)
        if kind != READY:
            return [_unchecked("the checker did not start")]
        try:
            report = json.loads(payload)
        except (ValueError, RecursionError):
            report = None
        if not isinstance(report, dict):
            return [_unchecked("the checker sent a malformed READY")]
        refused = confinement_failure(report, self._required)
        if refused is not None:  # fail closed: the source is never compiled unconfined
            io.kill()
            logger.error("%s: no check", refused)
            return [_unchecked(refused.replace("this program", "the checker"))]
        io.send(CHECK, source.encode("utf-8", "surrogatepass"))
        kind, payload = io.next_record(max_size=MAX_RESULT)
        if kind != RESULT:
            reason = "took too long" if io.timed_out else "stopped without an answer"
            return [_unchecked(f"the checker {reason}")]
        try:
            raw = json.loads(payload)
            if not isinstance(raw, list):
                raise ValueError("not a list")
            return [ProgramError.model_validate(item) for item in raw[: MAX_CHECK_ERRORS + 1]]
        except (ValueError, RecursionError, ValidationError):
            return [_unchecked("the checker sent a malformed answer")]


def _unchecked(why: str) -> ProgramError:
    return ProgramError(type="SandboxError", message=f"the program could not be checked: {why}")
