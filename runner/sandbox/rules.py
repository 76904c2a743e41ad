"""What tree programs may and may not name: the sandbox's rules, shared by compile and run time."""

from __future__ import annotations

from RestrictedPython.transformer import FORBIDDEN_FUNC_NAMES, INSPECT_ATTRIBUTES

ALLOWED_MODULES = frozenset({"math", "random", "time"})

# Attribute names never reachable: frames, code, tracebacks (CVE-2023-37271 class) and friends.
DENIED_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES | {"func_globals", "func_code"})
# Attribute names only runtime can judge: str.format / format_map walk attributes of their
# arguments (CVE-2023-41039 class), so they go through ``_getattr_`` which hands out a safe one.
RUNTIME_ATTRIBUTES = frozenset({"format", "format_map"})

# Builtins a program cannot use; rejected at check time unless the program binds the name itself.
FORBIDDEN_BUILTINS = frozenset(
    {"eval", "exec", "compile", "open", "globals", "locals", "vars", "dir", "input", "breakpoint"}
    | {"help", "exit", "quit", "memoryview", "copyright", "credits", "license", "aiter", "anext"}
)

# Special methods a user class may define: ordinary protocol methods, none that change how
# attributes are looked up (__getattr__, __getattribute__), or hook class creation.
ALLOWED_DUNDER_DEFS = frozenset(
    {"__init__", "__contains__", "__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__"}
    | {"__str__", "__repr__", "__len__", "__iter__", "__next__", "__getitem__", "__setitem__"}
    # No __rmul__: it is what keeps "[x] * n" a plain list (see fresh_containers).
    | {"__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__truediv__"}
    | {"__floordiv__", "__mod__", "__neg__", "__pos__", "__abs__", "__bool__", "__hash__"}
    | {"__call__", "__enter__", "__exit__"}
)

# RestrictedPython reserves "printed" for its print collector, which the sandbox does not use.
RESERVED_NAMES = FORBIDDEN_FUNC_NAMES - {"printed"}

# Special attributes a program may read: plain strings describing a class or function.
READABLE_DUNDERS = frozenset({"__name__", "__qualname__"})

# A program nested deeper than this is rejected before the (recursive) transformer and compiler
# see it: CPython's compiler can hit RecursionError or worse on deep nesting.
MAX_NESTING = 100
