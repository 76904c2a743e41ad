"""Red team, round twenty: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round20-language.md`` has the reproductions, what
held, and the suggested fixes; the numbers below are its findings'. No program reached anything
outside the sandbox this round. Each test is a strict xfail: it asserts what plain CPython 3.11
prints, or that the upload check and the run agree, so it fails today and passes once fixed.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import config, dry_run, tree_and_dry_run_logs, tree_run


# --- 1. The upload check accepts programs that every run then refuses --------------------------
#
# ``policy._deep_recursion`` raises the recursion limit to a fixed 16,800 frames while a program
# is parsed, transformed and compiled. The limit counts the frames already on the stack, and the
# child compiles a program one Python frame deeper for a run (``main`` → ``run_program`` →
# ``_run_restricted`` → ``compile_program``) than for the upload check (``main`` →
# ``check_program`` → ``compile_program``). A program whose deepest nesting needs exactly the
# frames in between is accepted by the check and refused by every run and dry run: the run
# ends ``failed``/``error``, "SandboxError: the program is nested too deeply", with no line,
# minutes after the site said the program was fine. Found: of the programs below, the two
# whose edge (measured in-process) is two frames above ``compile_program`` do that; the others
# are refused by both or run in both. (Plain CPython 3.11 refuses all of them:
# "maximum recursion depth exceeded during compilation"; what matters is that check and run
# agree.) Each program is two chains of 1,999 links nested in each other, a third of ``k``
# links inside, and a wrapper that moves the edge by a frame or two; together they cover
# several frames on both sides of the edge, so the test does not depend on the exact depth.
def _nested_chains(k: int, head: str = "", pre: str = "", post: str = "") -> str:
    indent = " " * head.count("\n")
    inner = pre + "[" + "+".join(["x"] * k) + "]" + post
    middle = "[" + inner + "+[x]" * 1999 + "]"
    body = "y = " + middle + "+[x]" * 1999
    return "x = 1\n" + head + indent + body + '\nprint("made it")\n'


NESTED_CHAINS = {
    "two-classes-192": _nested_chains(192, "class C:\n class D:\n"),
    "two-classes-193": _nested_chains(193, "class C:\n class D:\n"),
    "class-comprehension-191": _nested_chains(191, "class C:\n", "[x for x in ", "]"),
    "class-comprehension-192": _nested_chains(192, "class C:\n", "[x for x in ", "]"),
    "comprehension-193": _nested_chains(193, "", "[x for x in ", "]"),
    "starred-193": _nested_chains(193, "", "[*", "]"),
    "starred-194": _nested_chains(194, "", "[*", "]"),
    "plain-195": _nested_chains(195),
    "plain-196": _nested_chains(196),
}


def test_the_upload_check_and_the_run_agree_on_deeply_nested_programs() -> None:
    checker = Checker(config())
    disagreements = []
    for name, program in NESTED_CHAINS.items():
        if checker.check(program):
            continue  # refused before the queue: the run never sees it
        real = tree_run(program, f"nested-{name}")
        if real.reason != "ended" or "made it" not in real.log:
            disagreements.append((name, "run", real.reason, real.error))
            predicted = dry_run(program)
            if predicted.reason != "ended":
                disagreements.append((name, "dry run", predicted.reason, predicted.error))
    assert disagreements == []


# --- 2. print formats every argument before it writes any ---------------------------------------
#
# ``guards.make_print`` builds ``sep.join([str(a) for a in args]) + end`` and writes it at once.
# CPython's ``print`` writes each argument (and the separator) as soon as it is formatted: a
# ``__str__`` that prints (tracing while drawing) appears between the arguments, and when a
# later argument's ``__str__`` raises, what was written before it stays in the output. Found:
# "(drawing a)", "(drawing b)", "star a star b", and nothing of "before ".
PRINT_ORDER = """class Star:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        print("(drawing", self.name + ")")
        return "star " + self.name


class Broken:
    def __str__(self):
        raise ValueError("no name yet")


print(Star("a"), Star("b"))
try:
    print("before", Broken(), "after")
except ValueError as problem:
    print()
    print("refused:", problem)
"""
PRINT_ORDER_EXPECTED = "(drawing a)\nstar a (drawing b)\nstar b\nbefore \nrefused: no name yet\n"


def test_print_writes_each_argument_as_python_does() -> None:
    for log in tree_and_dry_run_logs(PRINT_ORDER, "print-order"):
        assert log == PRINT_ORDER_EXPECTED, log


# ``make_print`` also refuses a ``sep`` or ``end`` that is not exactly a ``str``, with a message
# of its own. CPython takes any ``str`` (subclasses too) or ``None``, and words the refusal
# "sep must be None or a string, not int". Found: the run fails on the first line, ``TypeError:
# print(): sep and end must be strings``.
PRINT_SEP = """class Dash(str):
    \"\"\"A separator with a name of its own.\"\"\"


print("a", "b", sep=Dash("-"), end=Dash("!\\n"))
for sep in (5, b"x"):
    try:
        print("a", "b", sep=sep)
    except TypeError as problem:
        print("refused:", problem)
try:
    print("a", end=5)
except TypeError as problem:
    print("refused:", problem)
"""
PRINT_SEP_EXPECTED = (
    "a-b!\n"
    "refused: sep must be None or a string, not int\n"
    "refused: sep must be None or a string, not bytes\n"
    "refused: end must be None or a string, not int\n"
)


def test_print_takes_sep_and_end_as_python_does() -> None:
    for log in tree_and_dry_run_logs(PRINT_SEP, "print-sep"):
        assert log == PRINT_SEP_EXPECTED, log


# --- 3. getattr and friends refuse a str subclass as the name ----------------------------------
#
# The run's ``getattr``, ``hasattr``, ``setattr`` and ``delattr`` accept only a name whose type
# is exactly ``str`` (``guards.make_getattr``, ``guarded_setattr``, ``guarded_delattr``), so a
# valid Python program that names an attribute with a ``str`` subclass fails on that line.
# Other non-strings get messages of their own, and ``setattr``/``delattr`` raise
# ``AttributeError`` where Python raises ``TypeError`` (an ``except TypeError`` misses it).
# Found: ``TypeError: attribute name must be a string`` on the first ``getattr``; then
# ``AttributeError: "5" cannot be set in tree programs``.
NAMES = """class Name(str):
    \"\"\"An attribute name read from a settings table.\"\"\"


class Star:
    def __init__(self):
        self.glow = 1


star = Star()
print(getattr(star, Name("glow")), hasattr(star, Name("glow")))
setattr(star, Name("size"), 2)
print(star.size)
delattr(star, Name("size"))
print(hasattr(star, "size"))
for call in (
    lambda: getattr(star, 5),
    lambda: hasattr(star, 5),
    lambda: setattr(star, 5, 1),
    lambda: delattr(star, 5),
):
    try:
        call()
    except TypeError as problem:
        print("TypeError", problem)
"""
NAMES_EXPECTED = "1 True\n2\nFalse\n" + "TypeError attribute name must be string, not 'int'\n" * 4


def test_attribute_functions_take_names_as_python_does() -> None:
    for log in tree_and_dry_run_logs(NAMES, "attribute-names"):
        assert log == NAMES_EXPECTED, log


# --- 4. Iterating a sequence-only class stops for good after an error --------------------------
#
# A program class with ``__getitem__`` and no ``__iter__`` gets an ``__iter__`` of the sandbox's
# (``guards._by_index_template``, red team round fourteen), a generator. A generator that
# raises is finished: the next ``next()`` says ``StopIteration``. CPython's sequence iterator
# lets any error but ``IndexError``/``StopIteration`` through and stays where it was, so the next
# ``next()`` asks for the same index again (round thirteen found the same difference in the
# sandbox's ``iter(f, sentinel)``, since fixed). Found: ``rest: []``.
BY_INDEX_AFTER_ERROR = """class Flaky:
    def __init__(self):
        self.calls = 0

    def __getitem__(self, index):
        self.calls += 1
        if self.calls == 2:
            raise ValueError("glitch")
        if index >= 3:
            raise IndexError(index)
        return index


steps = iter(Flaky())
print("first:", next(steps))
try:
    next(steps)
except ValueError as problem:
    print("glitch:", problem)
print("rest:", list(steps))
"""
BY_INDEX_AFTER_ERROR_EXPECTED = "first: 0\nglitch: glitch\nrest: [1, 2]\n"


def test_iterating_by_index_goes_on_after_an_error_as_python_does() -> None:
    for log in tree_and_dry_run_logs(BY_INDEX_AFTER_ERROR, "by-index-after-error"):
        assert log == BY_INDEX_AFTER_ERROR_EXPECTED, log


# --- 5. The guarded formatter differs from str.format -----------------------------------------
#
# A template whose fields look up attributes or items (``{0.x}``, ``{0[k]}``) is formatted by
# ``guards._GuardedFormatter``, not by ``str.format``. Three differences, each found with a
# template an ordinary program may write by mistake:
# - a positional field beyond the arguments: ``IndexError: tuple index out of range`` (Python:
#   "Replacement index 0 out of range for positional args tuple");
# - ``format_map`` with a positional field: ``IndexError: tuple index out of range`` (Python:
#   ``ValueError: Format string contains positional fields``);
# - specs nested three deep: formatted one level deeper than Python allows (``_format`` stops
#   at ``depth < 0``, CPython's ``build_string`` at ``recursion_depth <= 0``): Python raises
#   ``ValueError: Max string recursion exceeded``.
FORMATTER = {
    "missing-argument": (
        """class Star:
    def __init__(self):
        self.x = 3


try:
    print("{0.x} and {1.x}".format(Star()))
except IndexError as problem:
    print("refused:", problem)
""",
        "refused: Replacement index 1 out of range for positional args tuple\n",
    ),
    "format-map-positional": (
        """class Star:
    def __init__(self):
        self.x = 3


try:
    print("{0.x}".format_map({"star": Star()}))
except Exception as problem:
    print("refused:", type(problem).__name__, problem)
""",
        "refused: ValueError Format string contains positional fields\n",
    ),
    "specs-nested-three-deep": (
        """class Star:
    def __init__(self):
        self.x = 3


try:
    print(repr("{0.x:{1:{2}}}".format(Star(), "", "")))
except Exception as problem:
    print("refused:", type(problem).__name__, problem)
""",
        "refused: ValueError Max string recursion exceeded\n",
    ),
}


@pytest.mark.parametrize("variant", sorted(FORMATTER))
def test_the_guarded_formatter_fails_as_str_format_does(variant: str) -> None:
    program, expected = FORMATTER[variant]
    for log in tree_and_dry_run_logs(program, f"format-{variant}"):
        assert log == expected, log


# --- 6. Slice stores word a failing __iter__ differently from Python ---------------------------
#
# ``cpython_fixes``' ``list.__setitem__`` takes the values of a slice store as ``list(values)``
# before CPython's store sees them (red team rounds fourteen and fifteen). CPython's own store
# gets them with ``PySequence_Fast(values, message)``, which replaces a ``TypeError`` from
# getting the iterator (the values' ``__iter__`` raising one, or returning a non-iterator) with
# its own words: "can only assign an iterable", "must assign iterable to extended slice".
# Found: the program's own message ("strip is not ready") and "iter() returned non-iterator of
# type 'int'".
SLICE_STORE = """class Strip:
    def __iter__(self):
        raise TypeError("strip is not ready")


class Broken:
    def __iter__(self):
        return 5


row = [0, 0, 0, 0]
for key in (slice(0, 2), slice(0, 4, 2)):
    for values in (Strip(), Broken()):
        try:
            row[key] = values
        except TypeError as problem:
            print("refused:", problem)
"""
SLICE_STORE_EXPECTED = (
    "refused: can only assign an iterable\n"
    "refused: can only assign an iterable\n"
    "refused: must assign iterable to extended slice\n"
    "refused: must assign iterable to extended slice\n"
)


def test_a_slice_store_words_a_failing_iter_as_python_does() -> None:
    for log in tree_and_dry_run_logs(SLICE_STORE, "slice-store-messages"):
        assert log == SLICE_STORE_EXPECTED, log
