"""Submissions on disk: ``uploads/<user_id>_<uuid>.py`` byte for byte, state in ``.json`` beside it.

There is no database: every state change rewrites the small JSON file atomically (temp file,
fsync, rename), so a crash leaves either the old or the new state, never half of one. A state
that cannot be written (uploads/ full or read-only) waits in memory for the next write.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protocol.messages import Reason, Status

logger = logging.getLogger(__name__)

# user ids are our own hex digests; anything else in a file name was not written by us.
_NAME_RE = re.compile(r"^(?P<user>[0-9a-f]{8,64})_(?P<id>[0-9a-f]{32})\.json$")
# What anyone may see of a submission: never its user_id or IP fingerprint (SPEC §3), and the
# log only its author (and the operator).
PUBLIC_FIELDS = (
    "id",
    "timestamp",
    "language",
    "name",
    "title",
    "status",
    "reason",
    "error",
    "started_at",
    "finished_at",
    "duration_s",
    "frames",
    "frames_scaled",
    "power_scale_min",
    "frames_damped",
    "recorded_frames",
    "predicted_s",
    "predicted_error",
    "predicted_error_line",
)


@dataclass
class Submission:
    """One submission's state (SPEC §3); ``id`` is a UUID4 in hex."""

    id: str
    timestamp: str
    user_id: str
    ip_id: str = ""
    language: str = "python"
    name: str | None = None
    title: str | None = None
    status: Status = "pending"
    reason: Reason | None = None
    error: dict[str, Any] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    frames: int = 0
    log: str = ""
    # The run report of the room's protection (SPEC §6), as the runner's Finished said.
    frames_scaled: int = 0
    power_scale_min: float = 1.0
    frames_damped: int = 0
    recorded_frames: int = 0  # frames in its recording (``<stem>.rec``); 0: none
    # Its dry run when it was queued (``web.predictions``): how long it will run (at most the
    # time limit), and if the dry run failed, how ("fails at line 5 after 2.1 s: ...").
    predicted_s: float | None = None
    predicted_error: str | None = None
    predicted_error_line: int | None = None
    # Order of arrival; the timestamp alone can tie within a clock tick.
    seq: int = 0

    @property
    def stem(self) -> str:
        """The shared file name stem of the source and the state file."""
        return f"{self.user_id}_{self.id}"

    def public(self) -> dict[str, Any]:
        """The JSON any viewer may see (no log, no IP fingerprint)."""
        return {name: getattr(self, name) for name in PUBLIC_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Submission:
        """Build from a state file's JSON, ignoring unknown keys."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def cancelled_unrun(sub: Submission) -> bool:
    """Whether its author cancelled it before it ran (``Store.keep_cancelled`` caps those)."""
    return sub.status == "cancelled" and sub.reason == "author" and sub.started_at is None


def iso(now: float) -> str:
    """UTC ISO 8601 for an epoch time (submission timestamps)."""
    return datetime.fromtimestamp(now, UTC).isoformat()


def epoch(text: str | None) -> float | None:
    """The epoch time of an ISO 8601 timestamp, if any."""
    return datetime.fromisoformat(text).timestamp() if text else None


class Store:
    """The ``uploads/`` folder: write new submissions, rewrite their state, load them all."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        # States that could not be written (disk full, read-only): kept for the next write.
        self._unsaved: dict[str, Submission] = {}
        self._unsaved_lock = threading.Lock()
        # Every stored submission: user id -> {id: arrival}, and id -> user id. Built by the
        # first full pass (``load`` at start) and kept up to date by this class, so "My runs"
        # and lookups by id never scan the folder (red team web round four, finding 3).
        # uploads/ belongs to web: files put there behind its back count from the next start.
        self._index: dict[str, dict[str, tuple[str, int]]] | None = None
        self._owner: dict[str, str] = {}
        # The stored ones their authors cancelled before they ran: user id -> {id: when
        # cancelled}. Built by the same pass, so a restart counts those already on disk.
        self._unrun: dict[str, dict[str, tuple[str, int]]] = {}
        self._index_lock = threading.RLock()

    def _ensure_index(self) -> dict[str, dict[str, tuple[str, int]]]:
        """The index, built by one pass over the folder if no pass was made yet."""
        with self._index_lock:
            if self._index is None:
                for _sub in self._states():
                    pass
            assert self._index is not None
            return self._index

    def _remember(self, sub: Submission) -> None:
        with self._index_lock:
            if self._index is not None:
                self._index.setdefault(sub.user_id, {})[sub.id] = _arrival(sub)
                self._owner[sub.id] = sub.user_id

    def _forget(self, user_id: str, submission_id: str) -> None:
        with self._index_lock:
            if self._index is not None:
                mine = self._index.get(user_id, {})
                mine.pop(submission_id, None)
                if not mine:
                    self._index.pop(user_id, None)
            self._owner.pop(submission_id, None)
            unrun = self._unrun.get(user_id, {})
            unrun.pop(submission_id, None)
            if not unrun:
                self._unrun.pop(user_id, None)

    def _read_state(self, user_id: str, submission_id: str) -> Submission | None:
        with self._unsaved_lock:
            owed = self._unsaved.get(submission_id)
        if owed is not None:
            return owed
        path = self.folder / f"{user_id}_{submission_id}.json"
        try:
            sub = Submission.from_dict(json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError):
            return None
        return sub if sub.id == submission_id and sub.stem == path.stem else None

    def source_path(self, sub: Submission) -> Path:
        """Where the program's bytes live."""
        return self.folder / f"{sub.stem}.py"

    def state_path(self, sub: Submission) -> Path:
        """Where the submission's state lives."""
        return self.folder / f"{sub.stem}.json"

    def recording_path(self, sub: Submission) -> Path:
        """Where the recording of what the tree showed lives (``web.recordings``)."""
        return self.folder / f"{sub.stem}.rec"

    def write_recording(self, sub: Submission, data: bytes) -> None:
        """Store the run's recording atomically.

        Raises:
            OSError: it could not be written (the run's state is unaffected).
        """
        _atomic_write(self.recording_path(sub), data)

    def read_recording(self, sub: Submission) -> bytes:
        """The recording file's bytes. Raises OSError when there is none."""
        return self.recording_path(sub).read_bytes()

    def of_user(self, user_id: str, limit: int | None = None) -> list[Submission]:
        """This user's stored submissions, newest first, at most ``limit`` (``My runs``).

        From the index: only the states shown are read, however many the user has stored.
        """
        with self._index_lock:
            index = self._ensure_index()
            arrivals = index.get(user_id, {})
            newest = heapq.nlargest(
                len(arrivals) if limit is None else limit, arrivals.items(), key=lambda i: i[1]
            )
        found = [self._read_state(user_id, sid) for sid, _arrival in newest]
        return [sub for sub in found if sub is not None]

    def starred(self) -> list[str]:
        """The ids the operator starred for the idle show, in the order they were starred."""
        try:
            data = json.loads((self.folder / ".starred.json").read_bytes())
        except (OSError, ValueError):
            return []
        return [i for i in data if isinstance(i, str)] if isinstance(data, list) else []

    def set_starred(self, ids: list[str]) -> None:
        """Remember the starred ids (kept across restarts)."""
        _atomic_write(self.folder / ".starred.json", json.dumps(ids).encode())

    def idle_show_off(self) -> bool:
        """Whether the operator switched the idle show off (kept across restarts)."""
        return (self.folder / ".idle_show_off").exists()

    def set_idle_show_off(self, off: bool) -> None:
        """Remember whether the idle show is off."""
        flag = self.folder / ".idle_show_off"
        if off:
            _atomic_write(flag, b"idle show switched off by the operator\n")
        else:
            flag.unlink(missing_ok=True)

    def create(self, sub: Submission, source: bytes) -> None:
        """Store a new submission: its source first, then its state (which makes it exist).

        Raises:
            OSError: it could not be stored (disk full, read-only); nothing of it is left.
        """
        self.flush()  # states owed to accepted submissions come before new uploads
        _atomic_write(self.source_path(sub), source)
        try:
            self._write_state(sub)
        except BaseException:
            self.source_path(sub).unlink(missing_ok=True)  # a broken upload stores nothing
            raise
        self._remember(sub)

    def keep_cancelled(self, sub: Submission, per_user: int, total: int) -> list[str]:
        """Keep a program its author cancelled before it ran, like any finished one (SPEC §3),
        and remove the oldest such programs beyond ``per_user`` of its author's and ``total``
        in all; returns the ids removed.

        Cancelling before the run costs nothing against the limits, so without a cap a
        submit-then-cancel loop stored a program per round (red team web round four, finding 4).
        """
        with self._index_lock:
            self._ensure_index()
            if cancelled_unrun(sub) and sub.id in self._owner:
                self._unrun.setdefault(sub.user_id, {})[sub.id] = _cancelled_at(sub)
            return self.prune_cancelled(per_user, total)

    def prune_cancelled(self, per_user: int, total: int) -> list[str]:
        """Remove the programs cancelled before they ran that are beyond the caps, oldest
        cancelled first; returns their ids. Nothing that ran, waits or runs is ever touched."""
        with self._index_lock:
            self._ensure_index()
            doomed: list[tuple[tuple[str, int], str, str]] = []  # (cancelled, user, id)
            kept: list[tuple[tuple[str, int], str, str]] = []
            for user_id, mine in self._unrun.items():
                ordered = sorted((when, user_id, sid) for sid, when in mine.items())
                cut = max(0, len(ordered) - per_user)
                doomed += ordered[:cut]
                kept += ordered[cut:]
            if len(kept) > total:
                doomed += heapq.nsmallest(len(kept) - total, kept)
            for _when, user_id, sid in doomed:
                self._remove(user_id, sid)
            return [sid for _when, _user_id, sid in doomed]

    def _remove(self, user_id: str, submission_id: str) -> None:
        """Remove a submission's files for good; the state first (without it the rest is
        never loaded again, even if removing the rest fails)."""
        with self._unsaved_lock:
            self._unsaved.pop(submission_id, None)
        stem = self.folder / f"{user_id}_{submission_id}"
        for path in (stem.with_suffix(".json"), stem.with_suffix(".py"), stem.with_suffix(".rec")):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                logger.error("cannot remove %s: %s", path.name, exc)
        self._forget(user_id, submission_id)

    def save(self, sub: Submission) -> bool:
        """Rewrite the submission's state atomically; False if it had to wait (see ``flush``)."""
        with self._unsaved_lock:
            self._unsaved[sub.id] = sub
        return self.flush()

    @property
    def owes_states(self) -> bool:
        """True while some state could not be written yet (see ``flush``)."""
        with self._unsaved_lock:
            return bool(self._unsaved)

    def flush(self) -> bool:
        """Write every state still owed; True when none is left.

        A full or read-only uploads/ must not stop the queue: the state stays in memory (the
        file keeps the previous one) and the next save or create writes it.
        """
        with self._unsaved_lock:
            for sid, sub in list(self._unsaved.items()):
                try:
                    self._write_state(sub)
                except OSError as exc:  # the whole folder is at fault: try the rest later
                    logger.error("cannot save %s yet (kept in memory): %s", sid, exc)
                    break
                del self._unsaved[sid]
            return not self._unsaved

    def _write_state(self, sub: Submission) -> None:
        data = json.dumps(asdict(sub), ensure_ascii=False, sort_keys=True).encode()
        _atomic_write(self.state_path(sub), data)

    def read_source(self, sub: Submission) -> bytes:
        """The program exactly as it was received."""
        return self.source_path(sub).read_bytes()

    def _states(self) -> Iterator[Submission]:
        """Every readable stored submission, in no particular order (and a fresh index)."""
        index: dict[str, dict[str, tuple[str, int]]] = {}
        owner: dict[str, str] = {}
        unrun: dict[str, dict[str, tuple[str, int]]] = {}
        for path in self.folder.glob("*.json"):
            match = _NAME_RE.match(path.name)
            if not match:
                continue
            try:
                sub = Submission.from_dict(json.loads(path.read_bytes()))
            except (OSError, ValueError, TypeError) as exc:
                logger.warning("skipping unreadable submission state %s: %s", path.name, exc)
                continue
            if sub.stem != path.stem or not self.source_path(sub).exists():
                logger.warning("skipping submission state %s without its source", path.name)
                continue
            index.setdefault(sub.user_id, {})[sub.id] = _arrival(sub)
            owner[sub.id] = sub.user_id
            if cancelled_unrun(sub):
                unrun.setdefault(sub.user_id, {})[sub.id] = _cancelled_at(sub)
            yield sub
        with self._index_lock:  # a full pass: the folder as it is now
            self._index, self._owner, self._unrun = index, owner, unrun

    def load_all(self) -> list[Submission]:
        """Every stored submission in arrival order; unreadable state files are skipped."""
        return sorted(self._states(), key=_arrival)

    def load(self, keep_finished: int) -> tuple[list[Submission], list[Submission], int]:
        """Unfinished submissions and the newest ``keep_finished`` finished ones, each in
        arrival order, and the highest sequence number seen.

        Only that many finished states are held at once, however many the folder has.
        """
        unfinished: list[Submission] = []
        newest: list[tuple[tuple[str, int], int, Submission]] = []  # min-heap on arrival
        seq = 0
        for n, sub in enumerate(self._states()):
            seq = max(seq, sub.seq)
            if sub.status in ("pending", "running"):
                unfinished.append(sub)
            elif keep_finished > 0:
                item = (_arrival(sub), n, sub)
                if len(newest) < keep_finished:
                    heapq.heappush(newest, item)
                else:
                    heapq.heappushpop(newest, item)
        finished = [item[2] for item in sorted(newest)]
        return sorted(unfinished, key=_arrival), finished, seq

    def find(self, submission_id: str) -> Submission | None:
        """One stored submission by id (a state still owed to the disk wins), or None."""
        with self._index_lock:
            self._ensure_index()
            user_id = self._owner.get(submission_id)
        return None if user_id is None else self._read_state(user_id, submission_id)

    def archive(self, keep: set[str], stamp: str) -> str:
        """Move every submission not in ``keep`` to ``archive/<stamp>/``; returns that folder.

        Raises:
            OSError: the folder could not be made; whatever was already moved stays moved.
        """
        self.flush()
        folder = self.folder / "archive" / stamp.replace(":", "-")
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.folder.glob("*.json")):
            match = _NAME_RE.match(path.name)
            if not match or match["id"] in keep:
                continue
            # The state last: it makes one exist.
            for part in (path.with_suffix(".py"), path.with_suffix(".rec"), path):
                if part.exists():
                    shutil.move(part, folder / part.name)
            self._forget(match["user"], match["id"])
        return str(folder)

    def paused(self) -> bool:
        """Whether the operator left the queue paused (kept across restarts)."""
        return (self.folder / ".paused").exists()

    def set_paused(self, paused: bool) -> None:
        """Remember the operator's pause, so a web restart does not silently resume."""
        flag = self.folder / ".paused"
        if paused:
            _atomic_write(flag, b"paused by the operator\n")
        else:
            flag.unlink(missing_ok=True)

    def secret_key(self) -> str:
        """The app's secret key, generated once and kept in ``.secret_key`` (mode 0600)."""
        path = self.folder / ".secret_key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            key = secrets.token_hex(32)
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return key


def _arrival(sub: Submission) -> tuple[str, int]:
    return (sub.timestamp, sub.seq)


def _cancelled_at(sub: Submission) -> tuple[str, int]:
    # When it was cancelled, not when it arrived: the one just cancelled is never the oldest.
    return (sub.finished_at or sub.timestamp, sub.seq)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync and rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
