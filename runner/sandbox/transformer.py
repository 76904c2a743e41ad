"""Compile-time half of the sandbox: a RestrictedPython transformer tuned for tree programs.

The runtime guards (``runner.sandbox.guards``) only decide what needs runtime knowledge. Everything
RestrictedPython's stock ``safer_getattr`` decides from the attribute *name* alone is decided
here instead, so ``obj.attr`` with a public, non-deny-listed constant name compiles to a plain
attribute load with no guard call (the same objects are reachable either way). Writes keep
their runtime ``_write_`` guard because only runtime knows who owns the object.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from runner.sandbox.rules import (
    ALLOWED_DUNDER_DEFS,
    ALLOWED_MODULES,
    DENIED_ATTRIBUTES,
    FORBIDDEN_BUILTINS,
    READABLE_DUNDERS,
    RESERVED_NAMES,
    RUNTIME_ATTRIBUTES,
    is_program_private,
    is_sandbox_name,
)

# What a visit_* method returns: the node, nodes replacing it, or None to drop it.
Visited = ast.AST | Iterable[ast.AST] | None


@dataclass(frozen=True)
class Problem:
    """One rule violation found at compile time (line and 1-based column in the user's file)."""

    line: int | None
    col: int | None
    message: str


def _call(name: str, args: list[ast.expr], like: ast.expr) -> ast.Call:
    new = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(new, like)
    return new


class SandboxTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer with structured errors and compile-time fast paths.

    ``fast = False`` keeps every runtime guard of stock RestrictedPython (used as the reference
    in ``bench/bench_sandbox_overhead.py``); the rules about what is rejected are the same.
    """

    fast = True

    def __init__(
        self, bound: frozenset[str] = frozenset(), fresh: frozenset[str] = frozenset()
    ) -> None:
        super().__init__()
        self.problems: list[Problem] = []
        self.bound = bound
        self.fresh = fresh if self.fast else frozenset()

    def error(self, node: ast.AST, info: str) -> None:
        """Record a rule violation with its line and column."""
        line = getattr(node, "lineno", None)
        col = getattr(node, "col_offset", None)
        self.problems.append(Problem(line, None if col is None else col + 1, info))
        super().error(node, info)

    def check_name(
        self, node: ast.AST, name: str | None, allow_magic_methods: bool = False
    ) -> None:
        """Reject the sandbox's own names, reserved names and (outside classes) special method
        names. Single-underscore names (``_ORDER``, ``_helper``) are the program's own."""
        if name is None or name == "_":
            return
        if is_sandbox_name(name):
            in_class = allow_magic_methods and getattr(node, "col_offset", 0) != 0
            if in_class and name in ALLOWED_DUNDER_DEFS:
                return
            if len(name) > 4 and name.startswith("__") and name.endswith("__"):
                # A special name the sandbox does not offer, not a private one (round ten).
                if not in_class:
                    self.error(node, f'special name "{name}" is not available in tree programs')
                    return
                hint = {
                    "__rmul__": " (write colour * k, not k * colour)",
                    "__hash__": " (objects are set items and dict keys by identity)",
                }.get(name, "")
                self.error(
                    node,
                    f'special method "{name}" is not available in tree programs{hint}; '
                    f"classes may define {', '.join(sorted(ALLOWED_DUNDER_DEFS))}",
                )
                return
            self.error(node, f'"{name}" is not allowed: names starting with "_" are private')
        elif name in RESERVED_NAMES:
            self.error(node, f'"{name}" is a reserved name')

    # --- names --------------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> Visited:
        """Plain names stay plain; private, reserved and forbidden builtin names are rejected."""
        if isinstance(node.ctx, ast.Load):
            if node.id == "__name__" or node.id == "print":
                return node  # __name__ is "__main__"; print is the sandbox's log writer
            if node.id in FORBIDDEN_BUILTINS and node.id not in self.bound:
                self.error(node, f'"{node.id}" is not available in tree programs')
                return node
            self.used_names[node.id] = True
        self.check_name(node, node.id)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Visited:
        """Allow annotated assignment (``x: int = 5``); the target is checked like any other."""
        return self.node_contents_visit(node)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> Visited:
        """Allow ``nonlocal``: it only rebinds the program's own closure variables."""
        for name in node.names:
            self.check_name(node, name)
        return node

    # --- imports ------------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> Visited:
        """Allow ``import math`` / ``import random as r``; nothing else."""
        for alias in node.names:
            self._check_module(node, alias.name)
        return self.check_import_names(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Visited:
        """Allow ``from math import sin``; no relative or other imports, no private names."""
        if node.level:
            self.error(node, "relative imports are not allowed")
        else:
            self._check_module(node, node.module or "")
        for alias in node.names:
            if alias.name.startswith("_"):
                # "from m import _x" reads the module namespace with no guard call.
                message = f'"{alias.name}" is not allowed: names starting with "_" are private'
                self.error(node, message)
        return self.check_import_names(node)

    def _check_module(self, node: ast.AST, name: str) -> None:
        if name not in ALLOWED_MODULES:
            allowed = ", ".join(sorted(ALLOWED_MODULES))
            self.error(
                node, f'import of "{name}" is not allowed (tree programs can import {allowed})'
            )

    # --- attributes and items -----------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> Visited:
        """Decide by name at compile time; only writes and format lookups keep a runtime guard."""
        if self._is_super_dunder(node) or (
            node.attr in READABLE_DUNDERS and isinstance(node.ctx, ast.Load)
        ):
            return self.node_contents_visit(node)
        private = is_program_private(node.attr)
        if not private:
            self._check_attribute_name(node, node.attr)
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            # ``obj._x`` is the program's own only on its own objects: only run time knows.
            if self.fast and node.attr not in RUNTIME_ATTRIBUTES and not private:
                return node
            return _call("_getattr_", [node.value, ast.Constant(node.attr)], node)
        node.value = _call("_write_", [node.value], node.value)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> Visited:
        """Reads are plain in fast mode (``_getitem_`` is plain indexing); writes are guarded."""
        if self.fast and isinstance(node.ctx, ast.Load):
            return self.node_contents_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id in self.fresh:
            return self.node_contents_visit(node)  # a plain list/dict/set: always writable
        return super().visit_Subscript(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Visited:
        """``yield from X`` delegates to ``_yield_from_(X)``: a real generator, never a program's
        iterator, whose ``throw`` CPython 3.11 releases too late; ``_yield_result_`` raises
        what was thrown into an iterator without ``throw`` at the ``yield from``, as CPython
        does (``delegation``)."""
        node = self.node_contents_visit(node)
        # At the ``yield from``'s own place: an error getting the iterator is on its line.
        node.value = _call("_yield_from_", [node.value], node)
        return _call("_yield_result_", [node], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Visited:
        """Allow ``x += 1``, ``a[i] += 1`` and ``self.n += 1``; the container's write is guarded."""
        if isinstance(node.target, ast.Name) and not self.fast:
            return super().visit_AugAssign(node)
        if isinstance(node.target, ast.Attribute) and node.target.attr in RUNTIME_ATTRIBUTES:
            # "s.format += x" reads s.format with no guard call (the real str.format), and
            # hands it to x's __radd__; only the runtime guard may give out that method.
            self.error(node, f'"{node.target.attr}" cannot be updated with "+=" and the like')
        # Attribute/Subscript targets become _write_(obj).attr += v: the object expression is
        # evaluated once and checked by the write guard before anything is stored into it.
        return self.node_contents_visit(node)

    # --- iteration and unpacking --------------------------------------------------------------

    def guard_iter(self, node: ast.For | ast.comprehension) -> Visited:
        """``_getiter_`` (plain ``iter``) around loop sources, skipped for ``range(...)``."""
        if not self.fast:
            return super().guard_iter(node)
        node = self.node_contents_visit(node)
        if not self._is_builtin_call(node.iter, "range"):
            node.iter = _call("_getiter_", [node.iter], node.iter)
        return node

    def visit_Assign(self, node: ast.Assign) -> Visited:
        """Unpacking needs no per-item guard in fast mode: ``_getiter_`` protects nothing extra."""
        if self.fast:
            return self.node_contents_visit(node)
        return super().visit_Assign(node)

    def visit_With(self, node: ast.With) -> Visited:
        """``with`` is plain in fast mode, for the same reason as unpacking."""
        if self.fast:
            return self.node_contents_visit(node)
        return super().visit_With(node)

    def visit_Call(self, node: ast.Call) -> Visited:
        """``f(*a, **k)`` calls ``f`` directly in fast mode; stock wraps it in ``_apply_``."""
        if self.fast:
            return self.node_contents_visit(node)
        return super().visit_Call(node)

    # --- match statements -----------------------------------------------------------------
    # Patterns look attributes up by name without any guard (``case P(x=v)``, ``case C.RED``),
    # so every name in them is checked here; the compiler only allows names, dotted names and
    # literals in those places, so nothing else can hide there.

    def visit_Match(self, node: ast.Match) -> Visited:
        """Allow ``match``; its patterns are checked below."""
        return self.node_contents_visit(node)

    def visit_match_case(self, node: ast.match_case) -> Visited:
        """Allow ``case`` clauses (pattern, guard, body)."""
        return self.node_contents_visit(node)

    def visit_MatchValue(self, node: ast.MatchValue) -> Visited:
        """``case 1`` / ``case Colour.RED``: a literal or a dotted name, checked, left plain."""
        self._check_dotted(node.value)
        return node

    def visit_MatchSingleton(self, node: ast.MatchSingleton) -> Visited:
        """``case None``."""
        return node

    def visit_MatchSequence(self, node: ast.MatchSequence) -> Visited:
        """``case [a, *rest]``."""
        return self.node_contents_visit(node)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> Visited:
        """``case {"k": v, **rest}``."""
        for key in node.keys:
            self._check_dotted(key)
        for pattern in node.patterns:
            self.visit(pattern)
        self._check_pattern_name(node, node.rest)
        return node

    def visit_MatchClass(self, node: ast.MatchClass) -> Visited:
        """``case Point(x=0)``: the class is a dotted name, keyword attributes are checked."""
        self._check_dotted(node.cls)
        for attr in node.kwd_attrs:
            self._check_attribute_name(node, attr)
            if attr in RUNTIME_ATTRIBUTES:
                # A class pattern reads the attribute with no guard call, which would hand
                # out the real str.format; only the runtime guard may give out that one.
                self.error(node, f'"{attr}" cannot be captured in a class pattern')
        for pattern in (*node.patterns, *node.kwd_patterns):
            self.visit(pattern)
        return node

    def visit_MatchStar(self, node: ast.MatchStar) -> Visited:
        """``*rest`` in a sequence pattern."""
        self._check_pattern_name(node, node.name)
        return node

    def visit_MatchAs(self, node: ast.MatchAs) -> Visited:
        """``case x`` / ``case [1] as x`` / ``case _``."""
        self._check_pattern_name(node, node.name)
        return self.node_contents_visit(node)

    def visit_MatchOr(self, node: ast.MatchOr) -> Visited:
        """``case 1 | 2``."""
        return self.node_contents_visit(node)

    def _check_dotted(self, node: ast.expr) -> None:
        for part in ast.walk(node):
            if isinstance(part, ast.Name):
                self._check_pattern_name(part, part.id)
                self.visit_Name(part)
            elif isinstance(part, ast.Attribute):
                self._check_attribute_name(part, part.attr)
                if part.attr in RUNTIME_ATTRIBUTES:
                    # "case S.format:" reads the attribute with no guard call and hands the
                    # real str.format to the subject's __eq__ (or a mapping's get).
                    self.error(part, f'"{part.attr}" cannot be used in a pattern')

    def _check_pattern_name(self, node: ast.AST, name: str | None) -> None:
        # Patterns bind and look up names with no guard call: no "_" names there at all.
        if name is not None and name.startswith("_") and name != "_":
            self.error(node, f'"{name}" is not allowed: names starting with "_" are private')
        else:
            self.check_name(node, name)

    def _check_attribute_name(self, node: ast.AST, attr: str) -> None:
        if attr.startswith("_") and attr != "_":
            self.error(node, f'"{attr}" is not allowed: attributes starting with "_" are private')
        elif attr in DENIED_ATTRIBUTES:
            self.error(node, f'"{attr}" is not accessible in tree programs')

    def visit_TryStar(self, node: ast.AST) -> Visited:
        """Reject ``try/except*``: exception groups are a known escape route (CVE-2025-22153)."""
        self.error(node, "try/except* is not allowed")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Visited:
        """Stock rewrite to ``metaclass=__metaclass__``, keeping the class's own line number."""
        new = cast(ast.ClassDef, super().visit_ClassDef(node))
        for part in (new, *new.keywords, *(k.value for k in new.keywords)):
            ast.copy_location(part, node)
        return new

    def _is_super_dunder(self, node: ast.Attribute) -> bool:
        # super().__init__(...) is how a subclass calls its parent. Zero-argument super() only
        # reaches the parents of the program's own class on its own instance, so the allowed
        # special methods may be named through it (not through super(cls, any_object)).
        return (
            node.attr in ALLOWED_DUNDER_DEFS
            and isinstance(node.ctx, ast.Load)
            and self._is_builtin_call(node.value, "super")
            and not node.value.args  # type: ignore[attr-defined]
            and not node.value.keywords  # type: ignore[attr-defined]
        )

    def _is_builtin_call(self, node: ast.expr, name: str) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == name
            and name not in self.bound
        )


class GuardedTransformer(SandboxTransformer):
    """The same rules with every stock runtime guard kept (the benchmark's reference)."""

    fast = False
