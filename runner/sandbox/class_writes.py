"""Writes into a program's own classes, made so that no old value dies while CPython's caches
still hand it out (python/cpython gh-118492; red team round thirty).

CPython 3.11's ``type_setattro`` stores the new value in the class's dictionary, which releases
the old one, and only then invalidates the type's version tag (``PyType_Modified``). While the
old value is being freed, the method cache and the specialised attribute caches still answer
``Shelf.attr`` with it: a finalizer that runs in that release (a suspended generator's
``finally``) read it back, and the interpreter then freed it under the program, which refilled
its memory and forged a ``bytearray`` over all memory (the real builtins). ``del Shelf.attr``
and ``setattr`` take the same path.

So the write guard hands back a *writer* for a program's class instead of the class: its
``__setattr__`` and ``__delattr__`` hold the old value across the store and let it go once the
caches are invalid, so its finalizers see the new state. Reads through the writer (the load
half of ``Shelf.n += 1``) are the class's own, as they were before. The writer is never a value
a program holds: only a store's or a delete's target. Its methods are functions of the
program's own globals with everything they use in their closure (the reachability audit's
rule), built as ``cpython_fixes`` builds its methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.sandbox.templates import program_function


def _templates() -> dict[str, Callable[..., object]]:
    # Replaced by the real values, cell by cell (``make_writer``).
    raw_get: Callable[[object, str], Any] = object.__getattribute__
    get: Callable[[object, str], object] = getattr
    class_dict: Callable[[type], Any] = type.__dict__["__dict__"].__get__
    set_on: Callable[[type, str, object], None] = type.__setattr__
    delete_on: Callable[[type, str], None] = type.__delattr__
    type_error = TypeError

    def __getattribute__(self: object, name: str) -> object:
        return get(raw_get(self, "_cls"), name)

    def __setattr__(self: object, name: str, value: object) -> None:
        cls = raw_get(self, "_cls")
        old = class_dict(cls).get(name)  # held until the type's caches no longer answer with it
        set_on(cls, name, value)
        del old

    def __delattr__(self: object, name: str) -> None:
        cls = raw_get(self, "_cls")
        old = class_dict(cls).get(name)
        delete_on(cls, name)
        del old

    def __setitem__(self: object, key: object, value: object) -> None:
        raise type_error("'type' object does not support item assignment")

    def __delitem__(self: object, key: object) -> None:
        raise type_error("'type' object does not support item deletion")

    return {
        "__getattribute__": __getattribute__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__setitem__": __setitem__,
        "__delitem__": __delitem__,
    }


_TEMPLATES = _templates()


def make_writer(program_globals: dict[str, object]) -> Callable[[type], object]:
    """A run's ``writer(cls)``: the object a store into the program's class ``cls`` goes
    through (see the module docstring)."""
    cells: dict[str, object] = {
        "raw_get": object.__getattribute__,
        "get": getattr,
        "class_dict": type.__dict__["__dict__"].__get__,
        "set_on": type.__setattr__,
        "delete_on": type.__delattr__,
        "type_error": TypeError,
    }
    namespace: dict[str, object] = {"__slots__": ("_cls",)}
    for name, template in _TEMPLATES.items():
        namespace[name] = program_function(template, program_globals, cells, f"type.{name}")
    writer_type = type("type", (), namespace)
    new = object.__new__
    store = object.__setattr__

    def writer(cls: type) -> object:
        made: object = new(writer_type)
        store(made, "_cls", cls)
        return made

    return writer
