"""Run-time half of the sandbox: the guard functions, safe builtins and module namespaces.

Each run gets fresh objects from these factories (``runner.sandbox.policy.make_globals``), so
nothing a program changes survives into the next run.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # CPython's parsers, the ones str.format uses
import builtins
import functools
import operator
from collections.abc import Callable
from typing import Any, cast

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from runner.sandbox.modules import make_import, make_modules
from runner.sandbox.rules import DENIED_ATTRIBUTES, FORBIDDEN_BUILTINS

# Plain builtins that give no way out of the sandbox. Type objects here are the real ones:
# their reachable attributes are public methods, and private ones never compile.
_SAFE_BUILTIN_NAMES = [
    "None",
    "False",
    "True",
    "Ellipsis",
    "NotImplemented",
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "complex",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hash",
    "hex",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "oct",
    "ord",
    "pow",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "zip",
    "dict",
]

_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}


def _check_template(template: str) -> None:
    """Reject a format template whose fields reach private or denied attributes.

    CPython's own parsers (the ones ``str.format`` runs) find every field, including fields
    nested in a format spec (``{0:{1.attr}}``), so what is checked is exactly what is formatted.
    """
    pending = [template]
    while pending:
        for _text, field, spec, _conversion in _string.formatter_parser(pending.pop()):
            if field is None:
                continue
            for is_attr, key in _string.formatter_field_name_split(field)[1]:
                if is_attr and (key.startswith("_") or key in DENIED_ATTRIBUTES):
                    raise AttributeError(f'"{key}" is not accessible in tree programs')
            if spec:
                pending.append(spec)


def _safe_format(template: str, /, *args: object, **kwargs: object) -> str:
    if not isinstance(template, str):
        raise TypeError("format() needs a str")
    _check_template(template)
    return str.format(template, *args, **kwargs)


def _safe_format_map(template: str, mapping: object, /) -> str:
    if not isinstance(template, str):
        raise TypeError("format_map() needs a str")
    _check_template(template)
    return str.format_map(template, mapping)  # type: ignore[arg-type]


_SAFE_FORMATTERS = {"format": _safe_format, "format_map": _safe_format_map}


def guarded_getattr(obj: object, name: str, *default: object) -> object:
    """``getattr`` for programs: public, non-deny-listed names only; a safe ``str.format``."""
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in DENIED_ATTRIBUTES:
        raise AttributeError(f'"{name}" is not accessible in tree programs')
    if name in _SAFE_FORMATTERS:
        if isinstance(obj, super):
            # super().format inside a str subclass would be the real, unguarded str.format.
            raise AttributeError(f"super().{name} is not available in tree programs")
        cls = obj if isinstance(obj, type) else type(obj)
        # str's own format (a program's str subclass may define a format method of its own).
        if issubclass(cls, str) and getattr(cls, name) is getattr(str, name):
            safe = _SAFE_FORMATTERS[name]
            return safe if cls is obj else functools.partial(safe, cast(str, obj))
    return getattr(obj, name, *default)


def guarded_hasattr(obj: object, name: str) -> bool:
    """``hasattr`` with the same rules as ``guarded_getattr``."""
    try:
        guarded_getattr(obj, name)
    except AttributeError:
        return False
    return True


def inplacevar(op: str, target: object, value: object) -> object:
    """``_inplacevar_``: ``x += y`` as RestrictedPython's stock transform spells it."""
    return _INPLACE_OPS[op](target, value)


def apply(func: Callable[..., object], *args: object, **kwargs: object) -> object:
    """``_apply_``: ``f(*a, **k)`` as RestrictedPython's stock transform spells it."""
    return func(*args, **kwargs)


def safe_type(*args: object) -> type:
    """One-argument ``type()``; the class-making three-argument form is not available."""
    if len(args) != 1:
        raise TypeError("type() takes exactly one argument in tree programs (use a class)")
    result = type(args[0])
    if issubclass(result, type):
        raise TypeError("type() of a class is not available in tree programs")
    return result


def make_class_guards() -> tuple[Callable[[object], object], Callable[..., type]]:
    """A run's ``_write_`` guard and ``__metaclass__``, sharing the set of writable types.

    A program may change its own objects (instances of its classes, its classes, lists, dicts,
    sets) and nothing else: module namespaces, functions and built-in objects stay as handed out.
    """
    writable: set[object] = {dict, list, set, bytearray}

    def write_guard(ob: object) -> object:
        if type(ob) in writable:
            return ob
        if isinstance(ob, type) and ob in writable:
            return ob
        raise TypeError(f"cannot change {type(ob).__name__} objects in tree programs")

    def metaclass(name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        for base in bases:
            if isinstance(base, type) and issubclass(base, type):
                raise TypeError("metaclasses are not available in tree programs")
        cls = type(name, bases, namespace)
        writable.add(cls)
        return cls

    return write_guard, metaclass


def guarded_setattr(
    write_guard: Callable[[object], object],
) -> Callable[[object, str, object], None]:
    """``setattr`` for programs: public names on objects the write guard allows."""

    def setattr_(obj: object, name: str, value: object) -> None:
        if type(name) is not str or name.startswith("_") or name in DENIED_ATTRIBUTES:
            raise AttributeError(f'"{name}" cannot be set in tree programs')
        setattr(write_guard(obj), name, value)

    return setattr_


def guarded_delattr(write_guard: Callable[[object], object]) -> Callable[[object, str], None]:
    """``delattr`` for programs, with the same rules as ``setattr``."""

    def delattr_(obj: object, name: str) -> None:
        if type(name) is not str or name.startswith("_") or name in DENIED_ATTRIBUTES:
            raise AttributeError(f'"{name}" cannot be deleted in tree programs')
        delattr(write_guard(obj), name)

    return delattr_


def make_print(write_log: Callable[[str], None]) -> Callable[..., None]:
    """``print`` that writes to the run's log (the child caps it)."""

    def print_(
        *args: object,
        sep: str | None = " ",
        end: str | None = "\n",
        file: object = None,
        flush: bool = False,
    ) -> None:
        if file is not None:
            raise TypeError("print(file=...) is not available: print writes to the run's log")
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        if type(sep) is not str or type(end) is not str:
            raise TypeError("print(): sep and end must be strings")
        write_log(sep.join([str(a) for a in args]) + end)

    return print_


def make_builtins(write_log: Callable[[str], None]) -> tuple[dict[str, object], dict[str, object]]:
    """Fresh ``__builtins__`` and the RestrictedPython guard globals for one run."""
    write_guard, metaclass = make_class_guards()
    modules = make_modules()
    safe: dict[str, object] = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    safe.update(
        {
            name: value
            for name, value in vars(builtins).items()
            if isinstance(value, type) and issubclass(value, BaseException)
        }
    )
    safe.update(
        __build_class__=builtins.__build_class__,
        __import__=make_import(modules),
        getattr=guarded_getattr,
        hasattr=guarded_hasattr,
        setattr=guarded_setattr(write_guard),
        delattr=guarded_delattr(write_guard),
        type=safe_type,
        print=make_print(write_log),
    )
    assert not FORBIDDEN_BUILTINS & safe.keys()
    guards: dict[str, object] = {
        "__metaclass__": metaclass,
        "__name__": "__main__",
        "_getattr_": guarded_getattr,
        "_getitem_": operator.getitem,
        "_getiter_": iter,
        "_write_": write_guard,
        "_inplacevar_": inplacevar,
        "_apply_": apply,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    }
    return safe, guards
