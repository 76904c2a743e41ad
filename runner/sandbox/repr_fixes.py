"""``str()`` and ``repr()`` that hold what they format, in place of CPython 3.11's own for
exceptions and lists, and ``bytearray.hex`` on a copy (red team round sixteen).

CPython 3.11 formats some objects through *borrowed* pointers:

* ``BaseException.__str__`` / ``__repr__`` format ``self.args[0]`` (or ``self.args``),
  ``KeyError.__str__`` its repr, ``ImportError``, ``OSError`` and ``SyntaxError`` their fields
  (``msg``, ``errno``, ``strerror``, ``filename``...);
* ``list.__repr__`` each item (bpo-30774 / gh-132713, fixed in 3.13 only).

Nothing holds the object while its own ``__str__``/``__repr__`` runs. A program object there is
harmless (its method's frame holds it), but a built-in one, a ``slice`` or an ``OSError``, formats
its own fields one after the other from C: program code run for the first field can set
``holder.args = ()`` (or empty the list) and free it mid-format, refill the memory and be handed
a fake object over the child's whole memory: the real builtins, every run.

So the child replaces these methods with the Python functions below, whose frames hold the
tuple, the fields or a copy of the list while they format, in the type's dictionary, and
points the types' ``tp_str`` / ``tp_repr`` slots (which the interpreter calls without looking
at the dictionary) at CPython's generic slot functions, as ``cpython_fixes`` does for list
comparisons. Built-in subclasses copied the slot when they were made, and some hold a wrapper
of the same C function in their own dictionary (``AttributeError``, ``NameError``): every
subclass whose slot or wrapper is the replaced C function is changed too. Each replaced slot
is first checked against the wrapper in its type's dictionary; a mismatch raises.

``bytearray.hex(sep)``: a separator's ``__len__`` (a ``str`` subclass) could clear the
bytearray whose buffer ``hex`` was reading (gh-143195): it formats a ``bytes`` copy.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable, Iterator
from typing import Any

from runner.sandbox.templates import program_function

_POINTER = ctypes.sizeof(ctypes.c_void_p)
# In PyTypeObject (CPython 3.8-3.12, 64-bit): tp_repr and tp_str; a wrapper_descriptor's
# d_wrapped (as in cpython_fixes).
_TP_REPR = 11 * _POINTER
_TP_STR = 17 * _POINTER
_D_WRAPPED = 6 * _POINTER


def _exception_templates() -> dict[str, Callable[..., str]]:
    # Replaced by the real values, cell by cell (see ``_function``): the C fields' own getters,
    # never an attribute the program's class may override. Text is put together with
    # ``str.join``, which reads a ``str`` subclass's characters without running its methods
    # (``+`` would call a subclass's ``__radd__``: red team round seventeen).
    args_of: Callable[[Any], tuple[object, ...]] = BaseException.__dict__["args"].__get__
    name_of: Callable[[Any], str] = type.__dict__["__name__"].__get__
    kind: Callable[[object], type] = type
    size: Callable[[Any], int] = tuple.__len__
    as_str: Callable[[object], str] = str
    as_repr: Callable[[object], str] = repr
    join: Callable[[str, list[str]], str] = str.join
    int_type, str_type = int, str
    is_a: Callable[[object, type], bool] = isinstance
    last_part: Callable[[str, str], tuple[str, str, str]] = str.rpartition
    field: Callable[[Any], Any] = args_of
    errno_of = strerror_of = filename_of = filename2_of = msg_of = lineno_of = field
    base_str: Callable[[Any], str] = str
    # OSError: whether a field is set at all (CPython tells NULL from None; the getters give
    # None for both): the field's offset, read in an OSError only.
    os_error_type = OSError
    is_set: Callable[[Any, int], bool] = _is_set
    errno_at = strerror_at = filename_at = 0

    def exception_str(self: Any) -> str:
        args = args_of(self)  # held: the program may replace self.args while it formats
        count = size(args)
        if count == 0:
            return ""
        return as_str(args[0] if count == 1 else args)

    def exception_repr(self: Any) -> str:
        args = args_of(self)
        if size(args) == 1:
            return join("", [name_of(kind(self)), "(", as_repr(args[0]), ")"])
        return join("", [name_of(kind(self)), as_repr(args)])

    def key_error_str(self: Any) -> str:
        args = args_of(self)
        if size(args) == 1:
            return as_repr(args[0])
        return base_str(self)

    def import_error_str(self: Any) -> str:
        msg = msg_of(self)
        if kind(msg) is str_type:
            return msg  # type: ignore[no-any-return]
        return base_str(self)

    def os_error_str(self: Any) -> str:
        if not is_a(self, os_error_type):
            return base_str(self)  # raises CPython's TypeError for what is no exception
        errno, strerror = errno_of(self), strerror_of(self)
        filename, filename2 = filename_of(self), filename2_of(self)
        if is_set(self, filename_at):
            parts = ["[Errno ", as_str(errno), "] ", as_str(strerror), ": ", as_repr(filename)]
            if filename2 is not None:
                parts += [" -> ", as_repr(filename2)]
            return join("", parts)
        if is_set(self, errno_at) and is_set(self, strerror_at):
            return join("", ["[Errno ", as_str(errno), "] ", as_str(strerror)])
        return base_str(self)

    def syntax_error_str(self: Any) -> str:
        msg, filename, lineno = msg_of(self), filename_of(self), lineno_of(self)
        text = as_str(msg)
        name = last_part(filename, "/")[2] if is_a(filename, str_type) else None
        line = None
        if kind(lineno) is int_type:  # CPython prints -1 for a line beyond a C long
            line = join("", ["line ", as_str(lineno if -(2**63) <= lineno < 2**63 else -1)])
        if name is not None and line is not None:
            return join("", [text, " (", name, ", ", line, ")"])
        if name is not None or line is not None:
            return join("", [text, " (", line or name or "", ")"])
        return text

    return {
        "BaseException.__str__": exception_str,
        "BaseException.__repr__": exception_repr,
        "KeyError.__str__": key_error_str,
        "ImportError.__str__": import_error_str,
        "OSError.__str__": os_error_str,
        "SyntaxError.__str__": syntax_error_str,
    }


def _list_repr_template() -> Callable[[Any], str]:
    size: Callable[[Any], int] = list.__len__
    item_at: Callable[[Any, int], object] = list.__getitem__
    as_repr: Callable[[object], str] = repr
    join: Callable[[str, list[str]], str] = str.join
    ident: Callable[[object], int] = id
    busy: set[int] = set()  # lists being formatted: a list inside itself is "[...]"

    def method(self: Any) -> str:
        if size(self) == 0:
            return "[]"
        key = ident(self)
        if key in busy:
            return "[...]"
        busy.add(key)
        try:
            # As CPython: the length and each item read again as it goes (an item's repr may
            # change the list), but each item held while it formats.
            parts = []
            i = 0
            while i < size(self):
                item = item_at(self, i)
                parts.append(as_repr(item))
                i += 1
            return join("", ["[", join(", ", parts), "]"])
        finally:
            busy.discard(key)

    return method


def _hex_template() -> Callable[..., str]:
    as_bytes: Callable[[Any], bytes] = bytes
    to_hex: Callable[..., str] = bytes.hex
    is_a: Callable[[object, type], bool] = isinstance
    bytearray_type = bytearray
    name_of: Callable[[Any], str] = type.__dict__["__name__"].__get__
    kind: Callable[[object], type] = type
    type_error = TypeError  # the program may define a TypeError of its own

    def method(*args: Any, **kwargs: Any) -> str:
        if not args:
            raise type_error("unbound method bytearray.hex() needs an argument")
        self, args = args[0], args[1:]
        if not is_a(self, bytearray_type):  # as CPython's method descriptor
            raise type_error(
                "descriptor 'hex' for 'bytearray' objects doesn't apply to a "
                f"'{name_of(kind(self))}' object"
            )
        return to_hex(as_bytes(self), *args, **kwargs)  # bytes cannot change under hex

    return method


def _cells(base: type) -> dict[str, object]:
    """The closure values of the exception templates, for the C fields of ``base``."""
    fields = base.__dict__
    cells: dict[str, object] = {
        "args_of": BaseException.__dict__["args"].__get__,
        "name_of": type.__dict__["__name__"].__get__,
        "kind": type,
        "size": tuple.__len__,
        "as_str": str,
        "as_repr": repr,
        "int_type": int,
        "str_type": str,
        "is_a": isinstance,
        "last_part": str.rpartition,
        "join": str.join,
        "base_str": BaseException.__dict__["__str__"],  # replaced before these are made
        "os_error_type": OSError,
        "is_set": _is_set,
        "errno_at": _member_offset(OSError, "errno"),
        "strerror_at": _member_offset(OSError, "strerror"),
        "filename_at": _member_offset(OSError, "filename"),
    }
    for cell, field in (
        ("errno_of", "errno"),
        ("strerror_of", "strerror"),
        ("filename_of", "filename"),
        ("filename2_of", "filename2"),
        ("msg_of", "msg"),
        ("lineno_of", "lineno"),
    ):
        cells[cell] = fields[field].__get__ if field in fields else None
    return cells


def _is_set(exception: object, offset: int) -> bool:
    """Whether the object field at ``offset`` in ``exception`` (an OSError: its type is
    checked first) is set at all."""
    return ctypes.c_void_p.from_address(id(exception) + offset).value is not None


def _member_offset(kind: type, name: str) -> int:
    """Where a C member (``PyMemberDef``) of ``kind`` lies in its instances: the descriptor
    (``PyDescr_COMMON``, then ``d_member``) points at its definition (``name``, ``type``, then
    ``offset``). Checked on an instance before it is used."""
    descriptor = kind.__dict__[name]
    member = ctypes.c_void_p.from_address(id(descriptor) + 5 * _POINTER).value
    if type(descriptor).__name__ != "member_descriptor" or member is None:
        raise RuntimeError(f"{kind.__name__}.{name}: this interpreter's layout is not known")
    offset = ctypes.c_ssize_t.from_address(member + 2 * _POINTER).value
    marker = object()
    probe = kind(1, "probe", "probe", None, "probe")
    setattr(probe, name, marker)
    if ctypes.c_void_p.from_address(id(probe) + offset).value != id(marker):
        raise RuntimeError(f"{kind.__name__}.{name}: this interpreter's layout is not known")
    return offset


def _family(root: type) -> Iterator[type]:
    yield root
    child: type
    for child in type.__subclasses__(root):
        yield from _family(child)


def _wrapped(descriptor: object) -> int | None:
    if type(descriptor).__name__ != "wrapper_descriptor":
        return None
    return ctypes.c_void_p.from_address(id(descriptor) + _D_WRAPPED).value


def _replace(root: type, name: str, offset: int, method: object, generic: int) -> None:
    """Make ``method`` ``root.<name>``, for ``root`` and every subclass that shares its C
    function (in the slot at ``offset`` or as a wrapper in its own dictionary)."""
    original = _wrapped(root.__dict__[name])
    slot = ctypes.c_void_p.from_address(id(root) + offset)
    if original is None or slot.value != original:
        raise RuntimeError(f"{root.__name__}.{name}: this interpreter's type layout is not known")
    for kind in list(_family(root)):
        own = ctypes.c_void_p.from_address(id(kind) + offset)
        namespace = gc.get_referents(kind.__dict__)[0]  # the type's real dictionary
        changed = False
        if name in namespace and _wrapped(namespace[name]) == original:
            namespace[name] = method
            changed = True
        if own.value == original:
            own.value = generic
            changed = True
        if changed:
            ctypes.pythonapi.PyType_Modified(ctypes.py_object(kind))


def install(program_globals: dict[str, object]) -> None:
    """Replace the methods the module docstring lists (this process, for good: a child runs
    one program); ``program_globals``: the functions' globals, as in ``cpython_fixes``."""
    slots = {
        "__str__": (_TP_STR, ctypes.c_void_p.from_address(id(_Generic) + _TP_STR).value),
        "__repr__": (_TP_REPR, ctypes.c_void_p.from_address(id(_Generic) + _TP_REPR).value),
    }
    if any(generic is None for _, generic in slots.values()):
        raise RuntimeError("str/repr: this interpreter's type layout is not the one known")
    templates = _exception_templates()
    # BaseException first: the others fall back on its (new) __str__.
    for qualified in (
        "BaseException.__str__",
        "BaseException.__repr__",
        "KeyError.__str__",
        "ImportError.__str__",
        "OSError.__str__",
        "SyntaxError.__str__",
    ):
        owner, name = qualified.split(".")
        root = _EXCEPTIONS[owner]
        method = program_function(templates[qualified], program_globals, _cells(root), qualified)
        offset, generic = slots[name]
        _replace(root, name, offset, method, generic)  # type: ignore[arg-type]
    cells = {
        "size": list.__len__,
        "item_at": list.__getitem__,
        "as_repr": repr,
        "join": str.join,
        "ident": id,
        "busy": set(),
    }
    method = program_function(_LIST_REPR, program_globals, cells, "list.__repr__")
    _replace(list, "__repr__", _TP_REPR, method, slots["__repr__"][1])  # type: ignore[arg-type]
    hex_cells = {
        "as_bytes": bytes,
        "to_hex": bytes.hex,
        "is_a": isinstance,
        "bytearray_type": bytearray,
        "name_of": type.__dict__["__name__"].__get__,
        "kind": type,
        "type_error": TypeError,
    }
    hex_method = program_function(_HEX, program_globals, hex_cells, "bytearray.hex")
    gc.get_referents(bytearray.__dict__)[0]["hex"] = hex_method
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(bytearray))


_EXCEPTIONS: dict[str, type] = {
    "BaseException": BaseException,
    "KeyError": KeyError,
    "ImportError": ImportError,
    "OSError": OSError,
    "SyntaxError": SyntaxError,
}
_LIST_REPR = _list_repr_template()
_HEX = _hex_template()


class _Generic:
    """A class defined in Python: its ``tp_str`` and ``tp_repr`` are CPython's generic slot
    functions."""

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return ""
