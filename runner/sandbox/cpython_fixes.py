"""What the child changes in ``list`` (and ``bytearray``) before a program runs: CPython 3.11
bugs that free what is still in use, each turned by the red team into the real builtins (or,
for ``bytearray % args``, into reading freed memory).

**Comparisons** hold on to the items they compare, in place of CPython 3.11's own.

CPython 3.11 compares two lists by finding the first index where their items differ and then
comparing those two items once more through *borrowed* pointers (``list_richcompare``;
python/cpython gh-120298, fixed in 3.12.5 and 3.13 by taking references, never in 3.11, so
neither in the Pi's 3.11.2). Program code that runs during that last comparison (an item's
``__lt__``, ``__contains__``, ``__eq__`` of a tuple's item, a generator's ``finally``...) can
empty the lists and free the items under the interpreter, refill the memory with bytes of its
own and be handed a fake object over the child's whole memory: the real builtins (red team
rounds ten and eleven, through several different methods). Guarding what program code may do
while it runs is a deny-list that keeps leaking; the bug itself is one function.

So before a program runs, the child makes ``list``'s orderings the ones below: the same
algorithm, written in Python, whose frame holds a reference to every item it compares, so no
program code can free them while they are in use. ``list``'s four ordering methods are
replaced in its type dictionary (``==`` and ``!=`` stay CPython's: see ``_METHODS``), and its
``tp_richcompare`` slot (which the interpreter calls without looking at the dictionary) is
pointed at CPython's generic slot function, the one every class defined in Python has, which
calls the methods in the dictionary. The type's layout is checked first
(the slot's current value must be the one ``list.__lt__`` wraps); a mismatch raises, so a
child on an interpreter this was not written for fails loudly instead of running unfixed.

**Slice stores** get their values as a list or tuple first. ``lst[::2] = values`` sizes the
slice, then turns ``values`` into a sequence, which runs its ``__iter__`` (program code); one
that shrinks the list leaves the store writing through stale pointers, releasing items twice
(python/cpython gh-120384, fixed in 3.12.5, never in 3.11; red team round fourteen). The
child's ``list.__setitem__`` makes the values a list before CPython's own store sees them
whenever the key is a slice, and its ``mp_ass_subscript`` slot is pointed at CPython's generic
slot function, as above. ``lst[i] = x`` with an int index, what animations do, keeps the
interpreter's specialised fast path (``STORE_SUBSCR_LIST_INT``), which never reaches the slot.

**``bytearray % args``** formats a ``bytes`` copy (gh-142557: an argument's ``__repr__`` could
clear the bytearray whose buffer the format was reading; red team round thirteen).

**``bytearray.extend``** gets its items as a ``bytearray`` first. CPython 3.11 sizes a scratch
buffer from the iterable's length hint (a program class's ``__len__``); with a hint of 0 the
buffer is the interpreter's static one-byte empty string, the first item is written there
before the size is checked, and the result's first byte is whatever the allocator's block held
(red team round twenty-seven). ``bytearray(iterator)`` reads no hint and grows as it goes.

The methods are functions of the program's own globals (the reachability audit's rule:
``super().__lt__`` in a list subclass reaches them) with every name they use in their
closure, so nothing the program defines is looked up while they run.
"""

from __future__ import annotations

import ctypes
import gc
import operator
from collections.abc import Callable
from typing import Any

from runner.sandbox import repr_fixes
from runner.sandbox.templates import program_function

# Offsets in CPython 3.11's (and 3.8-3.12's) structures on a 64-bit build: PyTypeObject's
# tp_richcompare, and a wrapper_descriptor's d_wrapped (PyDescr_COMMON, then d_base).
_POINTER = ctypes.sizeof(ctypes.c_void_p)
_TP_AS_NUMBER = 12 * _POINTER
_TP_AS_MAPPING = 14 * _POINTER
_TP_RICHCOMPARE = 25 * _POINTER
_MP_ASS_SUBSCRIPT = 2 * _POINTER  # in PyMappingMethods: mp_length, mp_subscript, then it
_NB_REMAINDER = 3 * _POINTER  # in PyNumberMethods: nb_add, nb_subtract, nb_multiply, then it
_D_WRAPPED = 6 * _POINTER

# Only the orderings: for == and != CPython's own comparison returns right after the loop that
# finds the first differing items, which holds them (it takes references around each
# equality test); the borrowed pointers are only used for the final <, <=, > or >=. Keeping
# CPython's == and != keeps them as fast and as exact as ever.
_METHODS: dict[str, Callable[[Any, Any], object]] = {
    "__lt__": operator.lt,
    "__le__": operator.le,
    "__gt__": operator.gt,
    "__ge__": operator.ge,
}


def _template() -> Callable[[Any, Any], object]:
    # Replaced by the real values, cell by cell (see ``install``). ``list``'s own length and
    # item lookups, not the program's: a subclass's __len__ or __getitem__ (a grid indexed by
    # (x, y)) has no say in how lists compare, as in CPython (red team round twelve).
    is_list: Callable[[object, type], bool] = isinstance
    list_type = list
    size: Callable[[Any], int] = list.__len__
    item: Callable[[Any, int], object] = list.__getitem__
    compare: Callable[[Any, Any], object] = operator.lt
    not_implemented = NotImplemented

    def method(v: list[object], w: object) -> object:
        if not (is_list(v, list_type) and is_list(w, list_type)):
            return not_implemented
        other: list[object] = w  # type: ignore[assignment]
        i = 0
        a = b = None
        while i < size(v) and i < size(other):
            a, b = item(v, i), item(other, i)  # held here: no program code can free them now
            if a is not b and not a == b:  # noqa: SIM201 - C asks for equality, not !=
                break
            i += 1
        if i >= size(v) or i >= size(other):  # no more items: compare the lengths
            return compare(size(v), size(other))
        return compare(a, b)  # the first items that differ, with the real operator

    return method


_TEMPLATE = _template()


def _store_template() -> Callable[[Any, Any, Any], None]:
    kind: Callable[[object], type] = type
    slice_type, list_type, tuple_type = slice, list, tuple
    has: Callable[[object, str], bool] = hasattr
    as_list: Callable[[Any], list[object]] = list
    get_iter: Callable[[Any], Any] = iter
    type_error = TypeError
    to_index: Callable[[Any], int] = operator.index
    value_error = ValueError
    store: Callable[[Any, Any, Any], None] = list.__setitem__  # CPython's own

    def method(self: Any, key: Any, value: Any) -> None:
        cls = kind(value)
        # Only an exact list or tuple is used as it is (a subclass's __iter__ would run late:
        # red team round fifteen). What cannot be iterated at all runs no program code there,
        # and CPython gives it its own message.
        late = kind(key) is slice_type and cls is not list_type and cls is not tuple_type
        if late and (has(cls, "__iter__") or has(cls, "__getitem__")):
            # CPython unpacks the slice first (PySlice_Unpack: the step, its zero check, then
            # the bounds, each __index__ once, as _PyEval_SliceIndex reads them), then gets the
            # values' iterator (red team round twenty-two); the store below gets the bounds as
            # ints, so no __index__ runs twice. (Inline, not a helper: this code is re-homed
            # into the program's globals, and a nested function would carry this module's.)
            bounds = [key.step, key.start, key.stop]
            for at in (0, 1, 2):
                bound = bounds[at]
                if bound is not None:
                    if not has(kind(bound), "__index__"):
                        raise type_error(
                            "slice indices must be integers or None or have an __index__ method"
                        )
                    bounds[at] = to_index(bound)
                if at == 0 and bounds[0] == 0:
                    raise value_error("slice step cannot be zero")
            step = bounds[0]
            key = slice_type(bounds[1], bounds[2], step)
            # A TypeError getting the iterator gets CPython's words for it (PySequence_Fast's,
            # red team round twenty).
            try:
                values = get_iter(value)
            except type_error:
                if step is None or step == 1:
                    raise type_error("can only assign an iterable") from None
                raise type_error("must assign iterable to extended slice") from None
            value = as_list(values)
        store(self, key, value)

    return method


_STORE = _store_template()


def _format_template() -> Callable[[Any, Any], object]:
    is_a: Callable[[object, Any], bool] = isinstance
    bytearray_type = bytearray
    as_bytes: Callable[[Any], bytes] = bytes
    not_implemented = NotImplemented

    def method(self: Any, args: Any) -> object:
        if not is_a(self, bytearray_type):
            return not_implemented
        return bytearray_type(as_bytes(self) % args)  # bytes cannot change under %

    return method


_FORMAT = _format_template()


def _extend_template() -> Callable[[Any, Any], object]:
    is_a: Callable[[object, Any], bool] = isinstance
    bytearray_type = bytearray
    exact = (bytes, bytearray, str)  # a buffer is copied whole (no hint); str: CPython's error
    get_iter = iter
    type_error = TypeError
    extend: Callable[[Any, Any], None] = bytearray.extend

    def method(self: Any, iterable_of_ints: Any) -> None:
        if not is_a(self, bytearray_type) or is_a(iterable_of_ints, exact):
            return extend(self, iterable_of_ints)
        try:
            items = get_iter(iterable_of_ints)
        except type_error:
            return extend(self, iterable_of_ints)  # CPython's own words for what is no iterable
        return extend(self, bytearray_type(items))

    return method


_EXTEND = _extend_template()


def install(program_globals: dict[str, object]) -> None:
    """Make ``list``'s comparisons and slice stores hold their items (this process, for good:
    a child runs one program). ``program_globals``: the functions' globals (see the module
    docstring)."""
    richcompare = ctypes.c_void_p.from_address(id(list) + _TP_RICHCOMPARE)
    wrapped = ctypes.c_void_p.from_address(id(list.__dict__["__lt__"]) + _D_WRAPPED)
    generic = ctypes.c_void_p.from_address(id(_Generic) + _TP_RICHCOMPARE).value
    if richcompare.value is None or richcompare.value != wrapped.value or generic is None:
        raise RuntimeError("list comparisons: this interpreter's type layout is not the one known")
    namespace = gc.get_referents(list.__dict__)[0]  # the type's real dictionary
    size, item = list.__len__, list.__getitem__
    for name, compare in _METHODS.items():
        cells = {
            "is_list": isinstance,
            "list_type": list,
            "size": size,
            "item": item,
            "compare": compare,
            "not_implemented": NotImplemented,
        }
        namespace[name] = program_function(_TEMPLATE, program_globals, cells, f"list.{name}")
    _install_store(program_globals, namespace)
    richcompare.value = generic
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(list))
    _install_format(program_globals)
    repr_fixes.install(program_globals)  # str() and repr() that hold what they format


def _install_format(program_globals: dict[str, object]) -> None:
    """``bytearray % args`` formats a ``bytes`` copy: CPython 3.11 reads the bytearray's own
    buffer while an argument's ``__repr__`` may clear and replace it (gh-142557; red team round
    thirteen: freed bytes in the result). And ``bytearray.extend`` as the module docstring
    says."""
    numbers = ctypes.c_void_p.from_address(id(bytearray) + _TP_AS_NUMBER).value
    generic_numbers = ctypes.c_void_p.from_address(id(_Generic) + _TP_AS_NUMBER).value
    if numbers is None or generic_numbers is None:
        raise RuntimeError("bytearray %: this interpreter's type layout is not the one known")
    slot = ctypes.c_void_p.from_address(numbers + _NB_REMAINDER)
    generic = ctypes.c_void_p.from_address(generic_numbers + _NB_REMAINDER).value
    wrapped = ctypes.c_void_p.from_address(id(bytearray.__dict__["__mod__"]) + _D_WRAPPED).value
    if slot.value is None or slot.value != wrapped or generic is None:
        raise RuntimeError("bytearray %: this interpreter's type layout is not the one known")
    cells: dict[str, object] = {
        "is_a": isinstance,
        "bytearray_type": bytearray,
        "as_bytes": bytes,
        "not_implemented": NotImplemented,
    }
    method = program_function(_FORMAT, program_globals, cells, "bytearray.__mod__")
    namespace = gc.get_referents(bytearray.__dict__)[0]
    namespace["__mod__"] = method  # __rmod__: ba is never read
    cells = {
        "is_a": isinstance,
        "bytearray_type": bytearray,
        "exact": (bytes, bytearray, str),
        "get_iter": iter,
        "type_error": TypeError,
        "extend": bytearray.extend,
    }
    namespace["extend"] = program_function(_EXTEND, program_globals, cells, "bytearray.extend")
    slot.value = generic
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(bytearray))


def _install_store(program_globals: dict[str, object], namespace: dict[str, object]) -> None:
    """``list.__setitem__`` as the module docstring says, and the slot that calls it."""
    mapping = ctypes.c_void_p.from_address(id(list) + _TP_AS_MAPPING).value
    generic_mapping = ctypes.c_void_p.from_address(id(_Generic) + _TP_AS_MAPPING).value
    if mapping is None or generic_mapping is None:
        raise RuntimeError("list slice stores: this interpreter's type layout is not the one known")
    slot = ctypes.c_void_p.from_address(mapping + _MP_ASS_SUBSCRIPT)
    generic = ctypes.c_void_p.from_address(generic_mapping + _MP_ASS_SUBSCRIPT).value
    wrapped = ctypes.c_void_p.from_address(id(list.__dict__["__setitem__"]) + _D_WRAPPED).value
    deleting = ctypes.c_void_p.from_address(id(list.__dict__["__delitem__"]) + _D_WRAPPED).value
    if slot.value is None or not slot.value == wrapped == deleting or generic is None:
        raise RuntimeError("list slice stores: this interpreter's type layout is not the one known")
    cells: dict[str, object] = {
        "kind": type,
        "slice_type": slice,
        "list_type": list,
        "tuple_type": tuple,
        "has": hasattr,
        "as_list": list,
        "get_iter": iter,
        "type_error": TypeError,
        "to_index": operator.index,
        "value_error": ValueError,
        "store": list.__setitem__,
    }
    method = program_function(_STORE, program_globals, cells, "list.__setitem__")
    namespace["__setitem__"] = method  # __delitem__ stays CPython's: a delete sizes nothing late
    slot.value = generic


class _Generic:
    """A class defined in Python: its ``tp_richcompare`` and ``mp_ass_subscript`` are CPython's
    generic slot functions."""

    def __lt__(self, other: object) -> object:
        return NotImplemented

    def __setitem__(self, key: object, value: object) -> None:
        return None

    def __mod__(self, other: object) -> object:
        return NotImplemented
