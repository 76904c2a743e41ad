"""Functions of the sandbox's own, rebuilt as functions of the program.

Several fixes hand a program a function of the sandbox's: methods put on built-in types
(``cpython_fixes``, ``repr_fixes``), the class writer (``class_writes``), ``_yield_from_``
(``delegation``), a class's ``__exit__`` and ``__iter__`` (``guards``). The reachability audit's
rule is that no function a program can reach has globals other than the program's own: a
sandbox module's globals lead to real modules. So each is written as a *template*, a closure
whose free variables name everything it uses, and rebuilt here from the template's code, the
program's globals and fresh cells holding the real values. Nothing is looked up in the globals,
which the program can change.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping


def program_function(
    template: Callable[..., object],
    program_globals: dict[str, object],
    cells: Mapping[str, object],
    qualname: str | None = None,
) -> types.FunctionType:
    """``template``'s code as a function of ``program_globals``, each free variable bound to
    ``cells[name]``. ``qualname`` ("list.__lt__") names it in tracebacks and argument errors;
    its last part is the function's ``__name__``. Without it, the template's names are kept."""
    code = template.__code__
    closure = tuple(types.CellType(cells[name]) for name in code.co_freevars)
    name = template.__name__ if qualname is None else qualname.rpartition(".")[2]
    function = types.FunctionType(code, program_globals, name, None, closure)
    if qualname is not None:
        function.__qualname__ = qualname
    return function
