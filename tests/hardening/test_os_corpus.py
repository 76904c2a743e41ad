"""The OS-layer corpus: raw Python in the fully confined child, as if the language layer had fallen.

Every payload in ``tests/os_corpus`` runs through ``runner.audit``'s raw mode (plain ``compile``,
real builtins, the record channel in reach) under the real ``Supervisor``. Each header says how
the run must end. Around every run the canaries are checked: a marker file that must not appear
and a file that must survive, in a world-writable folder; a TCP listener that must get no
connection; a sibling process of the child's own uid that must survive; the runner itself, which
must receive no signal; the frames the LEDs showed (none after the deadline, none closer than
half a pacing slot); the child reaped. The flood payloads are also stopped by the operator
mid-run, and the supervisor's memory is measured around them.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyseccomp  # type: ignore[import-untyped]
import pytest

from protocol.messages import Message, Started
from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

CORPUS = Path(__file__).resolve().parents[1] / "os_corpus"
LEDS = 10
LIMIT_S = 1.5
FPS = 50.0
SYSCALLS = [
    "kill",
    "tgkill",
    "tkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_open",
    "pidfd_send_signal",
    "setsid",
    "setpgid",
    "fork",
    "vfork",
    "clone",
    "clone3",
    "shmget",
    "msgget",
    "semget",
    "memfd_create",
    "mq_open",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "add_key",
    "keyctl",
    "unshare",
    "mount",
    "setuid",
    "ioctl",
    "prctl",
    "prlimit64",
    "openat",
    "openat2",
    "rename",
    "unlink",
    "mkdir",
    "socketpair",
    "mmap",
    "fcntl",
]
FLOODS = [
    "forged_end_then_flood",
    "flood_then_eof",
    "frame_flood_no_acks",
    "zero_length_log_flood",
    "small_log_flood",
    "log_pipe_byte_flood",
    "log_pipe_gigabytes",
    "end_megabyte",
    "forged_end_then_hang",
    "setpgid_then_outlive",
    "sleep_forever_ignoring_alarm",
    "spin_past_limit",
]


# Given to every payload: raw system calls by name, and a check that one is refused.
PAYLOAD_HELPERS = """
import ctypes, os, signal, struct, time

libc = ctypes.CDLL(None, use_errno=True)


def sys_(name, *args):
    r = libc.syscall(NR[name], *args)
    return r, ctypes.get_errno()


def must_fail(name, *args):
    r, err = sys_(name, *args)
    if r >= 0:
        print("ESCAPED", name, r)
    else:
        print(name, "refused, errno", err)
"""


@dataclass(frozen=True)
class Payload:
    name: str
    tries: str
    expects: tuple[str, ...]
    body: str


def load_payloads() -> list[Payload]:
    payloads = []
    for path in sorted(CORPUS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        assert lines[0].startswith("# tries: ") and lines[1].startswith("# expect: "), path
        expects = tuple(e.strip() for e in lines[1].removeprefix("# expect: ").split("|"))
        payloads.append(Payload(path.stem, lines[0][9:], expects, text))
    return payloads


PAYLOADS = {p.name: p for p in load_payloads()}


def _child_uid() -> int:
    return pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.getuid()


class Canaries:
    """What must be unchanged after every payload."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ledtree-os-canary-", dir="/tmp"))
        self.dir.chmod(0o1777)
        self.marker = self.dir / "marker"
        self.keep = self.dir / "keep"
        self.keep.write_text("keep")
        self.keep.chmod(0o666)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        uid = _child_uid()
        self.sibling = subprocess.Popen(
            ["sleep", "3600"],
            user=uid if os.geteuid() == 0 else None,
            group=uid if os.geteuid() == 0 else None,
            extra_groups=[] if os.geteuid() == 0 else None,
        )
        self.signals: list[int] = []
        self._previous = signal.signal(signal.SIGURG, lambda n, f: self.signals.append(n))

    def prelude(self) -> str:
        numbers = {}
        for name in SYSCALLS:
            try:
                numbers[name] = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
            except (ValueError, OSError, RuntimeError):
                continue
        return (
            f"SIBLING_PID = {self.sibling.pid}\nRUNNER_PID = {os.getpid()}\n"
            f"MARKER = {str(self.marker)!r}\nPORT = {self.port}\nNR = {numbers!r}\n"
            + PAYLOAD_HELPERS
        )

    def problems(self) -> list[str]:
        found = []
        if self.marker.exists():
            found.append("the marker file was created")
        if self.keep.read_text() != "keep":
            found.append("the kept file changed")
        try:
            conn, _ = self.listener.accept()
            conn.close()
            found.append("the listener got a connection")
        except BlockingIOError:
            pass
        if self.sibling.poll() is not None:
            found.append(f"the sibling died ({self.sibling.returncode})")
        if self.signals:
            found.append(f"the runner received signals {self.signals}")
        return found

    def close(self) -> None:
        signal.signal(signal.SIGURG, self._previous)
        self.sibling.kill()
        self.sibling.wait()
        self.listener.close()
        for path in self.dir.iterdir():
            path.unlink()
        self.dir.rmdir()


@pytest.fixture(scope="module")
def canaries() -> Iterator[Canaries]:
    c = Canaries()
    yield c
    c.close()


def _config(tmp: Path, limit: float = LIMIT_S) -> RunnerConfig:
    return RunnerConfig(
        socket_path=str(tmp / "runner.sock"),
        led_count=LEDS,
        fps=FPS,
        time_limit_s=limit,
        cpu_limit_s=1,
        memory_limit_bytes=256 * 1024 * 1024,
        log_limit_bytes=4096,
        view_fps=0.0,
    )


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def _rss_kib() -> int:
    return _status_kib("VmRSS")


@dataclass
class Run:
    status: str
    reason: str
    log: str
    started: float
    finished: float
    frame_times: list[float]
    child_pid: int | None
    rss_growth_kib: int


def run_payload(
    payload: Payload, canaries: Canaries, tmp: Path, limit: float = LIMIT_S, stop_after: float = 0
) -> Run:
    strip = VirtualStrip(LEDS, history=100_000)
    started: list[float] = []

    def on_event(msg: Message) -> None:
        if isinstance(msg, Started):
            started.append(time.monotonic())
            if stop_after:
                threading.Timer(stop_after, supervisor.stop, args=("operator",)).start()

    Path("/proc/self/clear_refs").write_text("5")  # restart the peak (VmHWM) from here
    before = _rss_kib()
    with Supervisor(_config(tmp, limit), strip, spiral_cone(LEDS), raw=True) as supervisor:
        result = supervisor.run("audit", canaries.prelude() + payload.body, on_event=on_event)
        finished = time.monotonic()
        pid = supervisor.last_child_pid
    growth = _status_kib("VmHWM") - before  # the peak during the run, not what is left after
    times = [f.at for f in strip.frames]
    strip.close()
    return Run(
        result.status,
        result.reason,
        result.log,
        started[0] if started else finished,
        finished,
        times,
        pid,
        growth,
    )


def assert_contained(run: Run, canaries: Canaries, limit: float) -> None:
    assert "ESCAPED" not in run.log, run.log
    assert not canaries.problems()
    assert run.finished - run.started <= limit + 1.0, "the run outlived its limit by over 1 s"
    deadline = run.started + limit
    assert all(t <= deadline for t in run.frame_times), "a frame was shown after the deadline"
    gaps = [b - a for a, b in zip(run.frame_times, run.frame_times[1:], strict=False)]
    assert not gaps or min(gaps) >= 1 / FPS / 2, "two frames closer than the cap allows"
    assert run.child_pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(run.child_pid, 0)  # reaped: gone, not a zombie


def test_the_corpus_covers_every_class() -> None:
    assert len(PAYLOADS) >= 40
    for name in ("tgkill_sibling", "tkill_sibling", "rt_sigqueueinfo_sibling", "setsid"):
        assert name in PAYLOADS
    for name in ("rt_tgsigqueueinfo_sibling", "pidfd_send_signal_sibling", "setpgid_then_outlive"):
        assert name in PAYLOADS
    for name in ("shmget", "msgget", "semget", "process_vm_readv_runner", *FLOODS):
        assert name in PAYLOADS
    for name in ("end_as_list", "end_as_number", "end_megabyte", "zero_length_log_flood"):
        assert name in PAYLOADS


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_raw_payload_is_contained(name: str, canaries: Canaries, tmp_path: Path) -> None:
    payload = PAYLOADS[name]
    run = run_payload(payload, canaries, tmp_path)
    assert f"{run.status} {run.reason}" in payload.expects, (payload.tries, run.log[-1500:])
    assert_contained(run, canaries, LIMIT_S)
    assert run.rss_growth_kib <= 16 * 1024, f"supervisor grew {run.rss_growth_kib} KiB"


@pytest.mark.parametrize("name", FLOODS)
def test_operator_stop_ends_a_hostile_run_within_a_second(
    name: str, canaries: Canaries, tmp_path: Path
) -> None:
    limit, stop_after = 5.0, 0.5
    run = run_payload(PAYLOADS[name], canaries, tmp_path, limit=limit, stop_after=stop_after)
    assert run.finished - run.started <= stop_after + 1.0, f"{run.status} {run.reason}"
    assert (run.status, run.reason) in {("cancelled", "operator"), ("failed", "crashed")}
    stopped_at = run.started + stop_after
    assert all(t <= stopped_at + 0.05 for t in run.frame_times), "a frame after Stop"
    assert_contained(run, canaries, limit)


def test_the_audit_command_runs_raw_python_confined(tmp_path: Path) -> None:
    """``python -m runner.audit raw`` itself: real builtins, and still no process to fork."""
    program = tmp_path / "fork.py"
    program.write_text(
        "import os\ntry:\n    os.fork()\n    print('ESCAPED')\nexcept OSError as e:\n"
        "    print('fork refused', e.errno)\nsetLEDs([RED] * getLEDCount())\n"
    )
    env = {**os.environ, "TREE_SOCKET": str(tmp_path / "s.sock")}
    done = subprocess.run(
        [sys.executable, "-m", "runner.audit", "raw", str(program), "--leds", "5", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert '"fork refused 1' in done.stdout or "fork refused 1" in done.stdout
    assert '"frames": 1' in done.stdout and "ESCAPED" not in done.stdout
