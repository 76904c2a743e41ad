"""Red team, round sixteen: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round16-language.md`` has the reproductions, what
held, and the suggested fixes; the numbers below are its findings'. Every memory experiment
runs in a child, never in the pytest process. The escape's second half (from a fake
``bytearray`` over all memory to the real ``exec``) is the one every round since eight used.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import (
    FROM_MEMORY_TO_EXEC,
    assert_no_escape,
    config,
    dry_run,
    tree_run,
)

# The refill: a ``Mem`` header (refcount, type, size 2**62, allocated 2**62, ob_bytes =
# ob_start = exports = 0) at offset 16 of an 848-byte buffer, where a freed 848-byte GC
# object (after its 16-byte GC header) was. ``Mem`` is a program ``bytearray`` subclass whose
# ``__repr__`` keeps whatever it is called on: when the interpreter asks the freed object's
# repr, the program gets the fake, a bytearray over all memory.
FAKE_MEM = """def word(value):
    return value.to_bytes(8, "little")


class Mem(bytearray):
    def __repr__(self):
        found.append(self)  # the freed object, read as one of these
        return "seen"


FAKE = bytes(16) + word(1 << 40) + word(id(Mem)) + word(1 << 62) + word(1 << 62)
FAKE = FAKE + bytes(847 - len(FAKE))
found = []
spray = []


class Ornament(tuple):
    pass
"""

# --- 1. An exception's str()/repr() reads its first argument through a borrowed pointer ------
#
# CPython 3.11's ``BaseException_str`` is ``PyObject_Str(PyTuple_GET_ITEM(self->args, 0))``
# (``BaseException_repr`` the same with ``%R``): the first argument is not held while its
# ``__str__`` runs. For a program object that is harmless (its method's frame holds it), but a
# built-in object whose C ``__str__``/``__repr__`` formats several of its own fields one after
# another (``OSError``: errno, strerror, filename; ``slice``: start, stop, step) reads the later
# fields through the object itself. The program's exception is writable (``holder.args = ()``)
# and may re-run ``BaseException.__init__`` (``super().__init__()``): either, from inside the
# first field's ``__str__``/``__repr__``, drops the args tuple, so the OSError (or slice) and its
# filename (or stop) are freed mid-format; the program refills the chunk and the interpreter
# calls ``repr`` on the fake, a program ``bytearray`` subclass over all memory. Round fourteen
# closed the *subclass* route into OSError's fields (finding 3); a built-in OSError, freed as a
# whole, needs none. Found: every run (tree and dry run, both variants), ``completed``/``ended``,
# log "ESCAPED: pid, uid, environment: (..., 65534, ['LC_CTYPE'])". Plain CPython 3.11.7 gets
# the fake too (and segfaults at exit).
EXCEPTION_ARGS_ESCAPE = {
    "oserror-args-assignment": FAKE_MEM
    + """

class Trick:
    def __str__(self):
        holder.args = ()  # frees the args tuple, the OSError, then its filename
        spray.extend([bytearray(FAKE) for i in range(50)])
        return "2"


class Holder(Exception):
    pass


msg = "no such light"
holder = Holder(OSError(Trick(), msg, Ornament(range(100))))
print("text:", str(holder))
"""
    + FROM_MEMORY_TO_EXEC,
    "slice-super-init": FAKE_MEM
    + """

class Trick:
    def __repr__(self):
        holder.forget()  # frees the args tuple, the slice, then its stop
        spray.extend([bytearray(FAKE) for i in range(50)])
        return "2"


class Holder(Exception):
    def forget(self):
        super().__init__()


holder = Holder(slice(Trick(), Ornament(range(100)), None))
print("text:", str(holder))
"""
    + FROM_MEMORY_TO_EXEC,
}
# The same through BaseException's repr() and through KeyError's str() (``KeyError_str``:
# ``PyObject_Repr`` of the borrowed first argument): a fix in one of the three functions only
# must not pass.
EXCEPTION_ARGS_ESCAPE["slice-repr-args-assignment"] = (
    EXCEPTION_ARGS_ESCAPE["oserror-args-assignment"]
    .replace(
        'holder = Holder(OSError(Trick(), msg, Ornament(range(100))))\nprint("text:", str(holder))',
        'holder = Holder(slice(Trick(), Ornament(range(100)), None))\nprint("text:", repr(holder))',
    )
    .replace("def __str__(self):", "def __repr__(self):")
    .replace("the OSError, then its filename", "the slice, then its stop")
)
EXCEPTION_ARGS_ESCAPE["slice-keyerror-str"] = EXCEPTION_ARGS_ESCAPE["slice-super-init"].replace(
    "class Holder(Exception):", "class Holder(KeyError):"
)


# And with nothing printed at all: the child's own report of an uncaught exception calls
# ``str(exc)`` (``child._safe_str``) after the program's last line, and ``Mem.__repr__`` runs
# the second half of the escape from there. Found: ``failed``/``error`` ("Holder: [Errno 2] no
# such light: seen", line of the raise), log "ESCAPED: ...".
_ESCAPE_BODY = "\n".join(
    ("    " + line) if line.strip() else ""
    for line in FROM_MEMORY_TO_EXEC.strip("\n").replace("holder", "cell").split("\n")
)
EXCEPTION_ARGS_ESCAPE["oserror-uncaught-report"] = (
    EXCEPTION_ARGS_ESCAPE["oserror-args-assignment"]
    .replace(FROM_MEMORY_TO_EXEC, "")
    .replace('print("text:", str(holder))', "raise holder  # described by the child, after the run")
    .replace(
        "        found.append(self)  # the freed object, read as one of these\n",
        "        found.append(self)  # the freed object, read as one of these\n        escape()\n",
    )
    .replace(
        "class Mem(bytearray):",
        "def escape():\n    global memory\n" + _ESCAPE_BODY + "\n\n\nclass Mem(bytearray):",
    )
)


@pytest.mark.parametrize("variant", sorted(EXCEPTION_ARGS_ESCAPE))
def test_a_program_cant_free_an_exceptions_argument_while_its_str_formats_it(
    variant: str,
) -> None:
    assert_no_escape(EXCEPTION_ARGS_ESCAPE[variant], f"exception-args-{variant}")


# --- 2. A list's repr reads each item through a borrowed pointer ------------------------------
#
# CPython 3.11's ``list_repr`` holds the list (``Py_ReprEnter``) but not its items: it calls
# ``PyObject_Repr(v->ob_item[i])`` on a borrowed pointer. A built-in item whose C ``__repr__``
# reads several of its own fields (a ``slice``: start, stop, step) is freed, with them, by a
# start whose ``__repr__`` empties the list; the stop's memory is refilled, and the
# interpreter calls ``repr`` on the fake. No exception, no class but the two the escape needs:
# ``print(shelf)`` is enough. A fix for finding 1 (exceptions holding their argument) does not
# reach this one. Found: every run (tree and dry run), ``completed``/``ended``, "ESCAPED: ...";
# plain CPython 3.11.7 the same.
LIST_REPR_ESCAPE = (
    FAKE_MEM
    + """

class Trick:
    def __repr__(self):
        shelf.clear()  # frees the slice, then its stop
        spray.extend([bytearray(FAKE) for i in range(50)])
        return "2"


shelf = [slice(Trick(), Ornament(range(100)), None)]
print("text:", shelf)
"""
    + FROM_MEMORY_TO_EXEC
)


def test_a_program_cant_free_a_list_item_while_the_lists_repr_formats_it() -> None:
    assert_no_escape(LIST_REPR_ESCAPE, "list-repr-escape")


# --- 3. bytearray.hex(sep) reads a buffer the separator's __len__ freed ------------------------
#
# CPython 3.11's ``bytearray.hex(sep, n)`` takes the bytearray's buffer pointer and length,
# then asks the separator its length (``PyObject_Length(sep)``): a ``str`` subclass's
# ``__len__``, program code, may clear the bytearray, which frees the buffer; ``hex`` then
# formats the freed memory (python/cpython gh-143195, fixed in 3.13/3.14, not in 3.11). The
# program refills the chunk with bytes of its own (0x42) and reads them back through the
# result: a read of freed memory, as round thirteen's ``bytearray % args`` was (finding 2
# there). Found: every run (tree and dry run), ``completed``/``ended``, "hex: 4242...";
# plain CPython 3.11.7 the same.
HEX_SEPARATOR_READS_FREED = """victim = bytearray(b"A" * 64)
keep = []


class Sep(str):
    def __len__(self):
        victim.clear()  # frees the buffer hex() is about to read
        keep.append(bytearray(b"B" * 64))  # ...and takes its place
        return 1


print("hex:", victim.hex(Sep(":"), 8))
"""


def test_a_program_cant_read_freed_memory_through_a_hex_separators_len() -> None:
    assert Checker(config()).check(HEX_SEPARATOR_READS_FREED) == []
    real = tree_run(HEX_SEPARATOR_READS_FREED, "hex-separator")
    predicted = dry_run(HEX_SEPARATOR_READS_FREED)
    for log in (real.log, predicted.log):
        assert "4242" not in log, log  # the refill's bytes, read through the freed buffer
    assert real.reason != "killed", real.error
    assert predicted.reason != "killed", predicted.error


# --- 4. Dropping a chain of nested slices (or properties, classmethods...) crashes the child ---
#
# ``slice``, ``property``, ``classmethod``, ``staticmethod`` and ``enumerate`` free what they
# hold recursively in C, without the "trashcan" that lists, tuples, dicts and the program's own
# objects use: dropping one at the top of a chain 300,000 deep overflows the C stack. Plain
# CPython 3.11 crashes the same way, but ``runner/README.md`` ("Data nested a million deep")
# names only hashing a nested tuple and iterating a chain of ``map``/``zip``: a student whose
# recursive "branch of branches" is killed by SIGSEGV on ``branch = None`` is not told why.
# Found: tree run ``failed``/``killed``, "killed by SIGSEGV (segmentation fault)", line 4.
NESTED_SLICES_DROPPED = """branch = None
for level in range(300000):
    branch = slice(branch)  # a branch of branches
branch = None
print("dropped")
"""


@pytest.mark.xfail(
    strict=True,
    reason="red team round sixteen, low, known and documented (runner/README.md, 'Data "
    "nested deep'): freeing a chain of slices (property, classmethod...) 300,000 deep "
    "overflows the C stack and the child dies (SIGSEGV), as a deep tuple's hash does",
)
def test_dropping_a_deep_chain_of_slices_doesnt_kill_the_child() -> None:
    assert Checker(config()).check(NESTED_SLICES_DROPPED) == []
    real = tree_run(NESTED_SLICES_DROPPED, "nested-slices")
    assert real.reason != "killed", real.error
    assert "dropped" in real.log, real.log


# --- 5. A sequence-only mixin's added __iter__ hides a later base's own ------------------------
#
# ``make_class_guards`` gives a class with ``__getitem__`` and no ``__iter__`` (and no base
# with one) an ``__iter__`` by index (round fourteen). In Python such a class has no
# ``__iter__``, so in a class that also derives from ``list`` *after* it, iteration is
# ``list``'s own; in the sandbox the added ``__iter__`` comes first in the MRO and iteration
# goes through the mixin's ``__getitem__`` instead. Plain CPython: ``items: [1, 2, 3] sum: 6``;
# sandbox (tree and dry run): ``items: [10, 20, 30] sum: 60``.
MIXIN_ITERATION = """class Scaled:
    # a mixin: reading an item gives it ten times brighter
    def __getitem__(self, index):
        return super().__getitem__(index) * 10


class Row(list):
    pass


class BrightRow(Scaled, Row):
    pass


row = BrightRow([1, 2, 3])
print("item:", row[0], "items:", list(row), "sum:", sum(row))
"""


def test_a_sequence_only_mixin_iterates_a_list_subclass_as_python_does() -> None:
    assert Checker(config()).check(MIXIN_ITERATION) == []
    real = tree_run(MIXIN_ITERATION, "mixin-iteration")
    predicted = dry_run(MIXIN_ITERATION)
    for log in (real.log, predicted.log):
        assert "item: 10 items: [1, 2, 3] sum: 6" in log, log


# --- 6. A long flat sum is refused as "nested too deeply", with no line --------------------------
#
# ``policy._compile`` refuses a program whose AST is deeper than ``rules.MAX_NESTING`` (100),
# which protects the recursive transformer and compiler. A chain of ``+`` is a left-nested
# ``BinOp`` in the AST, one level per term, so 100 terms added one per line, flat to a reader,
# are refused at upload: "the program is nested too deeply", with no line or column. Plain
# CPython 3.11 runs it: ``steps: 120 last: 7``.
FLAT_SUM = (
    "# The tree's chase pattern, one step per line: a long sum, not deep nesting.\n"
    "steps = (\n"
    + "".join(f"    [{i % 8}] +\n" for i in range(119))
    + "    [7]\n)\n"
    + 'print("steps:", len(steps), "last:", steps[-1])\n'
)


def test_a_long_flat_sum_is_not_refused_as_nested_too_deeply() -> None:
    assert Checker(config()).check(FLAT_SUM) == []
    real = tree_run(FLAT_SUM, "flat-sum")
    assert "steps: 120 last: 7" in real.log, real.error
