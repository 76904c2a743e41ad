"""Whole-program facts the sandbox transformer needs, found without recursion."""

from __future__ import annotations

import ast
from typing import NamedTuple


class Nesting(NamedTuple):
    """How deep a program is nested, and where."""

    depth: int  # levels of the AST, a chain of operators counting as one
    chain: int  # the most links in one chain (``_links``): its terms (or branches) less one
    line: int | None  # of the deepest node
    chain_line: int | None  # of the longest chain's end


def _links(node: ast.AST) -> tuple[ast.AST, ...]:
    """The children of ``node`` that continue a chain, flat to a reader though nested in the
    AST: the left term of ``a + b + c``, an ``elif`` (an ``if`` alone in the ``else``), the
    ``else`` of a conditional expression that is one, and what a call, an attribute or an
    index is taken of (``text.replace(...).replace(...)``, ``grid[y][x]``)."""
    if isinstance(node, ast.BinOp):
        return (node.left,)
    if isinstance(node, ast.If) and len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
        return (node.orelse[0],)
    if isinstance(node, ast.IfExp):
        return (node.orelse,)
    if isinstance(node, ast.Call):
        return (node.func,)
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return (node.value,)
    return ()


def nesting_depth(tree: ast.AST) -> Nesting:
    """The depth of the AST, measured without recursion so any input is safe to measure.

    A link of a chain (``_links``) adds no level, but a link to its chain."""
    deepest, deepest_line = 0, None
    longest, longest_line = 0, None
    stack: list[tuple[ast.AST, int, int, int | None]] = [(tree, 1, 0, None)]
    while stack:
        node, depth, chain, line = stack.pop()
        line = getattr(node, "lineno", line)  # a node without one: its parent's
        if depth > deepest:
            deepest, deepest_line = depth, line
        if chain > longest:
            longest, longest_line = chain, line
        links = _links(node)
        for child in ast.iter_child_nodes(node):
            if child in links and type(child) in _CHAINS:
                stack.append((child, depth, chain + 1, line))
            else:
                stack.append((child, depth + 1, 0, line))
    return Nesting(deepest, longest, deepest_line, longest_line)


# The nodes a chain goes on through (see ``_links``).
_CHAINS = frozenset({ast.BinOp, ast.If, ast.IfExp, ast.Call, ast.Attribute, ast.Subscript})


def _other_bindings(tree: ast.AST) -> set[str]:
    """Names bound other than by a plain name target: defs, arguments, imports, captures..."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def bound_names(tree: ast.AST) -> frozenset[str]:
    """Every name the program itself binds anywhere (assignments, defs, args, imports...)."""
    names = _other_bindings(tree)
    names.update(
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
    )
    return frozenset(names)


_CONTAINER_DISPLAYS = (ast.List, ast.ListComp, ast.Dict, ast.DictComp, ast.Set, ast.SetComp)
_CONTAINER_TYPES = frozenset({"list", "dict", "set", "bytearray"})


def _is_fresh_container(value: ast.expr, bound: frozenset[str]) -> bool:
    """Whether ``value`` always evaluates to a new plain list, dict, set or bytearray."""
    if isinstance(value, _CONTAINER_DISPLAYS):
        return True
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
        # [x] * n: list repetition. User classes cannot define __rmul__ to hijack it.
        return isinstance(value.left, (ast.List, ast.ListComp))
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in _CONTAINER_TYPES
        and value.func.id not in bound
    )


def fresh_containers(tree: ast.AST, bound: frozenset[str]) -> frozenset[str]:
    """Names that, wherever the program binds them, are only ever bound to a fresh container.

    ``_write_`` always allows writes into plain lists, dicts and sets, so item writes through
    such a name need no runtime call: compile time already knows the answer.
    """
    fresh_targets: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_fresh_container(node.value, bound):
            fresh_targets.update(id(t) for t in node.targets if isinstance(t, ast.Name))
    good: set[str] = set()
    bad: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            (good if id(node) in fresh_targets else bad).add(node.id)
    return frozenset(good - bad - _other_bindings(tree))
