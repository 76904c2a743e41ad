"""When a program's cyclic garbage is collected: only when it calls ``setLEDs`` or ``time.sleep``.

CPython runs its cyclic collector at an allocation, wherever that is: also inside a C function
that holds borrowed pointers into a list it is copying. A finalizer the collector runs there (a
suspended generator's ``finally`` in a reference cycle) is the program's own code, and it can
change that list under the C function's feet: red team round eight used this (CPython's known
crasher ``mutation_inside_cyclegc``) to make a fake ``bytearray`` over all memory and reach the
real builtins. So the automatic collector is off while a program runs, and its garbage is
collected at two calls of ours, where running program code is as safe as any callback.

The schedule counts calls, not allocations (CPython's own is 700 allocations per young
collection): what the dry run's clock allocates differs from the tree's, and a program must not
learn which mode it is in from when its finalizers run. Every call collects the young
generation; every tenth, the middle one; every hundredth, all. Everything alive before the
program starts is frozen out of the collector's sight, so a full collection walks the
program's own objects only.
"""

from __future__ import annotations

import gc

EVERY = 10  # young collections per middle one, middle ones per full one (CPython's ratios)


def settle() -> None:
    """Once the child is confined, before it reports READY: freeze everything the interpreter
    and its imports made (~20,000 objects), so the collection at ``hand_over`` walks only what
    came after, the program's compilation and namespace: ~0.5 ms instead of 3-8 ms of every
    start. The collector has been off since the child's first line (``runner.sandbox.child``);
    the imports leave ~160 objects of garbage in cycles, kept frozen with the rest. Then the
    automatic collector is back on until ``hand_over``: a check, or the program's compilation,
    has its cycles collected as in any interpreter.
    """
    gc.freeze()
    gc.enable()


def hand_over() -> None:
    """Just before the program's first line: collect, freeze what exists, stop the automatic
    collector."""
    gc.collect()
    gc.freeze()
    gc.disable()


def collect() -> None:
    """At a ``setLEDs`` or ``time.sleep`` call: the collection this call is due."""
    # gc.get_count(): allocations since the last young collection, young collections since the
    # last middle one, middle collections since the last full one.
    _, young_runs, middle_runs = gc.get_count()
    generation = 0
    if young_runs >= EVERY - 1:
        generation = 2 if middle_runs >= EVERY - 1 else 1
    gc.collect(generation)
