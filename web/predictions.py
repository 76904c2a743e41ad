"""Every queued submission gets a dry run (issue 11): its predicted duration and error.

``accept_submission`` hands each new submission to ``Predictor.ask``, which only queues it: the
POST never waits for the runner. One background thread (``start``) asks the runner for dry runs
one at a time, so predictions take at most one of the ``TREE_PREVIEW_SLOTS`` and leave the
others to the editor's previews. ``step`` is the whole work of one item and tests call it
directly. A prediction is at most the time limit; it is the full limit when the dry run could
not finish (``incomplete``), the slots stayed busy, or the runner is offline.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from typing import TYPE_CHECKING

from protocol.messages import PreviewResult
from web.run_report import ENDINGS
from web.runner_client import RunnerBusy, RunnerUnavailable

if TYPE_CHECKING:
    from web.preview_gate import PreviewGate
    from web.scheduler import Scheduler
    from web.storage import Submission

logger = logging.getLogger(__name__)

BUSY_TRIES = 3  # dry runs asked for before a busy runner's answer is taken as "the full limit"
BUSY_WAIT_S = 1.0  # a dry run takes about a second: a slot is usually free again by then
STARTUP_WAIT_S = 10.0  # how long the thread waits for the runner before the first dry runs
GATE_KEY = "queued-programs"  # user and address of the predictions at the preview gate
_RANDOM_RE = re.compile(r"\brandom\b")


def failure_sentence(result: PreviewResult, uses_random: bool) -> str:
    """How the dry run failed, e.g. "fails at line 5 after 2.1 s: ZeroDivisionError"."""
    err = result.error
    at = f" at line {err.line}" if err is not None and err.line else ""
    what = err.type if err is not None else ENDINGS.get(result.reason, result.reason)
    sentence = f"fails{at} after {result.duration_s:.1f} s: {what}"
    if uses_random:
        sentence += " (it uses random numbers, so on the tree it may go differently)"
    return sentence


class Predictor:
    """Dry-runs queued submissions in the background and stores what they predict."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        timeout_s: float = 30.0,
        busy_wait_s: float = BUSY_WAIT_S,
        gate: PreviewGate | None = None,
    ) -> None:
        self.scheduler = scheduler
        # Shared with the editor's previews: queued programs wait for their turn there as an
        # address of their own, so a client keeping the slot busy cannot starve them.
        self.gate = gate
        self.timeout_s = timeout_s
        self.busy_wait_s = busy_wait_s
        self._todo: queue.Queue[tuple[str, str]] = queue.Queue()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def ask(self, sub: Submission, source: str) -> None:
        """Queue a dry run of this submission (returns at once)."""
        self._todo.put((sub.id, source))

    def start(self) -> None:
        """Work through the dry runs in a daemon thread, first those of programs still waiting
        without a prediction (queued before a restart cut their dry run short)."""
        self._halt.clear()
        self._thread = threading.Thread(target=self._loop, name="predictor", daemon=True)
        self._thread.start()

    def ask_unpredicted(self) -> int:
        """Queue dry runs of the pending programs that have no prediction; how many."""
        sched = self.scheduler
        with sched.state.lock:
            subs = [sched.state.subs[i] for i in sched.state.pending]
        asked = 0
        for sub in subs:
            if sub.predicted_s is not None:
                continue
            try:
                source = sched.store.read_source(sub).decode("utf-8")
            except (OSError, UnicodeDecodeError):  # the dispatcher reports it when its turn comes
                continue
            self.ask(sub, source)
            asked += 1
        return asked

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; a dry run in progress is abandoned at its answer."""
        self._halt.set()
        self._todo.put(("", ""))  # wake the thread
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("predictor thread did not stop")
            self._thread = None

    def _loop(self) -> None:
        # At start the runner is usually still connecting: give it a moment, or every waiting
        # program would be predicted at the full limit for good.
        for _ in range(int(STARTUP_WAIT_S / 0.1)):
            runner = self.scheduler.runner
            if (runner is not None and runner.online) or self._halt.wait(0.1):
                break
        self.ask_unpredicted()
        while not self._halt.is_set():
            try:
                self.step(block_s=None)
            except Exception:  # one bad dry run must not end predictions
                logger.exception("dry run of a queued submission failed")

    def step(self, block_s: float | None = 0.0) -> bool:
        """Dry-run the next queued submission; False when there was none."""
        try:
            sub_id, source = self._todo.get(timeout=block_s)
        except queue.Empty:
            return False
        if not sub_id:
            return False
        sched = self.scheduler
        with sched.state.lock:
            sub = sched.state.subs.get(sub_id)
            if sub is None or sub.status not in ("pending", "running"):
                return True  # cancelled or done before its turn: nothing to predict
        self.record(sub, self._dry_run(source), _RANDOM_RE.search(source) is not None)
        return True

    def _dry_run(self, source: str) -> PreviewResult | None:
        if self.gate is None:
            return self._ask_runner(source)
        if self.gate.acquire(GATE_KEY, GATE_KEY, self.timeout_s) != "granted":
            return None
        try:
            return self._ask_runner(source)
        finally:
            self.gate.release(GATE_KEY)

    def _ask_runner(self, source: str) -> PreviewResult | None:
        runner = self.scheduler.runner
        limit = self.scheduler.time_limit_s
        for attempt in range(BUSY_TRIES):
            if runner is None or not runner.online:
                return None
            try:
                return runner.preview(source, limit, timeout=self.timeout_s)
            except RunnerBusy:
                if attempt + 1 < BUSY_TRIES and self._halt.wait(self.busy_wait_s):
                    return None
            except RunnerUnavailable:
                return None
        return None

    def record(self, sub: Submission, result: PreviewResult | None, uses_random: bool) -> None:
        """Store the prediction with the submission and tell every viewer (new ETAs)."""
        sched = self.scheduler
        limit = sched.time_limit_s
        with sched.state.lock:
            if sub.status not in ("pending", "running"):  # a finished state is not ours to change
                return
            if result is None or result.status == "incomplete":
                sub.predicted_s = limit
            else:
                sub.predicted_s = round(min(result.duration_s, limit), 2)
            if result is not None and result.status == "failed":
                sub.predicted_error = failure_sentence(result, uses_random)
                sub.predicted_error_line = result.error.line if result.error else None
            sched.store.save(sub)
            sched.changed(sub)
