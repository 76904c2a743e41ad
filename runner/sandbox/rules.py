"""What tree programs may and may not name: the sandbox's rules, shared by compile and run time."""

from __future__ import annotations

from RestrictedPython.transformer import FORBIDDEN_FUNC_NAMES, INSPECT_ATTRIBUTES

ALLOWED_MODULES = frozenset({"math", "random", "time", "colorsys", "typing"})

# Attribute names never reachable: frames, code, tracebacks (CVE-2023-37271 class) and friends.
DENIED_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES | {"func_globals", "func_code"})
# Attribute names whose answer depends on the object's exact type, decided by the run-time guard
# (``_getattr_``) wherever they appear; pattern matching and augmented assignment, which would
# look them up with no guard call, refuse them at compile time.
# - format/format_map: only on an object whose type is exactly str, and only as the guarded
#   formatter. Anything else that answers to the name (bound methods over a str, aliases, super
#   proxies, str subclasses) forwards to the real str.format, which walks fields unguarded
#   (CVE-2023-41039, CVE-2024-47532).
STR_ONLY_ATTRIBUTES = frozenset({"format", "format_map"})
# - obj: AttributeError.obj (and wrappers forwarding to it) is the live object a failed lookup
#   was made on; only the program's own (non-exception) objects may answer to the name.
OWNED_ONLY_ATTRIBUTES = frozenset({"obj"})
# - getter/setter/deleter: on a property, CPython 3.11's method releases a reference to None it
#   never took when given None (``None`` is immortal only from 3.12); repeated, the interpreter
#   aborts. The guard hands out the property's methods wrapped, refusing None (red team round
#   eight, finding 2); anything else answering to these names is handed out as it is.
PROPERTY_COPY_ATTRIBUTES = frozenset({"getter", "setter", "deleter"})
# - close/throw: on a generator, CPython 3.11 asks where the generator is delegating before it
#   checks that it is running, and for a running one reads its frame's stack out of bounds
#   (red team round thirty-two: SIGSEGV, a write into the bytecode). The guard hands out a
#   generator's (and the generator type's) close and throw checked: a running generator's raise
#   ValueError("generator already executing"), as CPython 3.12 does; anything else answering to
#   these names is handed out as it is.
GENERATOR_CHECKED_ATTRIBUTES = frozenset({"close", "throw"})
RUNTIME_ATTRIBUTES = (
    STR_ONLY_ATTRIBUTES
    | OWNED_ONLY_ATTRIBUTES
    | PROPERTY_COPY_ATTRIBUTES
    | GENERATOR_CHECKED_ATTRIBUTES
)

# The builtins a tree program gets (besides every exception class and the sandbox's own print,
# getattr, hasattr, setattr, delattr, type and __import__), each for a reason. All are
# implemented in C: no globals behind them. Type objects are the real ones; their reachable
# attributes are public methods (private ones never compile).
SAFE_BUILTINS = (
    # constants
    "None", "False", "True", "Ellipsis", "NotImplemented",
    # numbers and maths: colours, positions, animation
    "abs", "divmod", "pow", "round", "min", "max", "sum", "int", "float", "complex", "bool",
    "bin", "hex", "oct",
    # text: print, labels, logs (format() only applies a spec: it walks no fields)
    "str", "repr", "ascii", "chr", "ord", "format",
    # containers and iteration: frames are lists of tuples
    "list", "tuple", "dict", "set", "frozenset", "range", "slice", "bytes", "bytearray",
    "len", "enumerate", "zip", "map", "filter", "sorted", "reversed", "iter", "next", "all", "any",
    # classes as ordinary programs write them: class Snowflake(object), super().__init__(),
    # @property, @staticmethod, @classmethod (their wrappers forward lookups, which is why
    # format/format_map are decided by exact type)
    "object", "super", "property", "staticmethod", "classmethod",
    # checks programs make on their own values
    "isinstance", "issubclass", "callable", "hash", "id",
)  # fmt: skip

# Builtins a program cannot use; rejected at check time unless the program binds the name itself.
FORBIDDEN_BUILTINS = frozenset(
    {"eval", "exec", "compile", "open", "globals", "locals", "vars", "dir", "input", "breakpoint"}
    | {"help", "exit", "quit", "memoryview", "copyright", "credits", "license", "aiter", "anext"}
    # Their constructors take any start and end, which str() then reads (guards.make_builtins).
    | {"UnicodeError", "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeTranslateError"}
)

# Special methods a user class may define: ordinary protocol methods, none that change how
# attributes are looked up (__getattr__, __getattribute__), or hook class creation.
ALLOWED_DUNDER_DEFS = frozenset(
    {"__init__", "__contains__", "__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__"}
    | {"__str__", "__repr__", "__len__", "__iter__", "__next__", "__getitem__", "__setitem__"}
    # No __rmul__: it is what keeps "[x] * n" a plain list (see fresh_containers).
    | {"__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__truediv__"}
    | {"__floordiv__", "__mod__", "__neg__", "__pos__", "__abs__", "__bool__"}
    # No __hash__: an object with a __eq__ of the program's is then unhashable (Python sets
    # __hash__ to None), so sets and dicts never run program code while they look up, add or
    # remove an item. CPython 3.11's sets miscount when an item's __eq__ adds to the same set
    # (gh-141805), which red team round twelve turned into the real builtins; dicts and sets
    # have had more bugs of that shape. Objects are still keys and items, by identity.
    | {"__call__", "__enter__", "__exit__"}
)

# RestrictedPython reserves "printed" for its print collector, which the sandbox does not use.
RESERVED_NAMES = FORBIDDEN_FUNC_NAMES - {"printed"}

# Special attributes a program may read: plain strings describing a class or function.
READABLE_DUNDERS = frozenset({"__name__", "__qualname__"})


def is_sandbox_name(name: str) -> bool:
    """Names no program may bind or read: dunders (and ``__x``, which Python mangles), the
    guards (``_getattr_``, ``_write_``...: leading and trailing underscore) and RestrictedPython's
    temporaries (``_tmp0``). A program must never rebind a guard."""
    return (
        name.startswith("__")
        or (len(name) > 1 and name.startswith("_") and name.endswith("_"))
        or (name.startswith("_tmp") and name[4:].isdigit())
    )


def is_program_private(name: str) -> bool:
    """A single-underscore name (``_x``, ``self._frame_time``): the program's own when it names
    the program's variables, or attributes its own objects hold; never a sandbox name."""
    return name.startswith("_") and name != "_" and not is_sandbox_name(name)


# A program nested deeper than this is rejected before the (recursive) transformer and compiler
# see it: CPython's compiler can hit RecursionError or worse on deep nesting. A chain of terms
# joined by operators (``a + b + c``, one level of the AST per term, but flat to a reader: a
# pattern written out step by step) counts as one level, up to MAX_CHAIN terms (red team round
# sixteen: 120 terms were refused); the transformer and the compiler are given the recursion
# such a chain needs (``policy``), and 3,000 terms compile.
MAX_NESTING = 100
MAX_CHAIN = 2000
