"""uploads/ on disk: byte-for-byte sources, atomic state files, arrival order."""

from __future__ import annotations

import json
import os
from pathlib import Path

from web.storage import Store, Submission

USER = "0123456789abcdef01234567"


def test_source_is_kept_byte_for_byte_and_state_beside_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    sub = Submission(id="a" * 32, timestamp="2026-12-01T10:00:00+00:00", user_id=USER)
    data = b"# \xe2\x98\x83\r\nprint(1)\n\n"
    store.create(sub, data)
    assert store.read_source(sub) == data
    assert store.source_path(sub).name == f"{USER}_{'a' * 32}.py"
    assert json.loads(store.state_path(sub).read_text())["status"] == "pending"
    assert sorted(os.listdir(tmp_path)) == [f"{USER}_{'a' * 32}.json", f"{USER}_{'a' * 32}.py"]


def test_state_rewrite_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = Store(tmp_path)
    sub = Submission(id="b" * 32, timestamp="2026-12-01T10:00:00+00:00", user_id=USER)
    store.create(sub, b"pass\n")
    inode = store.state_path(sub).stat().st_ino
    sub.status, sub.reason = "completed", "ended"
    store.save(sub)
    assert store.state_path(sub).stat().st_ino != inode  # replaced, not rewritten in place
    assert [s.status for s in store.load_all()] == ["completed"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_load_ignores_files_we_did_not_write(tmp_path: Path) -> None:
    store = Store(tmp_path)
    (tmp_path / "notes.json").write_text("{}")
    (tmp_path / f"{USER}_{'c' * 32}.json").write_text(json.dumps({"id": "d" * 32}))  # mismatch
    (tmp_path / f"{USER}_{'c' * 32}.py").write_text("pass\n")
    assert store.load_all() == []
