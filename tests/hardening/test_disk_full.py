"""Fault injection: the uploads folder fills up under the real gunicorn.

Web runs in a private mount namespace with its uploads folder on a tiny tmpfs (nothing leaks
to the host); the test reaches that tmpfs through ``/proc/<web pid>/root``, fills it with one
big file, and checks that web refuses new programs with a clear JSON 5xx, leaves nothing
half-written, keeps running the programs it had accepted, and accepts again once space is freed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.test_faults import LONG, SHORT, is_final, queue

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TMPFS_SIZE = "256k"
FILLER = "zz-filler.bin"  # not a name web ever writes or reads
# Mount the tmpfs over uploads/ inside the new namespace, then become gunicorn.
MOUNT_AND_EXEC = 'mount -t tmpfs -o size=$1 tmpfs "$TREE_UPLOADS" && shift && exec "$@"'


def _need_private_mounts() -> None:
    """Skip (fail under ``CI=true``) unless we may mount a tmpfs in a private namespace."""
    missing = [tool for tool in ("unshare", "mount") if shutil.which(tool) is None]
    problem = f"missing {missing}" if missing else ""
    if not problem:
        with tempfile.TemporaryDirectory() as probe:
            cmd = ["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs"]
            done = subprocess.run(
                [*cmd, "-o", "size=64k", "tmpfs", probe], capture_output=True, text=True
            )
            problem = done.stderr.strip() if done.returncode else ""
    if problem:
        message = f"cannot mount a tmpfs in a private mount namespace: {problem}"
        if os.geteuid() != 0:
            message = f"needs root: {message}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def start_web_on_tmpfs(stack: Any) -> Path:
    """Start the real gunicorn with uploads/ on a private tmpfs; return that folder as we see it."""
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "web" / "gunicorn.conf.py")]
    args = ["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNT_AND_EXEC, "sh"]
    with open(stack.workdir / "web.log", "ab") as log:
        stack.web = subprocess.Popen(
            [*args, TMPFS_SIZE, *gunicorn, "web:create_app()"],
            cwd=ROOT,
            env=stack.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.wait_until("runner")
    # unshare and sh exec in place, so the Popen pid is gunicorn's master, inside the namespace.
    uploads = Path(f"/proc/{stack.web.pid}/root") / str(stack.uploads).lstrip("/")
    mounts = Path(f"/proc/{stack.web.pid}/mounts").read_text()
    assert f" {stack.uploads} tmpfs " in mounts, "uploads/ is not on the private tmpfs"
    assert f" {stack.uploads} " not in Path("/proc/self/mounts").read_text(), "the mount leaked"
    return uploads


def fill(folder: Path) -> int:
    """Write one file until the filesystem says ENOSPC; return the bytes it took."""
    written = 0
    with open(folder / FILLER, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return written


def stored(folder: Path) -> dict[str, dict[str, Any]]:
    """Check nothing is half-written and return each stored state by submission id."""
    every = sorted(p.name for p in folder.iterdir() if p.name not in {FILLER, ".secret_key"})
    # A finished run's recording (.rec) sits beside its source and state when there was room.
    recordings = {n[: -len(".rec")] for n in every if n.endswith(".rec")}
    names = [n for n in every if not n.endswith(".rec")]
    assert not [n for n in names if n.startswith(".")], f"temp files left: {names}"
    sources = {n[: -len(".py")] for n in names if n.endswith(".py")}
    states = {n[: -len(".json")] for n in names if n.endswith(".json")}
    assert sources == states, f"a source without its state or the reverse: {names}"
    assert len(names) == 2 * len(sources), f"unexpected files: {names}"
    assert recordings <= sources, f"a recording without its submission: {every}"
    found = {}
    for stem in states:
        data = json.loads((folder / f"{stem}.json").read_bytes())  # complete JSON, or it fails
        found[data["id"]] = data
    return found


def test_full_uploads_give_a_clear_5xx_store_nothing_and_the_queue_goes_on(
    make_stack: Callable[..., Any], client_for: Callable[..., Any]
) -> None:
    _need_private_mounts()
    stack = make_stack({"TREE_TIME_LIMIT": "4", "TREE_FPS": "40"})
    stack.start_runner()
    uploads = start_web_on_tmpfs(stack)
    alice, bob, carol, dave = (client_for(stack, f"{who}/disk") for who in "abcd")
    a = alice.submit(LONG)
    alice.wait_for(a["id"], lambda s: s["status"] == "running")
    b, c = bob.submit(SHORT), carol.submit(SHORT + "print('carol')\n")
    accepted = [a["id"], b["id"], c["id"]]

    assert fill(uploads) > 0
    status, _, body = dave.call("POST", "/api/submissions", {"source": SHORT})
    assert 500 <= status < 600, (status, body)
    assert isinstance(body, dict) and set(body["error"]) >= {"code", "message"}, body
    assert body["error"]["message"] and "Traceback" not in json.dumps(body), body
    assert set(stored(uploads)) == set(accepted), "the refused upload left something behind"
    assert [s["id"] for s in queue(dave)["pending"]] == accepted[1:]

    # Still full: what was accepted before runs to the end, in order.
    done = [
        p.wait_for(s["id"], is_final) for p, s in zip((alice, bob, carol), (a, b, c), strict=True)
    ]
    assert [(s["status"], s["reason"]) for s in done] == [
        ("completed", "time_limit"),
        ("completed", "ended"),
        ("completed", "ended"),
    ], done
    assert [s["started_at"] for s in done] == sorted(s["started_at"] for s in done)
    assert "carol" in done[2]["log"]
    assert set(stored(uploads)) == set(accepted), "a state rewrite on a full disk left debris"

    (uploads / FILLER).unlink()
    e = dave.submit(SHORT)
    assert dave.wait_for(e["id"], is_final)["status"] == "completed"
    on_disk = stored(uploads)
    assert set(on_disk) == {*accepted, e["id"]}
    # The final states that could not be written while the disk was full are on disk now.
    assert [on_disk[i]["status"] for i in (*accepted, e["id"])] == ["completed"] * 4, on_disk
    assert stack.web.poll() is None and stack.runner.poll() is None, stack.logs()
