"""What a tree program must never manage, each tried by a real program in a real child process.

Every test asserts the run's status and reason AND a side-effect canary: a file that must not
appear, a listening socket that must see no connection, a secret in the runner's environment
that must reach no log, LEDs that must not light.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.sandbox.policy import check_source
from runner.supervise.supervisor import RunResult, Supervisor

LEDS = 10
PROGRAMS = Path(__file__).parent.parent / "programs"
MakeConfig = Callable[..., RunnerConfig]  # the make_config fixture (conftest.py)
OFF = tuple((0, 0, 0, 0) for _ in range(LEDS))


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A path in a world-writable directory that no program may create."""
    place = tmp_path / "open"
    place.mkdir()
    place.chmod(0o777)
    return place / "canary"


def program(name: str, **subs: str) -> str:
    source = (PROGRAMS / f"{name}.py").read_text()
    for key, value in subs.items():
        source = source.replace(f"__{key.upper()}__", value)
    return source


def with_canary(source: str, canary: Path) -> str:
    # MARK is built at run time so a traceback quoting the source never contains the marker.
    return f"CANARY = {str(canary)!r}\nMARK = 'ESC' + 'APED'\n" + source


def assert_no_escape(result: RunResult, strip: VirtualStrip, canary: Path) -> None:
    assert "ESCAPED" not in result.log
    assert not canary.exists()
    assert strip.shown_count == 0


def assert_refused(result: RunResult, strip: VirtualStrip, canary: Path) -> None:
    """The run failed with a program error and left no trace."""
    assert (result.status, result.reason) == ("failed", "error")
    assert_no_escape(result, strip, canary)


def assert_reaped(supervisor: Supervisor) -> None:
    """The run's child and its whole process group are gone and reaped."""
    pid = supervisor.last_child_pid
    assert pid is not None
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


# --- imports ------------------------------------------------------------------------------

IMPORTS = {
    "os": "import os\nos.system('touch ' + CANARY)",
    "sys": "import sys\nsys.modules['os'].system('touch ' + CANARY)",
    "subprocess": "import subprocess\nsubprocess.run(['touch', CANARY])",
    "ctypes": "import ctypes\nctypes.CDLL(None).system(('touch ' + CANARY).encode())",
    "importlib": "import importlib\nimportlib.import_module('os').system('touch ' + CANARY)",
    "builtins": "import builtins\nbuiltins.open(CANARY, 'w')",
    "from_os": "from os import system\nsystem('touch ' + CANARY)",
    "os_path": "import os.path\nprint(MARK)",
    "dunder_import": "__import__('os').system('touch ' + CANARY)",
    "import_in_function": "def f():\n    import os\n    os.system('touch ' + CANARY)\nf()",
    "math_dot_os": "import math.os\nprint(MARK)",
}


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_cant_import_os(
    name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path
) -> None:
    source = with_canary(IMPORTS[name], canary)
    assert check_source(source), "the upload check must reject it too"
    result = supervisor.run("t", source)
    assert (result.status, result.reason) == ("failed", "error")
    assert result.error is not None and result.error.line is not None
    assert_no_escape(result, strip, canary)


# --- dunders and format -------------------------------------------------------------------

DUNDERS = {
    "class_subclasses": "for c in ().__class__.__base__.__subclasses__():\n    print(MARK, c)",
    "getattr_class": "cls = getattr((), '__cla' + 'ss__')\nprint(MARK, cls)",
    "func_globals": "def f():\n    pass\nprint(MARK, f.__globals__)",
    "getattr_globals": "def f():\n    pass\nprint(MARK, getattr(f, '__glo' + 'bals__'))",
    "builtins_name": "__builtins__['open'](CANARY, 'w')\nprint(MARK)",
    "generator_frame": "def g():\n    yield 1\nprint(MARK, g().gi_frame.f_globals)",
    "generator_frame_getattr": "def g():\n    yield 1\nprint(MARK, getattr(g(), 'gi_' + 'frame'))",
    "coroutine_frame": "async def c():\n    pass\nprint(MARK, getattr(c(), 'cr_' + 'frame'))",
    "traceback_frame": (
        "try:\n    1/0\nexcept Exception as e:\n"
        "    print(MARK, getattr(e, '__trace' + 'back__').tb_frame)"
    ),
    "traceback_attr": "try:\n    1/0\nexcept Exception as e:\n    print(MARK, e.__traceback__)",
    "print_self": "print(MARK, getattr(print, '__se' + 'lf__'))",
    "type_builtin": "print(MARK, type(1).__subclasses__)",
}


@pytest.mark.parametrize("name", sorted(DUNDERS))
def test_cant_reach_dunders(
    name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path
) -> None:
    result = supervisor.run("t", with_canary(DUNDERS[name], canary))
    assert_refused(result, strip, canary)


FORMATS = {
    "class_mro": "print(MARK, '{0.__class__.__mro__}'.format(1))",
    "split_name": "fmt = '{0.__cl' + 'ass__}'\nprint(MARK, fmt.format(1))",
    "globals": "def f():\n    pass\nprint(MARK, '{0.__globals__}'.format(f))",
    "format_map": "print(MARK, '{x.__class__}'.format_map({'x': 1}))",
    "gi_frame": "def g():\n    yield 1\nprint(MARK, '{0.gi_frame.f_globals}'.format(g()))",
    "str_format_unbound": "print(MARK, str.format('{0.__class__}', 1))",
    "index_then_attr": "print(MARK, '{0[0].__class__}'.format([1]))",
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_cant_escape_via_format(
    name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path
) -> None:
    result = supervisor.run("t", with_canary(FORMATS[name], canary))
    assert (result.status, result.reason) == ("failed", "error")
    assert "<class" not in result.log and "mappingproxy" not in result.log
    assert_no_escape(result, strip, canary)


# --- files, network, processes, environment ----------------------------------------------

READS = {
    "open": "print(MARK, open(SECRET).read())",
    "print_self_open": "b = getattr(print, '__se' + 'lf__')\nprint(MARK, b.open(SECRET).read())",
    "random_os": "import random\nprint(MARK, getattr(random, '_o' + 's'))",
    "time_loader": "import time\nprint(MARK, getattr(time, '__load' + 'er__'))",
    "math_spec": "import math\nprint(MARK, math.__spec__)",
}


@pytest.mark.parametrize("name", sorted(READS))
def test_cant_open_files(
    name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(f"secret-{uuid.uuid4()}")
    secret.chmod(0o644)
    source = with_canary(f"SECRET = {str(secret)!r}\n" + READS[name], canary)
    result = supervisor.run("t", source)
    assert (result.status, result.reason) == ("failed", "error")
    assert secret.read_text() not in result.log
    assert_no_escape(result, strip, canary)


WRITES = {
    "open_write": "open(CANARY, 'w').write('x')",
    "print_file": "print('x', file=CANARY)",
    "random_os_open": "import random\ngetattr(random, '_o' + 's').open(CANARY, 65)",
    "time_module_dict": "import time\nprint(time.__dict__)",
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_cant_write_files(
    name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path
) -> None:
    result = supervisor.run("t", with_canary(WRITES[name], canary))
    assert_refused(result, strip, canary)


NETWORK = {
    "socket": "import socket\nsocket.create_connection(('127.0.0.1', PORT)).send(b'x')",
    "urllib": "import urllib.request\nurllib.request.urlopen(f'http://127.0.0.1:{PORT}/')",
    "http_client": "import http.client\nhttp.client.HTTPConnection('127.0.0.1', PORT).connect()",
    "asyncio": "import asyncio\nasyncio.run(asyncio.open_connection('127.0.0.1', PORT))",
}


@pytest.mark.parametrize("name", sorted(NETWORK))
def test_cant_use_network(
    name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        result = supervisor.run("t", with_canary(f"PORT = {port}\n" + NETWORK[name], canary))
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert_refused(result, strip, canary)


FORKS = {
    "os_fork": "import os\nif os.fork() == 0:\n    open(CANARY, 'w')",
    "subprocess": "import subprocess\nsubprocess.Popen(['touch', CANARY])",
    "multiprocessing": "import multiprocessing\nmultiprocessing.Process(target=print).start()",
    "threading": "import threading\nthreading.Thread(target=print).start()",
    "pty": "import pty\npty.spawn('sh')",
}


@pytest.mark.parametrize("name", sorted(FORKS))
def test_cant_fork(name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path) -> None:
    result = supervisor.run("t", with_canary(FORKS[name], canary))
    assert_refused(result, strip, canary)
    assert_reaped(supervisor)


ENVIRON = {
    "os_environ": "import os\nprint(os.environ)",
    "getenv": "from os import getenv\nprint(getenv('LEDTREE_TEST_SECRET'))",
    "proc_self": "print(open('/proc/self/environ').read())",
    "proc_parent": "print(open('/proc/' + str(PPID) + '/environ').read())",
    "positions_and_log": "print(getLEDPositions(), getLEDCount())",
}


@pytest.mark.parametrize("name", sorted(ENVIRON))
def test_cant_read_environment(
    name: str,
    supervisor: Supervisor,
    strip: VirtualStrip,
    canary: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = f"s3cret-{uuid.uuid4()}"
    monkeypatch.setenv("LEDTREE_TEST_SECRET", secret)
    source = with_canary(f"PPID = {os.getpid()}\n" + ENVIRON[name], canary)
    result = supervisor.run("t", source)
    assert secret not in result.log
    assert result.error is None or secret not in result.error.message
    if name == "positions_and_log":
        assert (result.status, result.reason) == ("completed", "ended")
    else:
        assert (result.status, result.reason) == ("failed", "error")
    assert not canary.exists()


# --- resources ----------------------------------------------------------------------------


def test_cant_allocate_a_gigabyte(
    supervisor: Supervisor, strip: VirtualStrip, canary: Path
) -> None:
    result = supervisor.run("t", program("gigabyte"))
    assert (result.status, result.reason) == ("failed", "memory_limit")
    assert result.error is not None and result.error.line == 2
    assert_no_escape(result, strip, canary)
    assert_reaped(supervisor)


def test_cant_spin_past_the_cpu_limit(
    make_config: MakeConfig, strip: VirtualStrip, canary: Path
) -> None:
    # The wall clock is far away: only RLIMIT_CPU can end this long single C call.
    cfg = make_config(time_limit_s=60.0, cpu_limit_s=1)
    with Supervisor(cfg, strip, spiral_cone(LEDS)) as supervisor:
        result = supervisor.run("t", program("spin_cpu"))
        assert_reaped(supervisor)
    assert (result.status, result.reason) == ("failed", "cpu_limit")
    assert result.error is not None and result.error.line == 2
    assert_no_escape(result, strip, canary)


def test_cant_run_past_the_time_limit(supervisor: Supervisor, strip: VirtualStrip) -> None:
    result = supervisor.run("t", program("endless_frames"), time_limit_s=0.5)
    assert (result.status, result.reason) == ("completed", "time_limit")
    assert result.duration_s >= 0.5
    assert result.frames == strip.shown_count > 0
    assert_reaped(supervisor)


def test_cant_catch_the_kill(supervisor: Supervisor, strip: VirtualStrip, canary: Path) -> None:
    source = program("catch_the_kill", canary=str(canary))
    result = supervisor.run("t", source, time_limit_s=0.5)
    assert (result.status, result.reason) == ("completed", "time_limit")
    assert_reaped(supervisor)
    assert_no_escape(result, strip, canary)


SIGNALS = {
    "signal_module": "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)",
    "raise_systemexit": "raise SystemExit(0)",
    "exit_builtin": "exit()",
}


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_cant_catch_the_kill_with_signals(
    name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path
) -> None:
    result = supervisor.run("t", with_canary(SIGNALS[name], canary), time_limit_s=1.0)
    assert result.status == "failed"
    assert_no_escape(result, strip, canary)


@pytest.mark.parametrize(
    ("name", "reason", "line"),
    [("recurse", "error", 2), ("nested_repr", "error", 5), ("nested_hash", "killed", 5)],
)
def test_cant_recurse_the_runner_down(
    name: str, reason: str, line: int, supervisor: Supervisor, strip: VirtualStrip
) -> None:
    result = supervisor.run("t", program(name))
    # A RecursionError, or a C stack overflow that kills the child: a result either way.
    assert (result.status, result.reason) == ("failed", reason)
    assert result.error is not None and result.error.line == line
    if reason == "killed":
        assert "SIGSEGV" in result.error.message
    assert_reaped(supervisor)
    after = supervisor.run("t", program("blue"))
    assert (after.status, after.reason) == ("completed", "ended")


def test_cant_flood_the_log(supervisor: Supervisor) -> None:
    result = supervisor.run("t", program("flood_log"), time_limit_s=0.5)
    assert result.status in {"completed", "failed"}
    assert result.reason in {"time_limit", "cpu_limit"}
    note = "[log truncated: a run's log is limited to 2048 bytes]"
    assert result.log.endswith(note + "\n")
    assert len(result.log.encode()) <= 2048 + len(note) + 2


def test_cant_flood_frames(make_config: MakeConfig, strip: VirtualStrip) -> None:
    fps = 20.0
    with Supervisor(make_config(fps=fps), strip, spiral_cone(LEDS)) as supervisor:
        result = supervisor.run("t", program("endless_frames"), time_limit_s=0.6)
    assert (result.status, result.reason) == ("completed", "time_limit")
    shown = strip.frames
    assert len(shown) == result.frames > 1
    # Paced, not dropped: consecutive frames count up one by one, on a grid of slots (a frame
    # shown late keeps the grid, so two frames are never closer than half a slot).
    reds = [frame.leds[0][0] for frame in shown]
    assert reds == [(reds[0] + i) % 256 for i in range(len(reds))]
    gaps = [b.at - a.at for a, b in zip(shown, shown[1:], strict=False)]
    assert min(gaps) >= 1 / fps / 2
    assert result.frames <= result.duration_s * fps + 1


def test_cant_show_a_short_frame(supervisor: Supervisor, strip: VirtualStrip, canary: Path) -> None:
    result = supervisor.run("t", program("short_frame"))
    assert (result.status, result.reason) == ("failed", "invalid_frame")
    assert result.error is not None
    assert result.error.type == "ValueError" and result.error.line == 1
    assert f"exactly {LEDS} LEDs, got {LEDS - 1}" in result.error.message
    assert_no_escape(result, strip, canary)
    assert strip.current == OFF


BAD_VALUES = {
    "nan": ("(float('nan'), 0, 0, 100)", "ValueError", "LED 3: red nan is not a number"),
    "float_over_255": (
        "(0, 255.0, 256.0, 100)",
        "ValueError",
        "LED 3: blue 256.0 is outside 0-255",
    ),
    "bool": ("(0, True, 0, 100)", "TypeError", "LED 3: green must be a plain int or float, not bo"),
    "over_255": ("(0, 0, 256, 100)", "ValueError", "LED 3: blue 256 is outside 0-255"),
    "over_100": ("(0, 0, 255, 150)", "ValueError", "LED 3: brightness 150 is outside 0-100"),
    "negative": ("(-1, 0, 0, 100)", "ValueError", "LED 3: red -1 is outside 0-255"),
    "string": ("('0', 0, 0, 100)", "TypeError", "LED 3: red must be a plain int or float, not str"),
    "huge": ("(10**100, 0, 0, 100)", "ValueError", "LED 3: red 1000"),
    "three_values": ("(0, 0, 0)", "ValueError", "LED 3: expected 4 values"),
    "none": ("None", "TypeError", "LED 3: expected a list or tuple"),
    "int_subclass": ("Sneaky(300)", "TypeError", "LED 3: expected a list or tuple"),
    "int_subclass_value": (
        "(Tricky(7), 0, 0, 100)",
        "TypeError",
        "red must be a plain int or float",
    ),
    "list_subclass": ("Shifty([0, 0, 0, 100])", "TypeError", "LED 3: expected a list or tuple"),
}
TRICKS = """
class Tricky(int):
    def __lt__(self, other):
        return False
    def __ge__(self, other):
        return True
class Sneaky(int):
    pass
class Shifty(list):
    def __len__(self):
        return 4
    def __iter__(self):
        return iter([999, 999, 999, 999])
"""


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_cant_show_out_of_range_values(
    name: str, supervisor: Supervisor, strip: VirtualStrip, canary: Path
) -> None:
    led, error_type, message = BAD_VALUES[name]
    source = TRICKS + f"states = [BLUE] * getLEDCount()\nstates[3] = {led}\nsetLEDs(states)\n"
    result = supervisor.run("t", source)
    assert (result.status, result.reason) == ("failed", "invalid_frame")
    assert result.error is not None and result.error.type == error_type
    assert message in result.error.message
    assert result.error.line == source.count("\n")
    assert_no_escape(result, strip, canary)
    assert strip.current == OFF


ORPHAN_PARENT = """
import os, sys
from protocol.messages import Started
from runner.config import RunnerConfig
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor

sup = Supervisor(RunnerConfig(led_count=3, time_limit_s=1.0), VirtualStrip(3), [(0, 0, 0)] * 3)

def die(msg):
    if isinstance(msg, Started):
        print(sup.last_child_pid, flush=True)
        os._exit(0)  # the runner dies without killing its child

sup.run("t", sys.argv[1], on_event=die)
"""


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_cant_outlive_a_dead_runner(canary: Path) -> None:
    """A runner that dies mid-run leaves no program running: the kernel kill timer ends it."""
    import subprocess
    import sys
    import time

    source = program("catch_the_kill", canary=str(canary))
    done = subprocess.run(
        [sys.executable, "-c", ORPHAN_PARENT, source], capture_output=True, text=True, timeout=60
    )
    pid = int(done.stdout.split()[0])
    give_up = time.monotonic() + 60  # a liveness bound, not a speed check
    while running(pid) and time.monotonic() < give_up:
        time.sleep(0.2)
    assert not running(pid)
    assert not canary.exists()
