"""Red team, round eighteen: the sandbox's language layer, attacked with ordinary tree programs.

Programs the upload check accepts (or refuses, for finding 3), run by a real ``Supervisor`` and
``Previewer`` in real confined children, no mocks. ``docs/red-team/round18-language.md`` has
the reproductions, what held, and the suggested fixes; the numbers below are its findings'.
No program reached anything outside the sandbox this round: each finding is a difference from
plain Python or from the documented behaviour (finding 4 is on the parent's side: how a killed
child's stderr is read). Each test asserts what plain CPython 3.11 prints, what the API or
``runner/README.md`` promises, or the line a refusal must name, so it passes once fixed.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import config, tree_and_dry_run_logs, tree_run

# --- 1. fromHSV looks up builtins in the program's own globals ---------------------------------
#
# ``policy.make_globals`` re-homes ``colours.fromHSV``'s code in the program's globals, and
# that code names ``int``, ``float``, ``isinstance``, ``type``, ``TypeError`` and ``ValueError``
# as globals: a program that has a global of one of those names (``type = "twinkle"``, the
# kind of animation; ``int = 3``, an intensity) changes what the API function returns or says.
# Found: ``refused: 'str' object is not callable`` and ``TypeError: 'int' object is not
# callable`` (the run fails on the fromHSV line), where the API promises a colour tuple and its
# own message.
FROM_HSV_TYPE = """type = "twinkle"  # the kind of animation, shown in the log
try:
    fromHSV("0.5", 1.0, 1.0)
except TypeError as problem:
    print("refused:", problem)
"""
FROM_HSV_INT = """int = 3  # intensity: how many steps the fade takes
float = 0.25  # how far the hue floats each step
print("colour:", fromHSV(0.5, 1.0, 1.0))
"""
FROM_HSV = {
    "type-named-global": (FROM_HSV_TYPE, "refused: fromHSV: h must be a number, not str"),
    "int-and-float-named-globals": (FROM_HSV_INT, "colour: (0, 255, 255, 100)"),
}


@pytest.mark.parametrize("variant", sorted(FROM_HSV))
def test_fromhsv_doesnt_depend_on_the_programs_global_names(variant: str) -> None:
    program, expected = FROM_HSV[variant]
    for log in tree_and_dry_run_logs(program, f"hsv-{variant}"):
        assert expected in log, log


# --- 2. bytearray.hex raises the program's own TypeError ---------------------------------------
#
# ``repr_fixes._hex_template`` raises ``TypeError`` by name, a global of the program (the
# function's globals are the program's): a program with a class of its own named
# ``TypeError`` catches it as its own, where Python raises the built-in one. Called with
# nothing, it also answers with a Python function's message. Found: ``caught as the program's
# own TypeError`` and ``bytearray.hex() missing 1 required positional argument: 'self'``.
HEX_OWN_TYPE_ERROR = """class TypeError(Exception):
    \"\"\"The tree's own kind of mistake: a colour of the wrong kind.\"\"\"


try:
    bytearray.hex(5)
except TypeError:
    print("caught as the program's own TypeError")
except Exception as problem:
    print("caught:", problem)
"""
HEX_NOTHING = """try:
    bytearray.hex()
except Exception as problem:
    print("caught:", problem)
"""
HEX = {
    "own-type-error": (
        HEX_OWN_TYPE_ERROR,
        "caught: descriptor 'hex' for 'bytearray' objects doesn't apply to a 'int' object",
    ),
    "called-with-nothing": (
        HEX_NOTHING,
        "caught: unbound method bytearray.hex() needs an argument",
    ),
}


@pytest.mark.parametrize("variant", sorted(HEX))
def test_bytearray_hex_raises_pythons_own_type_error(variant: str) -> None:
    program, expected = HEX[variant]
    for log in tree_and_dry_run_logs(program, f"hex-{variant}"):
        assert expected in log, log


# --- 3. "Nested too deeply" names the line of a long chain elsewhere ---------------------------
#
# ``astscan.nesting_depth`` reports the deepest node's line only when the depth (levels) is at
# least the longest chain (links); the two are different units, so a program with a sum of
# 300 terms on line 1 and a bracket nested 120 deep on line 3 is refused as nested too deeply
# "on line 1". Found: line 1.
DEEP_AFTER_A_CHAIN = (
    "total = 0" + " + 1" * 300 + "\nprint(total)\nrows = " + "[" * 120 + "]" * 120 + "\n"
)


def test_the_nesting_refusal_names_the_deepest_line_not_a_long_chains() -> None:
    errors = Checker(config()).check(DEEP_AFTER_A_CHAIN)
    assert len(errors) == 1, errors
    assert "nested too deeply" in errors[0].message, errors
    assert errors[0].line == 3, errors


# --- 4. A word on stderr turns a documented crash into "ran out of memory" --------------------
#
# ``Exit.out_of_memory`` (runner/supervise/pipes.py) calls any child killed by a signal "out of
# memory" when the last 16 KB of its stderr contain ``MemoryError`` anywhere; a program writes
# there whenever a dropped generator's ``finally`` raises (Python prints "Exception ignored
# in" and the traceback, message included). ``runner/README.md`` ("Data nested a million
# deep") says such a crash ends as ``failed``, "killed by SIGSEGV", on its line. Found:
# ``memory_limit``, "the program ran out of memory", line 15 (the same program with another
# word in the message: ``killed``, SIGSEGV, line 15).
CRASH_AFTER_A_WORD = """def steps():
    try:
        yield 1
    finally:
        raise ValueError("MemoryError in the star's cache")  # a message naming an error


walk = steps()
next(walk)
walk = None  # dropped mid-way: Python reports the finally's error on stderr and goes on
print("dropped")
nested = ()
for level in range(1000000):
    nested = (nested,)
print("hash:", hash(nested))
"""


def test_a_word_on_stderr_doesnt_turn_a_crash_into_running_out_of_memory() -> None:
    assert Checker(config()).check(CRASH_AFTER_A_WORD) == []
    real = tree_run(CRASH_AFTER_A_WORD, "crash-after-a-word")
    assert "dropped" in real.log, real.log
    assert real.reason == "killed", (real.reason, real.error)
    assert real.error is not None and "SIGSEGV" in real.error.message, real.error
    assert real.error.line == 15, real.error
