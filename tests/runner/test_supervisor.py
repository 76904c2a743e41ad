"""The Supervisor with real child processes: results, events, stop, kill, and resilience."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from protocol.messages import Finished, Frame, Log, Message, Started
from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.sandbox.confine import Limits, confine, default_read_paths
from runner.supervise.supervisor import Supervisor

LEDS = 10
PROGRAMS = Path(__file__).parent.parent / "programs"
MakeConfig = Callable[..., RunnerConfig]  # the make_config fixture (conftest.py)
BLUE_FRAME = tuple((0, 0, 255, 100) for _ in range(LEDS))


def program(name: str) -> str:
    return (PROGRAMS / f"{name}.py").read_text()


@pytest.mark.parametrize("name", ["seed", "blue"])
def test_seed_example_shows_blue(name: str, supervisor: Supervisor, strip: VirtualStrip) -> None:
    result = supervisor.run("sub-1", program(name))
    assert (result.status, result.reason, result.error) == ("completed", "ended", None)
    assert result.frames == 1 == strip.shown_count
    assert strip.current == BLUE_FRAME
    message = result.to_message("sub-1")
    assert isinstance(message, Finished)
    assert (message.submission_id, message.status, message.frames) == ("sub-1", "completed", 1)


def test_ordinary_python_works(supervisor: Supervisor, strip: VirtualStrip) -> None:
    result = supervisor.run("t", program("ordinary_python"))
    assert (result.status, result.reason) == ("completed", "ended"), result
    assert "caught KeyError('missing')" in result.log
    assert "total=30 0.479 True True" in result.log
    assert strip.shown_count == 4
    assert strip.current == tuple((255, 0, 0, 50) for _ in range(LEDS))


def test_error_names_the_line_in_the_users_file(supervisor: Supervisor) -> None:
    result = supervisor.run("t", program("error_line"))
    assert (result.status, result.reason) == ("failed", "error")
    assert result.error is not None
    assert (result.error.type, result.error.line) == ("IndexError", 3)
    assert result.log.startswith("10\n20\n30\nTraceback")
    assert "line 7, in <module>" in result.log and "line 3, in brightness" in result.log


def test_rejected_program_is_an_error_with_its_line(supervisor: Supervisor) -> None:
    result = supervisor.run("t", "x = 1\ny = (\n")
    assert (result.status, result.reason) == ("failed", "error")
    assert result.error is not None and result.error.type == "SyntaxError"
    assert result.error.line == 2


ODD_ERRORS = {
    "giant_name": (
        "class " + "E" * 500 + "(Exception):\n    pass\nraise " + "E" * 500 + "()",
        "E" * 100,
    ),
    "lone_surrogate": ("raise ValueError('bad \\ud800 x')", "ValueError"),
    "broken_str": (
        "class Odd(Exception):\n    def __str__(self):\n        return 1 / 0\nraise Odd()",
        "Odd",
    ),
}


@pytest.mark.parametrize("name", sorted(ODD_ERRORS))
def test_odd_exceptions_are_clean_errors(name: str, supervisor: Supervisor) -> None:
    source, type_name = ODD_ERRORS[name]
    result = supervisor.run("t", source)
    assert (result.status, result.reason) == ("failed", "error")
    assert result.error is not None and result.error.type == type_name
    assert result.error.line == source.count("\n") + 1
    result.to_message("t").model_dump_json()  # encodes cleanly for the protocol


def test_frame_error_can_be_caught_and_names_the_led(
    supervisor: Supervisor, strip: VirtualStrip
) -> None:
    result = supervisor.run("t", program("bad_value_caught"))
    assert (result.status, result.reason) == ("completed", "ended")
    assert "caught: LED 7: brightness 150 is outside 0-100" in result.log
    assert strip.shown_count == 1 and strip.current == BLUE_FRAME


def test_frames_are_copied(supervisor: Supervisor, strip: VirtualStrip) -> None:
    result = supervisor.run("t", program("mutate_after_show"))
    assert (result.status, result.log) == ("completed", "mutated\n")
    assert strip.current == BLUE_FRAME


def test_events_started_log_frames_with_the_last(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    events: list[Message] = []
    source = "for i in range(50):\n    setLEDs([(i, 0, 0, 100)] * getLEDCount())\nprint('done')\n"
    with Supervisor(make_config(view_fps=5.0), strip, spiral_cone(LEDS)) as sup:
        result = sup.run("sub-9", source, on_event=events.append)
    assert result.frames == 50
    assert isinstance(events[0], Started) and events[0].submission_id == "sub-9"
    frames = [e for e in events if isinstance(e, Frame)]
    logs = [e for e in events if isinstance(e, Log)]
    assert [e.text for e in logs] == ["done\n"]
    assert 1 <= len(frames) < 50  # rate-capped ...
    assert frames[-1].leds[0] == [49, 0, 0, 100]  # ... and the last frame is always sent
    assert frames[-1].index == 50 and all(f.submission_id == "sub-9" for f in frames)


def test_printed_lines_reach_viewers_before_a_long_sleep_ends(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    # The child sends printed text in batches (at most 20 a second): text held back when the
    # program goes to sleep goes out then, not when it wakes.
    events: list[tuple[float, Message]] = []
    source = "print('one')\nprint('two')\nimport time\ntime.sleep(2)\nprint('three')\n"
    with Supervisor(make_config(time_limit_s=5.0), strip, spiral_cone(LEDS)) as sup:
        started = time.monotonic()
        result = sup.run("t", source, on_event=lambda e: events.append((time.monotonic(), e)))
    assert (result.status, result.log) == ("completed", "one\ntwo\nthree\n")
    early = "".join(e.text for at, e in events if isinstance(e, Log) and at < started + 1.5)
    assert early == "one\ntwo\n"


def test_a_burst_of_prints_loses_nothing(make_config: MakeConfig, strip: VirtualStrip) -> None:
    source = "for i in range(5000):\n    print(i)\n"
    with Supervisor(make_config(log_limit_bytes=40_000), strip, spiral_cone(LEDS)) as sup:
        result = sup.run("t", source)
    assert result.status == "completed"
    assert result.log == "".join(f"{i}\n" for i in range(5000))


def test_stop_cancels_the_run(supervisor: Supervisor) -> None:
    def stop_when_started(msg: Message) -> None:
        if isinstance(msg, Started):
            threading.Thread(target=supervisor.stop, args=("operator",)).start()

    result = supervisor.run("t", program("catch_the_kill"), 30.0, stop_when_started)
    assert (result.status, result.reason) == ("cancelled", "operator")
    assert not Path(f"/proc/{supervisor.last_child_pid}").exists()
    assert supervisor.stop() is False  # nothing runs now


def test_kill_9_of_the_child_is_a_result(supervisor: Supervisor) -> None:
    def kill_child(msg: Message) -> None:
        if isinstance(msg, Started):
            assert supervisor.last_child_pid is not None
            os.kill(supervisor.last_child_pid, signal.SIGKILL)

    result = supervisor.run("t", program("catch_the_kill"), 30.0, kill_child)
    assert (result.status, result.reason) == ("failed", "killed")
    assert result.error is not None and "SIGKILL" in result.error.message
    after = supervisor.run("t", program("blue"))
    assert after.status == "completed"


def test_segfault_is_reported_as_killed(
    tmp_path: Path, make_config: MakeConfig, strip: VirtualStrip
) -> None:
    crash = tmp_path / "crash.py"
    crash.write_text("import ctypes, sys\nsys.stdout.flush()\nctypes.string_at(0)\n")
    command = [sys.executable, "-I", str(crash)]
    with Supervisor(make_config(), strip, [], child_command=command) as sup:
        result = sup.run("t", "pass")
    assert (result.status, result.reason) == ("failed", "killed")
    assert result.error is not None and "SIGSEGV" in result.error.message


# What CPython writes when an allocation fails where it cannot raise MemoryError, then aborts.
FATAL_MEMORY = "Fatal Python error: Cannot recover from MemoryErrors while normalizing exceptions."


@pytest.mark.parametrize(
    ("how", "reason"), [("os.abort()", "memory_limit"), ("ctypes.string_at(0)", "killed")]
)
def test_only_an_abort_for_want_of_memory_is_called_out_of_memory(
    tmp_path: Path, make_config: MakeConfig, strip: VirtualStrip, how: str, reason: str
) -> None:
    # A program's words reach stderr too (a dropped generator's error): the same fatal words
    # before a segmentation fault are a crash, not memory (red team round eighteen).
    crash = tmp_path / "crash.py"
    crash.write_text(
        f"import ctypes, os, sys\nsys.stderr.write({FATAL_MEMORY!r} + '\\n')\n"
        f"sys.stderr.flush()\n{how}\n"
    )
    command = [sys.executable, "-I", str(crash)]
    with Supervisor(make_config(), strip, [], child_command=command) as sup:
        result = sup.run("t", "pass")
    assert (result.status, result.reason) == ("failed", reason), result.error


HOSTILE_CHILD = """
import json, os, struct, sys
header = struct.Struct(">cI")
def send(kind, payload):
    os.write(1, header.pack(kind, len(payload)) + payload)
# A compromised child may say anything in READY: it claims every layer.
layers = ("rlimits", "netns", "no_new_privs", "landlock", "uid", "seccomp")
send(b"R", json.dumps({name: "ok" for name in layers}).encode())
os.read(0, 1 << 20)
send(b"F", bytes([0, 0, 255, 100]) * LEDS)  # a good frame ...
os.read(0, 1)
send(b"F", bytes([0, 0, 255, 200]) * LEDS)  # ... then one the child's own check would refuse
os.read(0, 1)
send(b"E", json.dumps({"outcome": "completed", "reason": "ended", "error": None}).encode())
"""


def test_parent_rechecks_every_frame(
    tmp_path: Path, make_config: MakeConfig, strip: VirtualStrip
) -> None:
    hostile = tmp_path / "hostile_child.py"
    hostile.write_text(f"LEDS = {LEDS}\n" + textwrap.dedent(HOSTILE_CHILD))
    with Supervisor(
        make_config(), strip, [], child_command=[sys.executable, "-I", str(hostile)]
    ) as sup:
        result = sup.run("t", "pass")
    assert (result.status, result.reason) == ("failed", "invalid_frame")
    assert result.error is not None and "brightness 200" in result.error.message
    assert strip.shown_count == 1 and strip.current == BLUE_FRAME


def test_garbage_from_the_child_is_a_crash_not_an_exception(
    tmp_path: Path, make_config: MakeConfig, strip: VirtualStrip
) -> None:
    garbage = tmp_path / "garbage.py"
    garbage.write_text("import os\nos.write(1, b'Z' + b'\\xff' * 4 + os.urandom(100))\n")
    with Supervisor(
        make_config(), strip, [], child_command=[sys.executable, "-I", str(garbage)]
    ) as sup:
        result = sup.run("t", "pass")
    assert (result.status, result.reason) == ("failed", "crashed")


def test_every_sandbox_layer_is_in_force(supervisor: Supervisor) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the uid drop and the network namespace are root's layers")
    supervisor.run("t", program("blue"))
    assert supervisor.layers == {
        "rlimits": "ok",
        "netns": "ok",
        "no_new_privs": "ok",
        "landlock": "ok",
        "uid": "ok",
        "seccomp": "ok",
    }


def test_prestarted_child_runs_one_program_each(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    with Supervisor(make_config(), strip, spiral_cone(LEDS), prestart=True) as sup:
        pids = set()
        for _ in range(3):
            result = sup.run("t", program("blue"))
            assert result.status == "completed"
            pids.add(sup.last_child_pid)
        assert len(pids) == 3


@pytest.mark.slow
def test_after_100_hostile_programs_a_good_one_still_runs(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    hostile = [
        "import os",
        "x = 'a' * (1 << 30)",
        "def f():\n    return f()\nf()",
        "setLEDs([BLUE] * 3)",
        "setLEDs([(0, 0, 0, 101)] * getLEDCount())",
        "getattr(print, '__se' + 'lf__')",
        "raise SystemExit(1)",
        "print('x' * 100000)",
        "'{0.__class__}'.format(1)",
        "while True:\n    setLEDs([RED] * getLEDCount())",
    ]
    with Supervisor(make_config(), strip, spiral_cone(LEDS)) as sup:
        statuses = {sup.run("t", hostile[i % len(hostile)], 0.3).status for i in range(100)}
        assert statuses == {"failed", "completed"}
        strip.clear_history()
        result = sup.run("t", program("seed"))
    assert (result.status, result.reason) == ("completed", "ended")
    assert strip.current == BLUE_FRAME and len(strip.frames) == 1


# --- the OS layer alone, without the language policy ---------------------------------------

PROBE = """
import json, os, socket, sys
from runner.sandbox.confine import Limits, confine
limits = Limits.from_dict(json.loads(sys.argv[1]))
canary, secret = sys.argv[2], sys.argv[3]
report = confine(limits)
results = {}
def attempt(name, action):
    try:
        action()
        results[name] = "allowed"
    except OSError as exc:
        results[name] = f"denied {exc.errno}"
def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
attempt("socket", lambda: socket.socket())
attempt("unix_socketpair", lambda: socket.socketpair())
attempt("fork", fork)
attempt("exec", lambda: os.execv("/bin/true", ["true"]))
attempt("write", lambda: open(canary, "w"))
attempt("read_secret", lambda: open(secret).read())
attempt("read_etc", lambda: open("/etc/hostname").read())
attempt("setuid_root", lambda: os.setuid(0))
attempt("kill_parent", lambda: os.kill(os.getppid(), 0))
attempt("list_tmp", lambda: os.listdir("/tmp"))
print(json.dumps({"report": report, "results": results, "env": dict(os.environ)}))
"""


def test_os_layer_holds_without_the_policy(tmp_path: Path) -> None:
    """Even arbitrary Python in a confined child cannot make sockets, processes or files."""
    import json

    if os.geteuid() != 0:
        pytest.skip("needs root: the confined child drops to uid 65534")

    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o777)
    open_dir.chmod(0o777)
    canary = open_dir / "canary"
    secret = tmp_path / "secret"
    secret.write_text("secret")
    secret.chmod(0o644)
    limits = Limits(
        memory_bytes=256 << 20, cpu_seconds=5, uid=65534, gid=65534, read_paths=default_read_paths()
    )
    argv = [
        sys.executable,
        "-I",
        "-c",
        PROBE,
        json.dumps(limits.to_dict()),
        str(canary),
        str(secret),
    ]
    done = subprocess.run(argv, capture_output=True, env={}, timeout=30, check=True)
    out = json.loads(done.stdout)
    assert set(out["report"].values()) == {"ok"}
    assert all(v.startswith("denied") for v in out["results"].values()), out["results"]
    assert out["env"] == {} or set(out["env"]) <= {"LC_CTYPE"}
    assert not canary.exists()


def test_confine_reports_unprivileged_runs(tmp_path: Path) -> None:
    """Without root the uid and namespace layers say why they did not apply (never silently)."""
    report = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import json, os, sys\nfrom runner.sandbox.confine import Limits, confine\n"
            # As root, become nobody first; any other user already is unprivileged.
            "if os.getuid() == 0: os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            "print(json.dumps(confine(Limits(memory_bytes=256 << 20, cpu_seconds=5))))",
        ],
        capture_output=True,
        env={},
        timeout=30,
        check=True,
    )
    states = __import__("json").loads(report.stdout)
    assert states["uid"].startswith("missing: not root")
    assert states["netns"].startswith("missing: not root") or states["netns"].startswith("ok: ")
    assert states["seccomp"] == "ok" and states["rlimits"] == "ok"
    assert callable(confine)


WEAK_CHILD = """
import json, os, struct
header = struct.Struct(">cI")
report = {"rlimits": "ok", "seccomp": "unavailable: OSError: [Errno 38] Function not implemented"}
data = json.dumps(report).encode()
os.write(1, header.pack(b"R", len(data)) + data)
os.read(0, 1 << 20)
end = json.dumps({"outcome": "completed", "reason": "ended", "error": None}).encode()
os.write(1, header.pack(b"E", len(end)) + end)
"""


def test_a_missing_layer_is_logged_once(
    tmp_path: Path, make_config: MakeConfig, strip: VirtualStrip, caplog: pytest.LogCaptureFixture
) -> None:
    from runner.supervise import supervisor as supervisor_module

    supervisor_module._warned_layers.discard("seccomp")
    weak = tmp_path / "weak_child.py"
    weak.write_text(WEAK_CHILD)
    command = [sys.executable, "-I", str(weak)]
    # A development machine (TREE_SANDBOX_DEV): seccomp may be missing; elsewhere a child
    # without it gets no program (tests/hardening/test_layer_fail_closed.py).
    config = make_config(sandbox_dev=True)
    with Supervisor(config, strip, [], child_command=command) as sup:
        for _ in range(2):
            assert sup.run("t", "pass").status == "completed"
        assert sup.layers["seccomp"].startswith("unavailable")
    warnings = [r for r in caplog.records if "seccomp" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"


def test_a_failing_listener_does_not_end_the_run(supervisor: Supervisor) -> None:
    def explode(msg: Message) -> None:
        raise ConnectionResetError("viewer went away")

    result = supervisor.run("t", program("seed"), on_event=explode)
    assert (result.status, result.reason, result.frames) == ("completed", "ended", 1)


def test_the_runner_refuses_to_start_without_every_layer(
    tmp_path: Path, make_config: MakeConfig
) -> None:
    """A child reporting a missing layer stops the runner, naming the layer and the way out."""
    from runner.exc import RunnerError
    from runner.server.main import check_layers

    weak = tmp_path / "weak_child.py"
    weak.write_text(WEAK_CHILD)
    command = [sys.executable, "-I", str(weak)]
    with pytest.raises(RunnerError) as info:
        check_layers(make_config(), command)
    text = str(info.value)
    assert "refusing to start" in text and "seccomp" in text and "TREE_SANDBOX_DEV=1" in text
    assert "netns (missing: not reported)" in text


def test_a_development_machine_may_start_with_a_missing_layer(
    tmp_path: Path, make_config: MakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    from runner.server.main import check_layers

    weak = tmp_path / "weak_child.py"
    weak.write_text(WEAK_CHILD)
    layers = check_layers(make_config(sandbox_dev=True), [sys.executable, "-I", str(weak)])
    assert layers["seccomp"].startswith("unavailable")
    assert any("TREE_SANDBOX_DEV is set" in r.getMessage() for r in caplog.records)


def test_every_layer_is_in_force_here_as_root(make_config: MakeConfig) -> None:
    """On this machine as root (CI), a real child reports every layer in force."""
    from runner.sandbox.confine import LAYERS, in_force
    from runner.server.main import check_layers

    if os.geteuid() != 0:
        pytest.skip("needs root: the uid drop and the network namespace need it")
    layers = check_layers(make_config())
    assert set(layers) == set(LAYERS) and all(in_force(s) for s in layers.values()), layers


def test_the_child_never_imports_pydantic() -> None:
    """``runner/sandbox/`` is what the child imports: it must start fast and, once confined,
    can import nothing more, so none of its modules may pull in pydantic (or the protocol)."""
    modules = sorted(
        f"runner.sandbox.{p.stem}"
        for p in (Path(__file__).parents[2] / "runner" / "sandbox").glob("*.py")
        if p.stem != "__init__"
    )
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'protocol.messages'))))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
    assert len(modules) >= 10


def test_a_child_cant_outlive_a_dead_runner(make_config: MakeConfig) -> None:
    """With nobody left to kill it (the runner was kill -9'd), the kernel's SIGKILL timer armed
    before seccomp ends a child that ignores SIGALRM and sleeps forever."""
    import dataclasses
    import struct

    from runner.sandbox.wire import HEADER, PROGRAM, READY
    from runner.supervise.spawn import CHILD_COMMAND, child_limits, spawn_child

    limits = dataclasses.replace(child_limits(make_config()), wall_limit_s=1.5)
    started = time.monotonic()
    child = spawn_child([*CHILD_COMMAND, json.dumps(limits.to_dict())])
    proc = child.proc
    assert proc.stdout is not None and proc.stdin is not None
    kind, size = struct.unpack(">cI", proc.stdout.read(HEADER.size))
    assert kind == READY
    proc.stdout.read(size)
    source = (
        "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "while True:\n    time.sleep(1000)\n"
    )
    program = {"source": source, "led_count": 1, "positions": [[0, 0, 0]], "log_limit": 100,
               "time_limit": 3600, "mode": "raw"}  # fmt: skip
    data = json.dumps(program).encode()
    proc.stdin.write(HEADER.pack(PROGRAM, len(data)) + data)
    proc.stdin.flush()
    try:
        code = proc.wait(timeout=15)
    finally:
        proc.kill()
        proc.wait()
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 1.5 + 3.0
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    os.close(child.log_fd)
