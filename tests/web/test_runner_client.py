"""The runner client over a real Unix socket, against a small peer speaking the protocol."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.framing import encode_message, read_message, write_message
from protocol.messages import (
    Check,
    CheckResult,
    Error,
    Finished,
    Frame,
    Hello,
    Message,
    Preview,
    PreviewResult,
    ProgramError,
    ReleaseFrame,
    Run,
    SetFrame,
    Started,
    Stop,
    Welcome,
)
from web.runner_client import RunnerBusy, RunnerClient, RunnerUnavailable

WAIT = 5.0  # a guard against hanging, not a speed requirement


class Listener:
    """Collects what the client reports."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def on_runner_online(self, welcome: Welcome) -> None:
        self.events.put(("online", welcome))

    def on_runner_offline(self) -> None:
        self.events.put(("offline", None))

    def on_runner_message(self, msg: Message) -> None:
        self.events.put(("message", msg))

    def next(self) -> tuple[str, Any]:
        return self.events.get(timeout=WAIT)


class Peer:
    """A runner stand-in on a real socket: accepts, answers Hello, records what it reads."""

    def __init__(self, path: Path, version: int = 1) -> None:
        self.path = str(path)
        self.version = version
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(4)
        self.received: queue.Queue[Message] = queue.Queue()
        self.conn: socket.socket | None = None
        self.connected = threading.Event()

    def serve_one(self, answer_checks: bool = True) -> threading.Thread:
        thread = threading.Thread(target=self._serve, args=(answer_checks,), daemon=True)
        thread.start()
        return thread

    def _serve(self, answer_checks: bool) -> None:
        conn, _ = self.server.accept()
        self.conn = conn
        rfile, wfile = conn.makefile("rb"), conn.makefile("wb")
        try:
            self._talk(conn, rfile, wfile, answer_checks)
        finally:
            for f in (rfile, wfile, conn):
                with contextlib.suppress(OSError):
                    f.close()

    def _talk(self, conn: socket.socket, rfile: Any, wfile: Any, answer_checks: bool) -> None:
        hello = read_message(rfile)
        assert isinstance(hello, Hello)
        if hello.version != self.version:
            write_message(wfile, Error(code="version_mismatch", message="runner speaks 999"))
            return
        positions = [(0.0, 0.0, 0.5)] * 3
        write_message(wfile, Welcome(version=1, led_count=3, positions=positions, fps=40,
                                     backend="virtual"))  # fmt: skip
        self.connected.set()
        while (msg := _read(rfile)) is not None:
            self.received.put(msg)
            if isinstance(msg, Check) and answer_checks:
                err = ProgramError(type="SyntaxError", message="bad", line=2, col=3)
                write_message(wfile, CheckResult(request_id=msg.request_id, ok=False, errors=[err]))
            if isinstance(msg, Preview):  # "busy" for a program that says so, else a result
                if "busy" in msg.source:
                    busy = Error(code="busy", message="slots taken", request_id=msg.request_id)
                    write_message(wfile, busy)
                    continue
                write_message(wfile, PreviewResult(
                    request_id=msg.request_id, status="completed", reason="ended",
                    duration_s=1.5, frames=3, fps=2.0, hits_time_limit=False, led_count=3,
                    frame_interval_s=0.5, frame_count=0,
                ))  # fmt: skip

    def send(self, msg: Message | bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(msg if isinstance(msg, bytes) else encode_message(msg))

    def hang_up(self) -> None:
        assert self.conn is not None
        self.connected.clear()
        self.conn.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.shutdown(socket.SHUT_RDWR)
        self.server.close()


def _read(rfile: Any) -> Message | None:
    try:
        return read_message(rfile)
    except (OSError, ValueError):
        return None


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    p = Peer(tmp_path / "r.sock")
    yield p
    p.close()


@pytest.fixture
def listener() -> Listener:
    return Listener()


@pytest.fixture
def client(peer: Peer, listener: Listener) -> Iterator[RunnerClient]:
    c = RunnerClient(peer.path, listener, backoff_s=(0.01, 0.05))
    yield c
    c.close()


def test_handshake_requests_and_events(
    peer: Peer, listener: Listener, client: RunnerClient
) -> None:
    peer.serve_one()
    client.start()
    kind, welcome = listener.next()
    assert kind == "online" and welcome.led_count == 3 and client.online
    assert client.check("x = (\n", timeout=WAIT) == [
        ProgramError(type="SyntaxError", message="bad", line=2, col=3)
    ]
    assert isinstance(peer.received.get(timeout=WAIT), Check)
    client.run("s1", "print(1)\n", 45.0)
    client.stop("s1", "operator")
    client.set_frame([[0, 0, 0, 0]] * 3)
    client.release_frame()
    got = [peer.received.get(timeout=WAIT) for _ in range(4)]
    assert got == [
        Run(submission_id="s1", source="print(1)\n", time_limit_s=45.0),
        Stop(submission_id="s1", reason="operator"),
        SetFrame(leds=[[0, 0, 0, 0]] * 3),
        ReleaseFrame(),
    ]
    peer.send(Started(submission_id="s1"))
    peer.send(b'{"kind": "nonsense"}\n')  # a bad message is skipped, the connection stays
    peer.send(Frame(submission_id="s1", leds=[[1, 2, 3, 4]] * 3))
    peer.send(
        Finished(submission_id="s1", status="completed", reason="ended", duration_s=1, frames=1)
    )
    msgs = [listener.next()[1] for _ in range(3)]
    assert [m.kind for m in msgs] == ["started", "frame", "finished"]


def test_preview_waits_for_its_own_answer_and_busy_raises(
    peer: Peer, listener: Listener, client: RunnerClient
) -> None:
    peer.serve_one()
    client.start()
    assert listener.next()[0] == "online"
    result = client.preview("print(1)\n", 45.0, timeout=WAIT)
    assert result is not None and result.duration_s == 1.5 and result.status == "completed"
    sent = peer.received.get(timeout=WAIT)
    assert isinstance(sent, Preview) and sent.time_limit_s == 45.0
    with pytest.raises(RunnerBusy):
        client.preview("busy = 1\n", timeout=WAIT)
    assert listener.events.empty()  # the answers went to their askers, not the scheduler


def test_preview_while_offline_raises(tmp_path: Path, listener: Listener) -> None:
    c = RunnerClient(str(tmp_path / "none.sock"), listener, backoff_s=(0.01, 0.05))
    with pytest.raises(RunnerUnavailable):
        c.preview("print(1)\n", timeout=0.1)


def test_check_without_answer_returns_none(
    peer: Peer, listener: Listener, client: RunnerClient
) -> None:
    peer.serve_one(answer_checks=False)
    client.start()
    assert listener.next()[0] == "online"
    assert client.check("print(1)\n", timeout=0.2) is None


def test_offline_then_reconnects(peer: Peer, listener: Listener, client: RunnerClient) -> None:
    peer.serve_one()
    client.start()
    assert listener.next()[0] == "online"
    peer.hang_up()
    assert listener.next()[0] == "offline"
    assert client.check("print(1)\n", timeout=0.2) is None
    peer.serve_one()
    assert listener.next()[0] == "online"
    client.run("s2", "pass\n", 1.0)
    assert peer.received.get(timeout=WAIT).kind == "run"  # type: ignore[union-attr]


def test_nothing_listening(tmp_path: Path, listener: Listener) -> None:
    c = RunnerClient(str(tmp_path / "nobody.sock"), listener, backoff_s=(0.01, 0.05))
    c.start()
    try:
        assert not c.online
        assert c.check("print(1)\n", timeout=0.1) is None
        with pytest.raises(RunnerUnavailable):
            c.run("s", "pass\n", 1.0)
    finally:
        c.close()
    assert "No such file" in (c.last_error or "")


def test_version_mismatch_is_reported(tmp_path: Path, listener: Listener) -> None:
    p = Peer(tmp_path / "v.sock", version=999)
    p.serve_one()
    c = RunnerClient(p.path, listener, backoff_s=(5.0, 5.0))
    c.start()
    try:
        for _ in range(int(WAIT / 0.02)):
            if c.last_error:
                break
            threading.Event().wait(0.02)
        assert "runner speaks 999" in (c.last_error or "") and not c.online
        assert listener.events.empty()  # it never came online, so it never went offline
    finally:
        c.close()
        p.close()


def test_welcome_with_or_without_sandbox_layers() -> None:
    """Runners that report their layers and runners that predate the field both handshake."""
    from protocol.messages import message_adapter

    base = {"kind": "welcome", "version": 1, "led_count": 2, "positions": [[0, 0, 0]] * 2,
            "fps": 40.0, "backend": "virtual"}  # fmt: skip
    old = message_adapter.validate_python(base)
    assert isinstance(old, Welcome) and old.layers is None
    new = message_adapter.validate_python({**base, "layers": {"seccomp": "on"}})
    assert isinstance(new, Welcome) and new.layers == {"seccomp": "on"}


def test_statuses_and_reasons_are_one_shared_type() -> None:
    """A reason outside SPEC §3's list cannot cross the socket."""
    from pydantic import ValidationError

    from protocol.messages import Finished, Stop

    with pytest.raises(ValidationError):
        Finished(submission_id="s", status="completed", reason="because", duration_s=1, frames=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Stop(reason="whim")  # type: ignore[arg-type]
    assert Stop(submission_id="s", reason="author").reason == "author"
