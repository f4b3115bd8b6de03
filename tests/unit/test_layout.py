"""The shape of the code, checked from its import graph (built from the source, nothing imported).

Every `import` counts wherever it is written: at the top, inside a function, or under
`if TYPE_CHECKING:` (a cycle that only type checking sees is still a cycle to untangle).
The rules: no import cycle among our modules; no service imports another service (they
talk over the bus); no source file over 400 lines (split by job); and the venue simulator
never loads our adapters' code, so that it cannot share their assumptions about the venues.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "services", "strategy", "research", "bench")
MAX_LINES = 400
SIMULATOR = "services.venue_sim"
NOT_FOR_THE_SIMULATOR = ("services.executor", "services.ingest", "common.venues")
"""Our adapters and their venue wire code: the simulator keeps its own."""

Graph = dict[str, dict[str, str]]
"""module -> {imported module: where ("path:line") the first such import is}."""


def source_files(root: Path = ROOT) -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((root / package).rglob("*.py"))


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _known(name: str, modules: set[str]) -> str | None:
    """`name`, or the nearest package above it, if it is one of ours."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement may load (the caller keeps ours)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names]


@functools.cache
def import_graph(root: Path = ROOT) -> Graph:
    """Our modules and what each imports (built once per root; do not mutate)."""
    files = {module_name(path, root): path for path in source_files(root)}
    modules = set(files)
    graph: Graph = {name: {} for name in files}
    for name, path in files.items():
        # A script directory (no __init__.py, e.g. bench/) is on sys.path when it runs:
        # `import stackrun` there means bench/stackrun.py.
        script_dir = "" if (path.parent / "__init__.py").exists() else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _imported(node, name, path.name == "__init__.py"):
                found = _known(target, modules)
                if found is None and script_dir:
                    found = _known(f"{script_dir}.{target}", modules)
                if found is not None and found != name:
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    graph[name].setdefault(found, where)
    return graph


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: every group of modules that import each other
    (directly or around a loop), largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph.get(nxt, {}))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return sorted(groups, key=len, reverse=True)


def path_between(graph: Graph, start: str, goal: str, within: set[str] | None = None
                 ) -> list[str] | None:
    """A shortest import chain start -> ... -> goal (through `within` only, if given)."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, {}):
            if within is not None and nxt not in within:
                continue
            if nxt == goal:
                chain = [goal, node]
                while chain[-1] != start:
                    chain.append(came_from[chain[-1]])
                return chain[::-1]
            if nxt not in came_from and nxt != start:
                came_from[nxt] = node
                queue.append(nxt)
    return None


def _chain(graph: Graph, chain: list[str]) -> str:
    """`a -> b (where a imports b) -> c (where b imports c)`."""
    return chain[0] + "".join(f" -> {b} ({graph[a][b]})" for a, b in zip(chain, chain[1:]))


def _service(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 1 else None


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    pkg = tmp_path / "common"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from common.b import X\n")
    (pkg / "b.py").write_text("def f():\n    from . import c\n")
    (pkg / "c.py").write_text("import common.a\n")
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "run.py").write_text("import helper\nimport os\n")
    (bench / "helper.py").write_text("")
    graph = import_graph(tmp_path)
    assert graph["common.a"] == {"common.b": "common/a.py:3"}
    assert graph["common.b"] == {"common.c": "common/b.py:2"}
    assert graph["bench.run"] == {"bench.helper": "bench/run.py:1"}
    assert strongly_connected(graph) == [["common.a", "common.b", "common.c"]]
    assert path_between(graph, "common.a", "common.a") == ["common.a", "common.b", "common.c",
                                                           "common.a"]


def test_no_import_cycle() -> None:
    graph = import_graph()
    cycles = []
    for group in strongly_connected(graph):
        loop = path_between(graph, group[0], group[0], within=set(group))
        assert loop is not None
        cycles.append(f"{len(group)} modules {group}, e.g. {_chain(graph, loop)}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_service_imports_another() -> None:
    graph = import_graph()
    crossing = sorted(
        f"{src} -> {dst} ({where})"
        for src, targets in graph.items() for dst, where in targets.items()
        if _service(src) and _service(dst) and _service(src) != _service(dst))
    assert not crossing, "services import each other (they talk over the bus):\n" + "\n".join(
        crossing)


def test_no_source_file_over_the_line_limit() -> None:
    long = sorted(
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in source_files() if (n := len(path.read_text().splitlines())) > MAX_LINES)
    assert not long, f"over {MAX_LINES} lines (split by job):\n" + "\n".join(long)


def test_the_simulator_never_loads_our_adapters() -> None:
    graph = import_graph()
    simulator = [m for m in graph if m == SIMULATOR or m.startswith(SIMULATOR + ".")]
    found = []
    for target in graph:
        if not any(target == f or target.startswith(f + ".") for f in NOT_FOR_THE_SIMULATOR):
            continue
        chains = [c for m in simulator if (c := path_between(graph, m, target)) is not None]
        if chains:
            found.append(_chain(graph, min(chains, key=len)))
    assert not found, "the simulator loads our adapters' code:\n" + "\n".join(sorted(found))


def declares_all(path: Path) -> bool:
    """Whether a module assigns `__all__` at its top level."""
    return any(isinstance(node, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
               for node in ast.parse(path.read_text()).body)


def test_public_modules_declare_what_they_export(tmp_path: Path) -> None:
    (tmp_path / "with.py").write_text('"""doc"""\n\n__all__ = ["f"]\n\n\ndef f() -> None: ...\n')
    (tmp_path / "without.py").write_text("def f() -> None: ...\n")
    assert declares_all(tmp_path / "with.py") and not declares_all(tmp_path / "without.py")
    missing = sorted(str(path.relative_to(ROOT)) for path in source_files()
                     if path.parts[len(ROOT.parts)] != "bench"
                     and path.name not in ("__init__.py", "__main__.py") and not declares_all(path))
    assert not missing, "public modules without __all__:\n" + "\n".join(missing)
