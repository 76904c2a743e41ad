"""uploads/ on a full disk: a refused upload leaves nothing, owed states are written later.

The disk really fills: the scenario runs in a child process in a private mount namespace with a
tiny tmpfs as its uploads folder (``unshare``; root only), and reports what it saw as JSON.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from web.storage import Store, Submission

USER = "0123456789abcdef01234567"
FILLER = "filler.bin"


def _sub(letter: str) -> Submission:
    stamp = f"2026-12-01T10:0{ord(letter) - ord('a')}:00+00:00"  # arrival order = letter order
    return Submission(id=letter * 32, timestamp=stamp, user_id=USER)


def _fill(folder: Path) -> None:
    with open(folder / FILLER, "wb", buffering=0) as f:
        while True:
            try:
                f.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != FILLER)


def _states(folder: Path) -> dict[str, str]:
    found = {}
    for path in folder.glob("*.json"):
        data = json.loads(path.read_bytes())
        found[data["id"][0]] = data["status"]
    return found


def scenario(folder: Path) -> dict[str, Any]:
    """Fill the disk under a store, then free it; record what is on disk at each step."""
    store = Store(folder)
    first = _sub("a")
    store.create(first, b"print('a')\n")
    _fill(folder)
    seen: dict[str, Any] = {"files_before": _files(folder)}

    first.status = "running"
    seen["save_when_full"] = store.save(first)
    try:
        store.create(_sub("b"), b"print('b')\n")
        seen["create_when_full"] = "stored"
    except OSError as exc:
        seen["create_when_full"] = errno.errorcode.get(exc.errno or 0, str(exc))
    seen["files_when_full"] = _files(folder)
    seen["states_when_full"] = _states(folder)
    first.status = "completed"
    seen["second_save_when_full"] = store.save(first)

    (folder / FILLER).unlink()
    store.create(_sub("c"), b"print('c')\n")  # the first write with space writes what is owed
    seen["states_after"] = _states(folder)
    seen["flush_after"] = store.flush()
    seen["loaded_after"] = [(s.id[0], s.status) for s in Store(folder).load_all()]
    return seen


def test_full_disk_refuses_uploads_cleanly_and_keeps_owed_states(tmp_path: Path) -> None:
    problem = None
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        problem = "unshare or mount is missing"
    elif os.geteuid() != 0:
        problem = "needs root: mounting a tmpfs under uploads/"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    folder = tmp_path / "uploads"
    folder.mkdir()
    script = 'mount -t tmpfs -o size=64k tmpfs "$1" && exec "$2" "$3" "$1"'
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
        + [str(folder), sys.executable, __file__],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert list(folder.iterdir()) == [], "the tmpfs leaked out of its namespace"

    stem = f"{USER}_{'a' * 32}"
    assert seen["files_before"] == [f"{stem}.json", f"{stem}.py"]
    assert seen["save_when_full"] is False
    assert seen["create_when_full"] == "ENOSPC"
    assert seen["files_when_full"] == seen["files_before"], "a refused upload left something"
    assert seen["states_when_full"] == {"a": "pending"}, "the old state must stay whole"
    assert seen["second_save_when_full"] is False
    assert seen["states_after"] == {"a": "completed", "c": "pending"}
    assert seen["flush_after"] is True
    assert seen["loaded_after"] == [["a", "completed"], ["c", "pending"]]


if __name__ == "__main__":
    print(json.dumps(scenario(Path(sys.argv[1]))))
