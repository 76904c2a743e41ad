"""Red team, round twenty-two: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks. ``docs/red-team/round22-language.md`` has the reproductions, what
held, and the suggested fixes; the numbers below are its findings'. No program reached anything
outside the sandbox this round, and none crashed a child. Each finding is a strict xfail: it
asserts what plain CPython 3.11 prints, so it fails today and passes once fixed. The last tests
assert what held (not xfail): they must keep passing.
"""

from __future__ import annotations

from tests.hardening.confined_runs import tree_and_dry_run_logs

# --- 1. The guarded formatter refuses a nested field with a spec of its own -------------------
#
# Round twenty's fix made ``_GuardedFormatter._format`` refuse at ``depth <= 0``, as CPython's
# ``build_string`` does, but the formatter expands *every* non-empty spec, where CPython expands
# a spec only when it contains a field (``format_spec_needs_expanding``: a ``{`` in it). So a
# nested field's own plain spec (``{1:d}`` inside ``{0.x:...}``) is expanded once more, at
# depth 0, and refused. Python formats it. Found: ``ValueError: Max string recursion exceeded``
# for both templates (``str.format`` and ``format_map``). The same template without an
# attribute step (``"{0:{1:d}}"``) is handed to the real ``str.format`` and works: only
# templates that walk fields fail.
NESTED_SPEC = """class Star:
    def __init__(self):
        self.x = 3


star = Star()
for template, args, fields in (
    ("{0.x:{1:d}}", (star, 5), {}),
    ("{0.x:>{1:d}}|", (star, 4), {}),
    ("{s.x:{w:d}}", (), {"s": star, "w": 6}),
):
    try:
        print(repr(template.format(*args, **fields)))
    except ValueError as problem:
        print("refused:", problem)
try:
    print(repr("{s.x:{w:d}}".format_map({"s": star, "w": 3})))
except ValueError as problem:
    print("refused:", problem)
"""
NESTED_SPEC_EXPECTED = "'    3'\n'   3|'\n'     3'\n'  3'\n"


def test_a_nested_field_may_have_a_spec_of_its_own_as_in_python() -> None:
    for log in tree_and_dry_run_logs(NESTED_SPEC, "format-nested-spec"):
        assert log == NESTED_SPEC_EXPECTED, log


# --- 2. str.format(text, ...) refuses a str subclass as the template ---------------------------
#
# ``str.format`` and ``str.format_map`` taken from the class (``obj is str`` in the guard) are
# the guarded ``safe_format``/``safe_format_map``, which accept only a template whose type is
# exactly ``str``: ``TypeError: format() needs a str``, for an argument that is a string. Python
# formats a subclass's text (``str.format(Label("{}!"), 1)`` is ``'1!'``), and words a non-str
# "descriptor 'format' for 'str' objects doesn't apply to a 'int' object". (The bound form,
# ``Label("{}").format``, is refused on purpose and with its own clear message: a str subclass
# forwards the lookup to the real str.format. Not counted.)
FORMAT_SUBCLASS = """class Label(str):
    \"\"\"A label read from the settings table.\"\"\"


print(str.format(Label("{}!"), 1))
print(str.format(Label("{0.real}!"), 2))
print(str.format_map(Label("{n}!"), {"n": 3}))
try:
    str.format(5)
except TypeError as problem:
    print("refused:", problem)
"""
FORMAT_SUBCLASS_EXPECTED = (
    "1!\n2!\n3!\nrefused: descriptor 'format' for 'str' objects doesn't apply to a 'int' object\n"
)


def test_str_format_takes_a_str_subclass_template_as_python_does() -> None:
    for log in tree_and_dry_run_logs(FORMAT_SUBCLASS, "format-str-subclass-template"):
        assert log == FORMAT_SUBCLASS_EXPECTED, log


# --- 3. A slice store runs the values' __iter__ before the slice is checked --------------------
#
# ``cpython_fixes``' ``list.__setitem__`` gets the iterator of a slice store's values (program
# code: their ``__iter__``) before CPython's store has looked at the slice. CPython unpacks the
# slice first (``PySlice_Unpack``): a step of zero, or a bound that is not an integer, is refused
# before the values are touched. Found, for ``row[::0] = Count()``: ``Count.__iter__`` ran
# (``calls: 1``) before ``ValueError: slice step cannot be zero``; and when the values'
# ``__iter__`` raises a ``TypeError``, the sandbox replaces it by slice-step words that do not
# apply: ``TypeError: must assign iterable to extended slice`` for a step of zero (Python: a
# ``ValueError``, which the program's ``except ValueError`` then misses), ``'float' object cannot
# be interpreted as an integer`` for a step of 1.5 and ``can only assign an iterable`` for a
# string bound (Python: "slice indices must be integers or None or have an __index__ method").
SLICE_CHECKED_FIRST = """class Count:
    def __init__(self):
        self.calls = 0

    def __iter__(self):
        self.calls += 1
        return iter([7, 8])


class NotReady:
    def __iter__(self):
        raise TypeError("strip is not ready")


row = [0, 0, 0, 0]
for key in (slice(None, None, 0), slice(0, 4, 1.5), slice("a", 2)):
    count = Count()
    for values in (count, NotReady()):
        try:
            row[key] = values
        except (TypeError, ValueError) as problem:
            print(type(problem).__name__, problem)
    print("calls:", count.calls)
"""
SLICE_CHECKED_FIRST_EXPECTED = (
    "ValueError slice step cannot be zero\n" * 2
    + "calls: 0\n"
    + "TypeError slice indices must be integers or None or have an __index__ method\n" * 2
    + "calls: 0\n"
    + "TypeError slice indices must be integers or None or have an __index__ method\n" * 2
    + "calls: 0\n"
)


def test_a_slice_store_checks_the_slice_before_the_values_as_python_does() -> None:
    for log in tree_and_dry_run_logs(SLICE_CHECKED_FIRST, "slice-checked-first"):
        assert log == SLICE_CHECKED_FIRST_EXPECTED, log


# --- 4. The sandbox's builtins word their own argument errors with internal names --------------
#
# ``getattr``, ``hasattr``, ``setattr``, ``delattr`` and ``print`` are ``SandboxFunction``s over
# Python closures, so a call with a missing or an unknown argument raises the closure's own
# ``TypeError``, naming the sandbox's factory: ``make_getattr.<locals>.guarded_getattr()
# missing 1 required positional argument: 'name'``, ``make_print.<locals>.print_() got an
# unexpected keyword argument 'foo'``... ``getattr(star, name="x")`` is even accepted (Python:
# "getattr() takes no keyword arguments"). A student's mistake gets a message that names
# neither the function they called nor what is wrong in Python's words.
ARGUMENT_ERRORS = """class Star:
    def __init__(self):
        self.x = 3


star = Star()
for call in (
    lambda: getattr(star),
    lambda: hasattr(star),
    lambda: hasattr(star, "x", 3),
    lambda: setattr(star, "x"),
    lambda: delattr(star),
    lambda: print("x", foo=1),
    lambda: getattr(star, name="x"),
):
    try:
        call()
        print("accepted")
    except TypeError as problem:
        print(problem)
"""
ARGUMENT_ERRORS_EXPECTED = (
    "getattr expected at least 2 arguments, got 1\n"
    "hasattr expected 2 arguments, got 1\n"
    "hasattr expected 2 arguments, got 3\n"
    "setattr expected 3 arguments, got 2\n"
    "delattr expected 2 arguments, got 1\n"
    "'foo' is an invalid keyword argument for print()\n"
    "getattr() takes no keyword arguments\n"
)


def test_the_sandbox_builtins_word_argument_errors_as_python_does() -> None:
    for log in tree_and_dry_run_logs(ARGUMENT_ERRORS, "builtin-argument-errors"):
        assert log == ARGUMENT_ERRORS_EXPECTED, log


# --- 5. The sandbox's functions have no __name__ ----------------------------------------------
#
# The policy lets programs read ``__name__`` and ``__qualname__`` (``rules.READABLE_DUNDERS``),
# and every builtin answers them, as do the sandbox's ``time`` functions
# (``timefuncs.builtin_function_or_method.__getattr__``). A ``SandboxFunction`` has neither:
# ``print``, ``getattr``, ``hasattr``, ``setattr``, ``delattr``, ``iter``, ``type``, the ``random``
# and ``colorsys`` functions, ``setLEDs``, ``getLEDCount``... Found: ``AttributeError:
# 'SandboxFunction' object has no attribute '__name__'`` for all of them, from a program that
# names its effects in a table (Python: ``print print``, ``randint Random.randint``...).
FUNCTION_NAMES = """import colorsys
import random

for function in (abs, print, getattr, iter, type, random.randint, colorsys.rgb_to_hsv):
    try:
        print(function.__name__, function.__qualname__)
    except AttributeError as problem:
        print("AttributeError", problem)
"""
FUNCTION_NAMES_EXPECTED = (
    "abs abs\nprint print\ngetattr getattr\niter iter\ntype type\n"
    "randint Random.randint\nrgb_to_hsv rgb_to_hsv\n"
)


def test_the_sandbox_functions_have_names_as_python_builtins_do() -> None:
    for log in tree_and_dry_run_logs(FUNCTION_NAMES, "function-names"):
        assert log == FUNCTION_NAMES_EXPECTED, log


# --- 6. getattr, hasattr and format fields refuse __name__, which obj.__name__ may read -------
#
# ``Star.__name__`` compiles to a plain load (``rules.READABLE_DUNDERS``), but the run-time guard
# (``guards.make_getattr``) refuses every name starting with ``_`` that is not the program's own
# single-underscore name, so ``getattr(Star, "__name__")``, ``hasattr(abs, "__qualname__")`` and
# the template ``"{0.__name__}"`` (whose steps go through the same guard) raise ``SandboxError``,
# against the policy's own promise that ``getattr``/``hasattr`` "refuse what ``obj.name``
# would". Found: ``SandboxError: "__name__" is not accessible in tree programs: attributes
# starting with "_" are private`` for all four; the plain ``Star.__name__`` works.
READABLE_NAMES = """class Star:
    pass


for call in (
    lambda: getattr(abs, "__name__"),
    lambda: hasattr(Star, "__qualname__"),
    lambda: getattr(Star, "__name__", "?"),
    lambda: "{0.__name__}".format(Star),
    lambda: Star.__name__,
):
    try:
        print(call())
    except AttributeError as problem:
        print(type(problem).__name__, problem)
"""
READABLE_NAMES_EXPECTED = "abs\nTrue\nStar\nStar\nStar\n"


def test_getattr_and_format_fields_read_name_as_an_attribute_load_does() -> None:
    for log in tree_and_dry_run_logs(READABLE_NAMES, "readable-names"):
        assert log == READABLE_NAMES_EXPECTED, log


# --- What held (not xfail) ---------------------------------------------------------------------
#
# The newest code against a program that tries to use it as a way in: a str subclass whose
# ``startswith``/``==`` lie, as an attribute name, a print separator and a format template's
# host; dunder and sandbox-private steps in guarded templates (nested specs and format_map
# too); the by-index iterator's private slots; a __getitem__ that drains its own iterator from
# inside and drops every other reference to the sequence (round fourteen's double release).
HELD = """class Lying(str):
    def startswith(self, prefix, *rest):
        return False

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True


class Star:
    def __init__(self):
        self.x = 3


star = Star()
for call in (
    lambda: getattr(star, Lying("__class__")),
    lambda: hasattr(star, Lying("__dict__")),
    lambda: setattr(star, Lying("__class__"), Star),
    lambda: delattr(star, Lying("__dict__")),
    lambda: "{0.__class__}".format(star),
    lambda: "{0:{1.__class__}}".format(1, star),
    lambda: "{a.x:{b.__class__}}".format_map({"a": star, "b": star}),
    lambda: "{0.format.__self__}".format("text"),
):
    try:
        print("got", call())
    except (AttributeError, TypeError) as problem:
        print(type(problem).__name__, problem)
print("a", "b", sep=Lying("-"), end=Lying("!\\n"))


class Seq:
    def __init__(self):
        self.steps = None
        self.calls = 0

    def __getitem__(self, index):
        self.calls += 1
        if self.calls < 50 and self.steps is not None:
            list(self.steps)
        if index > 3:
            raise IndexError(index)
        return index


seq = Seq()
steps = iter(seq)
seq.steps = steps
del seq
print("drained:", list(steps), list(steps))
for name in ("_sequence", "_index"):
    try:
        print(getattr(steps, name))
    except AttributeError as problem:
        print(type(problem).__name__, problem)
try:
    steps._sequence = [1]
except TypeError as problem:
    print(type(problem).__name__, problem)
"""
PRIVATE = 'is not accessible in tree programs: attributes starting with "_" are private'
OWN = "is not accessible in tree programs: only the program's own objects have attributes"
HELD_EXPECTED = (
    f'SandboxError "__class__" {PRIVATE}\n'
    f'SandboxError "__dict__" {PRIVATE}\n'
    'AttributeError "__class__" cannot be set in tree programs\n'
    'AttributeError "__dict__" cannot be deleted in tree programs\n'
    f'SandboxError "__class__" {PRIVATE}\n'
    f'SandboxError "__class__" {PRIVATE}\n'
    f'SandboxError "__class__" {PRIVATE}\n'
    f'SandboxError "__self__" {PRIVATE}\n'
    "a-b!\n"
    "drained: [0] []\n"
    f'SandboxError "_sequence" {OWN} starting with "_"\n'
    f'SandboxError "_index" {OWN} starting with "_"\n'
    "TypeError cannot change IndexIterator objects in tree programs\n"
)


def test_the_newest_guards_hold_against_lying_names_and_reentrant_iteration() -> None:
    for log in tree_and_dry_run_logs(HELD, "round22-held"):
        assert log == HELD_EXPECTED, log
