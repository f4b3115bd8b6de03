"""Every field our venue adapters read, collected mechanically from their source.

Two kinds of read are found without running the adapters:

- a msgspec Struct in an adapter module is a declaration of the fields it decodes: each
  field is read under its wire name (`rename` / `name=` respected);
- a literal key on decoded JSON: `x.get("k")`, `x["k"]` and `"k" in x`, found by an AST
  walk, each with its file, line, enclosing function and the receiver expression.

A new read therefore shows up in the census without editing it; the test then asks
for the read's message type (census_map.py) and checks the venue defines the field.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import msgspec
from msgspec import Struct

ROOT = Path(__file__).resolve().parents[2]

ADAPTER_GLOBS = (
    "services/executor/kalshi*.py",
    "services/executor/polymarket*.py",
    "services/ingest/kalshi*.py",
    "services/ingest/polymarket*.py",
    "common/scanner.py",
    "common/reward_programmes.py",
    "services/ingest/rewards.py",
    "common/venues/*.py",
)
"""The modules that read venue messages (REST answers, websocket frames, listings)."""


class Read(Struct, frozen=True, kw_only=True):
    """One field read: where, on what, which key."""

    path: str
    """Repository-relative file."""
    line: int
    scope: str
    """Enclosing `Class.function` (or the Struct's name for a Struct field)."""
    receiver: str
    """The expression read from (`row`, `resp.json()`), or `struct` for Struct fields."""
    key: str

    def where(self) -> str:
        return f"{self.path}:{self.line} ({self.scope}, {self.receiver}[{self.key!r}])"


def adapter_files() -> list[Path]:
    files = {p for pattern in ADAPTER_GLOBS for p in ROOT.glob(pattern)}
    return sorted(files)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def struct_reads(path: Path) -> Iterator[Read]:
    """Fields of every msgspec Struct defined in `path` (not imported into it)."""
    module = importlib.import_module(_module_name(path))
    rel = str(path.relative_to(ROOT))
    for name, cls in vars(module).items():
        if not (inspect.isclass(cls) and issubclass(cls, Struct)) or cls.__module__ != module.__name__:
            continue
        line = inspect.getsourcelines(cls)[1]
        for field in msgspec.structs.fields(cls):
            yield Read(path=rel, line=line, scope=name, receiver="struct", key=field.encode_name)


class _Walker(ast.NodeVisitor):
    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.scopes: list[str] = []
        self.reads: list[Read] = []

    def _scoped(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scopes.append(node.name)
        self.generic_visit(node)
        self.scopes.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _scoped  # noqa: N815

    def _add(self, node: ast.AST, receiver: ast.expr, key: str) -> None:
        self.reads.append(Read(path=self.rel, line=getattr(node, "lineno", 0),
                               scope=".".join(self.scopes) or "<module>",
                               receiver=ast.unparse(receiver), key=key))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "get" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            self._add(node, func.value, node.args[0].value)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if (isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            self._add(node, node.value, node.slice.value)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if (isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
                and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn)
                and not isinstance(node.comparators[0], ast.Tuple | ast.List | ast.Set
                                   | ast.Constant)):
            self._add(node, node.comparators[0], node.left.value)
        self.generic_visit(node)


def source_reads(source: str, rel: str) -> list[Read]:
    """Literal-key reads (`.get("k")`, `["k"]`, `"k" in x`) in module source `source`."""
    walker = _Walker(rel)
    walker.visit(ast.parse(source, filename=rel))
    return walker.reads


def dict_reads(path: Path) -> list[Read]:
    """Literal-key reads of one adapter module."""
    return source_reads(path.read_text(), str(path.relative_to(ROOT)))


def all_reads() -> list[Read]:
    """Every Struct field and literal-key read of every adapter module."""
    out: list[Read] = []
    for path in adapter_files():
        out.extend(struct_reads(path))
        out.extend(dict_reads(path))
    return out
