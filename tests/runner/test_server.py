"""The runner's socket server: in-process on a temporary socket with a VirtualStrip, and as a
real ``python -m runner`` process for signals, fuzzing and memory."""

from __future__ import annotations

import contextlib
import grp
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.framing import ProtocolError, encode_message, read_message, write_message
from protocol.messages import (
    PROTOCOL_VERSION,
    Check,
    CheckResult,
    Error,
    Finished,
    Frame,
    Hello,
    Idle,
    Log,
    Message,
    Ping,
    Pong,
    Run,
    SetFrame,
    Started,
    Stop,
    Welcome,
)
from runner.config import RunnerConfig
from runner.exc import RunnerError
from runner.leds import Led
from runner.leds.virtual import VirtualStrip
from runner.server.clients import MAX_CONNECTIONS
from runner.server.connection import Connection
from runner.server.display import IDLE_FPS, idle_period
from runner.server.idle_scene import idle_frame
from runner.server.socket_file import bind_socket
from runner.server.tree_server import RunnerServer

COUNT = 10
BLUE_PROGRAM = "setLEDs([BLUE] * getLEDCount())\nprint('hello tree')\n"
FOREVER = "while True:\n    setLEDs([RED] * getLEDCount())\n"
SAFETY_TIMEOUT_S = 30.0
M = TypeVar("M", bound=Message)


def _development_machine() -> dict[str, str]:
    """``TREE_SANDBOX_DEV`` as the root conftest set it (a non-root account), else nothing."""
    value = os.environ.get("TREE_SANDBOX_DEV")
    return {"TREE_SANDBOX_DEV": value} if value else {}


@contextlib.contextmanager
def short_dir() -> Iterator[Path]:
    """A private directory with a short path (Unix socket paths are limited to 107 bytes)."""
    path = tempfile.mkdtemp(prefix="lt-")
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Client:
    """A test client speaking the protocol over the real socket."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(SAFETY_TIMEOUT_S)  # a hung server fails the test instead of hanging
        self.sock.connect(path)
        self.stream = cast(BinaryIO, self.sock.makefile("rwb"))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.stream.close()
        self.sock.close()

    def send(self, msg: Message) -> None:
        """Send one message."""
        write_message(self.stream, msg)

    def send_raw(self, data: bytes) -> None:
        """Send raw bytes (the peer may hang up midway)."""
        with contextlib.suppress(OSError):
            self.sock.sendall(data)

    def recv(self) -> Message | None:
        """The next message, None once the server hung up."""
        try:
            return read_message(self.stream)
        except ConnectionResetError:
            return None

    def hello(self) -> Welcome:
        """Do the handshake."""
        self.send(Hello(version=PROTOCOL_VERSION, client="test"))
        welcome = self.recv()
        assert isinstance(welcome, Welcome), welcome
        return welcome

    def until(self, kind: type[M], keep_frames: bool = False) -> list[Message]:
        """Messages up to and including the first of ``kind`` (idle-scene frames left out)."""
        seen: list[Message] = []
        while True:
            msg = self.recv()
            assert msg is not None, f"connection closed while waiting for {kind.__name__}"
            if isinstance(msg, Frame) and msg.submission_id is None and kind is not Frame:
                continue
            if keep_frames or not isinstance(msg, Frame) or kind is Frame:
                seen.append(msg)
            if isinstance(msg, kind):
                return seen

    def expect(self, kind: type[M]) -> M:
        """The next message of ``kind``, skipping any others."""
        msg = self.until(kind)[-1]
        assert isinstance(msg, kind)
        return msg

    def expect_frame(self, leds: list[list[int]]) -> Frame:
        """The first broadcast frame showing ``leds``."""
        while True:
            frame = self.expect(Frame)
            if frame.leds == leds:
                return frame

    def drain_until_closed(self) -> bool:
        """Read until the server hangs up; True when it did."""
        for _ in range(100_000):
            try:
                if self.recv() is None:
                    return True
            except ProtocolError:
                continue
        return False


@contextlib.contextmanager
def serving(srv: RunnerServer) -> Iterator[RunnerServer]:
    """Serve ``srv`` in a thread until the block ends, then shut it down."""
    thread = threading.Thread(target=srv.serve_forever, name="test-server")
    thread.start()
    try:
        assert srv.ready.wait(10), "server did not start"
        yield srv
    finally:
        srv.shutdown()
        thread.join(10)


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    """A short directory for the socket (Unix socket paths are limited to 107 bytes)."""
    with short_dir() as path:
        yield path


@pytest.fixture
def config(sock_dir: Path) -> RunnerConfig:
    """Tiny limits and a private socket."""
    return RunnerConfig(
        socket_path=str(sock_dir / "sub" / "runner.sock"), led_count=COUNT, time_limit_s=10
    )


@pytest.fixture
def strip() -> VirtualStrip:
    """The virtual tree the server drives."""
    return VirtualStrip(COUNT)


@pytest.fixture
def server(config: RunnerConfig, strip: VirtualStrip) -> Iterator[RunnerServer]:
    """A serving RunnerServer, shut down after the test."""
    srv = RunnerServer(config, strip)
    thread = threading.Thread(target=srv.serve_forever, name="test-server")
    thread.start()
    assert srv.ready.wait(10), "server did not start"
    yield srv
    srv.shutdown()
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def client(server: RunnerServer, config: RunnerConfig) -> Iterator[Client]:
    """A connected client that has done the handshake."""
    with Client(config.socket_path) as c:
        c.hello()
        yield c


def test_handshake_describes_the_tree(server: RunnerServer, config: RunnerConfig) -> None:
    with Client(config.socket_path) as c:
        c.send(Hello(version=PROTOCOL_VERSION))
        welcome = c.recv()
        assert isinstance(welcome, Welcome)
        assert welcome.led_count == COUNT and welcome.backend == "virtual"
        assert welcome.fps == config.fps and welcome.busy_with is None
        assert welcome.positions == server.positions and len(welcome.positions) == COUNT
        assert isinstance(c.recv(), Idle)  # the tree is free


def test_version_mismatch_is_refused_clearly(server: RunnerServer, config: RunnerConfig) -> None:
    with Client(config.socket_path) as c:
        c.send(Hello(version=PROTOCOL_VERSION + 41))
        error = c.recv()
        assert isinstance(error, Error) and error.code == "version_mismatch"
        assert f"version {PROTOCOL_VERSION}" in error.message
        assert f"version {PROTOCOL_VERSION + 41}" in error.message
        assert c.recv() is None  # and the connection is closed


def test_cant_skip_the_handshake(server: RunnerServer, config: RunnerConfig) -> None:
    with Client(config.socket_path) as c:
        c.send(Ping())
        assert isinstance(c.recv(), Pong)  # liveness probes need no handshake
        c.send(Check(request_id="r", source="x = 1\n"))
        error = c.recv()
        assert isinstance(error, Error) and error.code == "bad_message" and "hello" in error.message


def test_check_uses_the_sandbox_policy(client: Client) -> None:
    client.send(Check(request_id="good", source=BLUE_PROGRAM))
    ok = client.expect(CheckResult)
    assert ok.request_id == "good" and ok.ok and ok.errors == []
    client.send(Check(request_id="bad", source="x = 1\nimport os\n"))
    bad = client.expect(CheckResult)
    assert bad.request_id == "bad" and not bad.ok
    assert bad.errors[0].line == 2 and "os" in bad.errors[0].message


def test_run_streams_started_log_frames_finished_then_idle(
    client: Client, strip: VirtualStrip
) -> None:
    client.send(Run(submission_id="s1", source=BLUE_PROGRAM, time_limit_s=5))
    seen = client.until(Finished, keep_frames=True)
    finished = seen[-1]
    assert isinstance(finished, Finished)
    assert (finished.status, finished.reason, finished.frames) == ("completed", "ended", 1)
    ours = [m for m in seen if getattr(m, "submission_id", None) == "s1"]
    assert isinstance(ours[0], Started)
    blue = [[0, 0, 255, 100]] * COUNT
    assert any(isinstance(m, Frame) and m.leds == blue for m in ours)
    assert "hello tree" in "".join(m.text for m in ours if isinstance(m, Log))
    assert client.expect(Idle) == Idle()
    assert tuple((0, 0, 255, 100) for _ in range(COUNT)) in [f.leds for f in strip.frames]


def test_a_program_with_a_byte_order_mark_is_checked_and_run(client: Client) -> None:
    """Sent by any client as raw JSON (web drops the mark itself; this is the runner's side):
    a source saved as "UTF-8 with BOM" passes the check and runs, as python3 would run it."""
    bom = "\ufeff"
    check = {"kind": "check", "request_id": "bom", "source": bom + BLUE_PROGRAM}
    client.send_raw(json.dumps(check).encode() + b"\n")
    checked = client.expect(CheckResult)
    assert (checked.request_id, checked.ok, checked.errors) == ("bom", True, [])
    # One after the other: a check (at nice 19) may answer after a short run has finished.
    run = {"kind": "run", "submission_id": "bom", "source": bom + BLUE_PROGRAM, "time_limit_s": 5}
    client.send_raw(json.dumps(run).encode() + b"\n")
    seen = client.until(Finished)
    finished = seen[-1]
    assert isinstance(finished, Finished)
    assert (finished.status, finished.reason) == ("completed", "ended")
    assert "hello tree" in "".join(m.text for m in seen if isinstance(m, Log))


def test_cant_run_past_the_runners_own_time_limit(sock_dir: Path, strip: VirtualStrip) -> None:
    """TREE_TIME_LIMIT bounds every run, even when the client asks for more."""
    config = RunnerConfig(
        socket_path=str(sock_dir / "capped.sock"), led_count=COUNT, time_limit_s=0.5
    )
    srv = RunnerServer(config, strip)
    with serving(srv):
        with Client(config.socket_path) as c:
            c.hello()
            # Silent for 10 minutes unless capped: the client's safety timeout fails the test.
            c.send(
                Run(submission_id="slow", source="import time\ntime.sleep(600)\n", time_limit_s=600)
            )
            finished = c.expect(Finished)
        assert (finished.status, finished.reason) == ("completed", "time_limit")
        assert finished.duration_s < SAFETY_TIMEOUT_S


def test_cant_run_two_programs_at_once(client: Client, config: RunnerConfig) -> None:
    client.send(Run(submission_id="long", source=FOREVER, time_limit_s=30))
    client.expect(Started)
    client.send(Run(submission_id="second", source=BLUE_PROGRAM, time_limit_s=5))
    busy = client.expect(Error)
    assert busy.code == "busy" and busy.request_id == "second" and "long" in busy.message
    with Client(config.socket_path) as other:
        assert other.hello().busy_with == "long"
    client.send(Stop(submission_id="someone-else"))
    assert client.expect(Error).code == "not_running"
    client.send(Stop(reason="operator"))
    finished = client.expect(Finished)
    assert (finished.submission_id, finished.status, finished.reason) == (
        "long",
        "cancelled",
        "operator",
    )
    client.expect(Idle)
    client.send(Run(submission_id="third", source=BLUE_PROGRAM, time_limit_s=5))
    assert client.expect(Finished).status == "completed"  # the tree is free again


def test_stop_when_nothing_runs_is_refused(client: Client) -> None:
    client.send(Stop())
    assert client.expect(Error).code == "not_running"


def test_events_go_to_every_client(client: Client, config: RunnerConfig) -> None:
    with Client(config.socket_path) as second:
        second.hello()
        client.send(Run(submission_id="both", source=BLUE_PROGRAM, time_limit_s=5))
        for c in (client, second):
            assert c.expect(Started).submission_id == "both"
            assert c.expect(Finished).submission_id == "both"


def test_set_frame_is_shown_and_held(
    client: Client, server: RunnerServer, strip: VirtualStrip
) -> None:
    leds = [[i, 2 * i, 255 - i, 50] for i in range(COUNT)]
    client.send(SetFrame(leds=leds, request_id="f"))
    shown = client.expect_frame(leds)
    assert shown.submission_id is None
    assert strip.current == tuple(tuple(led) for led in leds)
    assert server.run_once(123.0) is False  # the idle scene leaves a set frame alone
    assert strip.current == tuple(tuple(led) for led in leds)


@pytest.mark.parametrize(
    ("leds", "needle"),
    [
        ([[0, 0, 0, 150]] * COUNT, "LED 0"),
        ([[0, 0, 0, 0]] * (COUNT - 1), f"{COUNT}"),
        ([[0, 0, 0, 0]] * (COUNT - 1) + [[256, 0, 0, 0]], f"LED {COUNT - 1}"),
        ([[0, 0, 0, 0]] * 4 + [[0, -1, 0, 0]] + [[0, 0, 0, 0]] * 5, "LED 4"),
    ],
)
def test_cant_set_an_invalid_frame(
    client: Client, strip: VirtualStrip, leds: list[list[int]], needle: str
) -> None:
    before = strip.shown_count
    client.send(SetFrame(leds=leds, request_id="bad"))
    error = client.expect(Error)
    assert (error.code, error.request_id) == ("invalid_frame", "bad")
    assert needle in error.message
    assert all(f.leds != tuple(tuple(x) for x in leds) for f in strip.frames[before:])


def test_cant_set_a_frame_while_a_program_runs(client: Client) -> None:
    client.send(Run(submission_id="owner", source=FOREVER, time_limit_s=30))
    client.expect(Started)
    client.send(SetFrame(leds=[[0, 0, 0, 0]] * COUNT, request_id="blank"))
    error = client.expect(Error)
    assert (error.code, error.request_id) == ("busy", "blank")
    client.send(Stop())
    client.expect(Finished)


@pytest.mark.parametrize(
    "garbage",
    [b"garbage\n", b"{}\n", b'{"kind": "nuke"}\n', encode_message(Idle()), b"\x00\xff\n"],
)
def test_malformed_input_gets_an_error_and_the_connection_lives(
    client: Client, garbage: bytes
) -> None:
    client.send_raw(garbage)
    assert client.expect(Error).code == "bad_message"
    client.send(Ping())
    client.expect(Pong)


def test_oversized_input_drops_only_that_connection(
    server: RunnerServer, config: RunnerConfig
) -> None:
    with Client(config.socket_path) as c:
        c.hello()
        c.send_raw(b"[" * (1024 * 1024 + 10) + b"\n")
        assert c.expect(Error).code == "too_large"
        assert c.drain_until_closed()
    with Client(config.socket_path) as fresh:
        fresh.send(Ping())
        assert isinstance(fresh.recv(), Pong)


def test_idle_scene_between_programs(config: RunnerConfig) -> None:
    strip = VirtualStrip(COUNT)
    srv = RunnerServer(config, strip)
    assert srv.run_once(5.0) is True
    assert list(strip.current) == idle_frame(5.0, srv.positions)
    assert srv.run_once(6.0) and strip.shown_count == 2


def test_a_programs_last_frame_is_held_before_the_idle_scene(
    config: RunnerConfig, strip: VirtualStrip
) -> None:
    srv = RunnerServer(config, strip, hold_after_run_s=1000.0)
    with serving(srv):
        with Client(config.socket_path) as c:
            c.hello()
            c.send(Run(submission_id="seed", source=BLUE_PROGRAM, time_limit_s=5))
            c.expect(Finished)
            c.expect(Idle)
        blue = ((0, 0, 255, 100),) * COUNT
        assert strip.current == blue
        assert srv.run_once(time.monotonic()) is False  # still the program's frame
        assert strip.current == blue
        assert srv.run_once(time.monotonic() + 1001.0) is True  # then the idle scene
        assert strip.current != blue


def test_shutdown_blanks_and_removes_the_socket(config: RunnerConfig, strip: VirtualStrip) -> None:
    srv = RunnerServer(config, strip)
    thread = threading.Thread(target=srv.serve_forever)
    thread.start()
    assert srv.ready.wait(10)
    assert Path(config.socket_path).exists()
    with Client(config.socket_path) as c:
        c.hello()
        c.send(SetFrame(leds=[[255, 0, 0, 100]] * COUNT))
        c.expect(Frame)
        srv.shutdown()
        assert c.drain_until_closed()
    thread.join(10)
    assert strip.closed and strip.current == ((0, 0, 0, 0),) * COUNT
    assert not os.path.exists(config.socket_path)


def test_socket_mode_and_group(sock_dir: Path) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    for mode in (0o660, 0o600):
        cfg = RunnerConfig(socket_path=str(sock_dir / f"{mode:o}.sock"), socket_mode=mode,
                           socket_group=group)  # fmt: skip
        with bind_socket(cfg):
            st = os.stat(cfg.socket_path)
            assert (st.st_mode & 0o777, st.st_gid) == (mode, os.getgid())


def test_a_stale_socket_is_replaced(sock_dir: Path) -> None:
    path = sock_dir / "stale.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()  # a runner that died: the file stays, nobody listens
    with bind_socket(RunnerConfig(socket_path=str(path))) as live:
        with socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(path))
        assert live.fileno() >= 0


def test_cant_steal_a_live_runners_socket(server: RunnerServer, config: RunnerConfig) -> None:
    with pytest.raises(RunnerError, match="another runner is already serving"):
        bind_socket(config)
    with Client(config.socket_path) as c:  # and the first runner is untouched
        c.send(Ping())
        assert isinstance(c.recv(), Pong)


def test_cant_replace_a_file_that_is_not_a_socket(sock_dir: Path) -> None:
    path = sock_dir / "precious.txt"
    path.write_text("keep me")
    with pytest.raises(RunnerError, match="not a socket"):
        bind_socket(RunnerConfig(socket_path=str(path)))
    assert path.read_text() == "keep me"


def test_too_long_socket_path_is_a_clear_error() -> None:
    base = tempfile.mkdtemp(prefix="lt-")
    try:
        with pytest.raises(RunnerError, match="too long"):
            bind_socket(RunnerConfig(socket_path=os.path.join(base, "x" * 120)))
    finally:
        shutil.rmtree(base)


# --- a real runner process ----------------------------------------------------------------------


class RunnerProcess:
    """``python -m runner`` on a private socket with the virtual backend."""

    def __init__(self, directory: Path, count: int = COUNT, **extra_env: str) -> None:
        self.socket_path = str(directory / "runner.sock")
        self.dump = directory / "dump.json"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **_development_machine(),
            "TREE_SOCKET": self.socket_path,
            "TREE_LED_COUNT": str(count),
            "TREE_LED_BACKEND": "virtual",
            "TREE_VIRTUAL_DUMP": str(self.dump),
            "TREE_LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runner"], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(600):  # readiness, not a timing assertion: up to ~30 s on a busy machine
            if self.proc.poll() is not None:
                raise AssertionError(f"runner exited early: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
                probe.connect(self.socket_path)
                return
            time.sleep(0.05)
        raise AssertionError("runner did not start listening")

    def rss_kib(self) -> int:
        """Resident memory of the runner process."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def children(self) -> list[int]:
        """Pids whose parent is the runner (its sandbox children)."""
        found = []
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat_file.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.proc.pid:
                    found.append(int(stat_file.parent.name))
        return found

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the runner and reap it; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=SAFETY_TIMEOUT_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stderr.close()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def live() -> Iterator[RunnerProcess]:
    """One real runner process shared by the fuzzing tests."""
    with short_dir() as directory:
        runner = RunnerProcess(directory)
        yield runner
        assert runner.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_blanks_the_leds_and_exits_cleanly(sig: int) -> None:
    with short_dir() as directory:
        runner = RunnerProcess(directory)
        red = [[255, 0, 0, 100]] * COUNT
        with Client(runner.socket_path) as c:
            c.hello()
            c.send(SetFrame(leds=red))
            c.expect_frame(red)
            assert runner.stop(sig) == 0
        dump = json.loads(runner.dump.read_text())
        blank = [[0, 0, 0, 0]] * COUNT
        lit = [f for f in dump["recent"] if f != blank]
        assert lit and lit[-1] == red  # red was on the LEDs until the signal ...
        assert dump["recent"][-1] == dump["current"] == blank  # ... which blanked them
        assert dump["closed"] is True
        assert not os.path.exists(runner.socket_path)


@pytest.mark.slow
def test_serves_the_gpiozero_backend_on_mock_pins(sock_dir: Path) -> None:
    runner = RunnerProcess(
        sock_dir,
        count=2,
        TREE_LED_BACKEND="gpiozero",
        TREE_GPIOZERO_PINS="17,27,22;5,6,13",
        GPIOZERO_PIN_FACTORY="mock",
        GPIOZERO_MOCK_PIN_CLASS="mockpwmpin",
    )
    with Client(runner.socket_path) as c:
        welcome = c.hello()
        assert (welcome.backend, welcome.led_count) == ("gpiozero", 2)
        c.send(SetFrame(leds=[[255, 0, 0, 100], [0, 0, 255, 100]]))
        c.expect_frame([[255, 0, 0, 100], [0, 0, 255, 100]])
    assert runner.stop() == 0


@pytest.mark.slow
def test_sigterm_stops_a_running_program(sock_dir: Path) -> None:
    runner = RunnerProcess(sock_dir)
    with Client(runner.socket_path) as c:
        c.hello()
        c.send(Run(submission_id="forever", source=FOREVER, time_limit_s=60))
        c.expect(Started)
        c.expect(Frame)
        children = runner.children()
        assert children, "the program runs in a child process"
        assert runner.stop() == 0
    dump = json.loads(runner.dump.read_text())
    assert dump["current"] == [[0, 0, 0, 0]] * COUNT
    for pid in children:  # the sandbox child was killed and reaped, not orphaned
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def _fuzz_payloads() -> st.SearchStrategy[bytes]:
    valid = [encode_message(m) for m in (Ping(), Hello(version=PROTOCOL_VERSION), Stop())]
    valid.append(encode_message(SetFrame(leds=[[1, 2, 3, 4]] * COUNT)))
    valid.append(encode_message(Check(request_id="c", source="x = (1,\n")))
    truncated = st.sampled_from(valid).flatmap(
        lambda line: st.integers(0, len(line) - 1).map(lambda cut: line[:cut])
    )
    mutated = st.tuples(
        st.sampled_from(valid), st.integers(0, 200), st.binary(min_size=1, max_size=8)
    ).map(lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :])
    return st.lists(
        st.one_of(st.binary(max_size=3000), truncated, mutated, st.sampled_from(valid)),
        max_size=6,
    ).map(b"".join)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_fuzz_payloads(), hello_first=st.booleans())
def test_cant_crash_the_runner_with_random_bytes(
    live: RunnerProcess, payload: bytes, hello_first: bool
) -> None:
    with Client(live.socket_path) as fuzz:
        if hello_first:
            fuzz.hello()
        fuzz.send_raw(payload)
    with Client(live.socket_path) as probe:
        probe.send(Ping())
        assert probe.expect(Pong) == Pong()
    assert live.proc.poll() is None


@pytest.mark.slow
def test_cant_grow_the_runners_memory_with_bad_input(live: RunnerProcess) -> None:
    rng = random.Random(2024)
    huge = b"{" * (1024 * 1024 + 100)

    def abuse(rounds: int) -> None:
        for i in range(rounds):
            with Client(live.socket_path) as c:
                if i % 2:
                    c.hello()
                junk = rng.randbytes(rng.randrange(1, 4000)) + b"\n"
                c.send_raw(junk + huge[: rng.choice([10, len(huge)])] + encode_message(Ping()))
                c.sock.shutdown(socket.SHUT_WR)
                assert c.drain_until_closed()  # the runner processed all of it and hung up

    abuse(30)  # warm up allocator pools and caches
    before = live.rss_kib()
    abuse(200)
    after = live.rss_kib()
    print(f"runner RSS before {before} KiB, after 200 abusive connections {after} KiB")
    assert after - before < 32 * 1024, (before, after)
    with Client(live.socket_path) as probe:
        probe.send(Ping())
        probe.expect(Pong)


def _runner_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TREE_LED_BACKEND": "virtual",
        **_development_machine(),
    }
    return subprocess.run(
        [sys.executable, "-m", "runner"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT_S,
        check=False,
    )


def test_a_bad_layout_stops_the_runner_with_a_clear_message(sock_dir: Path) -> None:
    done = _runner_exit(
        {"TREE_SOCKET": str(sock_dir / "r.sock"), "TREE_LAYOUT": str(sock_dir / "none.csv")}
    )
    assert done.returncode == 2
    assert "cannot read layout file" in done.stderr
    assert not (sock_dir / "r.sock").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TREE_LED_COUNT": "9000"}, "TREE_LED_COUNT): 9000 is not between 1 and 5000"),
        ({"TREE_FPS": "-1"}, "TREE_FPS): -1.0 is not between 0"),
        ({"TREE_TIME_LIMIT": "soon"}, "setting time_limit_s: 'soon' is not a valid float"),
        ({"TREE_LED_BACKEND": "neon"}, "unknown LED backend 'neon'"),
    ],
)
def test_cant_start_the_runner_with_a_bad_setting(
    sock_dir: Path, env: dict[str, str], message: str
) -> None:
    # Before: 9000 LEDs started a runner that could not send a single frame or handshake.
    done = _runner_exit({"TREE_SOCKET": str(sock_dir / "r.sock"), **env})
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (sock_dir / "r.sock").exists()


@pytest.mark.slow
def test_a_second_runner_refuses_the_live_socket(live: RunnerProcess) -> None:
    done = _runner_exit({"TREE_SOCKET": live.socket_path})
    assert done.returncode == 2
    assert "another runner is already serving" in done.stderr
    with Client(live.socket_path) as probe:  # the first one still serves
        probe.send(Ping())
        probe.expect(Pong)


def test_cant_stall_the_runner_by_not_reading() -> None:
    ours, theirs = socket.socketpair()
    closed = threading.Event()
    conn = Connection(ours, 1, lambda c, m: True, lambda c: closed.set(), outbox_limit=8)
    conn.start()
    big = Frame(leds=[[255, 255, 255, 100]] * 5000)  # ~100 KB each; the peer never reads
    for _ in range(200):
        conn.send(big)  # must never block, whatever the peer does
    assert conn.closing
    conn.join(SAFETY_TIMEOUT_S)
    assert closed.is_set()
    theirs.close()


def test_connections_are_capped(server: RunnerServer, config: RunnerConfig) -> None:
    with contextlib.ExitStack() as stack:
        for _ in range(MAX_CONNECTIONS):  # one at a time, each one served
            c = stack.enter_context(Client(config.socket_path))
            c.send(Ping())
            c.expect(Pong)
        with Client(config.socket_path) as extra:
            assert extra.recv() is None  # one too many: hung up at once
    for _ in range(1000):  # slots are freed as the server notices the clients left
        with Client(config.socket_path) as again:
            again.send_raw(encode_message(Ping()))
            if again.recv() is not None:
                break
        time.sleep(0.01)
    else:
        raise AssertionError("no slot was freed")


class FlakyStrip(VirtualStrip):
    """A virtual strip whose every other write fails, like a glitching LED driver."""

    def __init__(self, led_count: int) -> None:
        super().__init__(led_count)
        self.writes = 0

    def _write(self, frame: Sequence[Led]) -> None:
        self.writes += 1
        if self.writes % 2 == 1 and not self.closed:
            raise OSError("LED driver glitch")
        super()._write(frame)


@pytest.mark.slow
def test_idle_scene_survives_a_failing_strip(config: RunnerConfig) -> None:
    strip = FlakyStrip(COUNT)
    srv = RunnerServer(config, strip)
    with serving(srv):
        for _ in range(600):  # until the loop has failed and recovered twice (~2 s)
            if strip.writes >= 4:
                break
            time.sleep(0.02)
        assert strip.writes >= 4 and strip.shown_count >= 2
        with Client(config.socket_path) as c:
            c.send(Ping())
            assert isinstance(c.recv(), Pong)
    assert strip.current == ((0, 0, 0, 0),) * COUNT


@pytest.mark.parametrize(
    ("fps", "period"), [(40.0, 1 / IDLE_FPS), (0.0, 1 / IDLE_FPS), (5.0, 0.2), (IDLE_FPS, 0.05)]
)
def test_cant_show_the_idle_scene_faster_than_tree_fps(fps: float, period: float) -> None:
    # TREE_FPS is the tree's cap (long WS281x strings cannot refresh faster); 0 only means
    # "programs unpaced", the idle scene keeps its own rate.
    assert idle_period(fps) == pytest.approx(period)


# --- red team (sandbox v2) ------------------------------------------------------------------------

SLOW_TO_CHECK = "lambda a: a.b\n" * 4600 + "import os\n"  # ~64 KB, seconds to transform


def test_a_stop_is_never_queued_behind_checks(client: Client) -> None:
    """Checks run off the connection's reader thread: the operator's Stop acts at once."""
    client.send(Run(submission_id="victim", source=FOREVER, time_limit_s=20))
    client.expect(Started)
    for n in range(3):
        client.send(Check(request_id=f"c{n}", source=SLOW_TO_CHECK))
    sent = time.monotonic()
    client.send(Stop(submission_id="victim"))
    finished = client.expect(Finished)
    assert (finished.status, finished.reason) == ("cancelled", "operator")
    assert time.monotonic() - sent < 2.0


def test_cant_strobe_the_tree_with_set_frame(client: Client, strip: VirtualStrip) -> None:
    """SetFrames closer than half a slot at TREE_FPS are refused, not shown."""
    white, off = [[255, 255, 255, 100]] * COUNT, [[0, 0, 0, 0]] * COUNT
    shown_before = strip.shown_count
    for n in range(20):
        client.send(SetFrame(leds=white if n % 2 else off, request_id=f"s{n}"))
    refused = [client.expect(Error) for _ in range(19)]
    assert all(e.code == "too_fast" for e in refused)
    assert strip.shown_count - shown_before <= 2


def test_a_client_that_stops_reading_cannot_pin_unbounded_memory() -> None:
    """The outbox is bounded in bytes: a stalled client is dropped before 8 MiB queue up."""
    from runner.server.connection import OUTBOX_BYTES, Connection

    ours, theirs = socket.socketpair()
    conn = Connection(ours, 1, lambda c, m: True, lambda c: None)
    conn.start()
    frame = Frame(submission_id="x", index=1, leds=[[255, 255, 255, 100]] * 5000)
    sent = 0
    try:
        for _ in range(400):  # 400 x ~90 KB = 36 MB if nothing bounded it
            conn.send(frame)
            sent += 1
            if conn.closing:
                break
        assert conn.closing, "a client that reads nothing was never dropped"
        assert sent * 90_000 < OUTBOX_BYTES + 4 * 1024 * 1024
    finally:
        conn.abort()
        theirs.close()
        conn.join(5)
