"""The import graph of the core package, read with `ast` (nothing is imported to build it).

A node is a top-level package or module of edulink_db (`edulink_db.plan.compile` counts as
`plan`); an edge is an import anywhere in its files, function bodies and TYPE_CHECKING blocks
included. The packages form no cycle, the core never imports Pulumi or the components, and
each package imports only its own layer and the layers below it.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "edulink_db"

# Bottom first. A package may import packages of its own layer and of the layers below it,
# never of a layer above: what a lower layer needs from a higher one belongs lower down.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "foundations: values, errors, parsing, connections",
        frozenset(
            {
                "bookkeeping",
                "connection",
                "dsn",
                "embedded",
                "emulation",
                "errors",
                "finding",
                "identifiers",
                "revision",
                "rowpolicy",
                "server_binaries",
                "sqlexpr",
                "validation",
                "wire",
                "yamlsource",
            }
        ),
    ),
    ("migration files and their runner", frozenset({"migrations"})),
    (
        "what the user wrote: catalogue and stacks",
        frozenset({"catalogue", "endpoints", "environment", "stackfile"}),
    ),
    ("compile: catalogue + stack -> plan", frozenset({"plan", "project"})),
    (
        "the live database beside the plan: read it, apply RLS, the access matrix",
        frozenset({"introspect", "matrix", "rls"}),
    ),
    (
        "operations",
        frozenset({"audit", "backup", "datamove", "django", "inspect", "rollback"}),
    ),
    ("the command line", frozenset({"cli"})),
    ("python -m edulink_db", frozenset({"__main__"})),
)
FORBIDDEN_ROOTS = ("pulumi", "components")


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _node(module: str) -> str | None:
    """The package (or top-level module) of edulink_db that `module` belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == "edulink_db" and len(parts) > 1 else None


def _imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, relative imports resolved; for `from M import n`, both M
    and M.n (n may be a module)."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def package_graph() -> dict[str, set[str]]:
    """Every package and top-level module of edulink_db, with those it imports."""
    graph: dict[str, set[str]] = {name: set() for name in _nodes()}
    for path in _files():
        source = _node(_module_name(path))
        if source is None:
            continue  # edulink_db/__init__.py
        for imported in _imports(path):
            target = _node(imported)
            if target in graph and target != source:
                graph[source].add(target)
    return graph


def _nodes() -> set[str]:
    return {
        path.stem
        for path in CORE.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py")
        or (path.is_dir() and (path / "__init__.py").is_file())
    }


def test_the_packages_of_the_core_form_no_cycle() -> None:
    try:
        tuple(graphlib.TopologicalSorter(package_graph()).static_order())
    except graphlib.CycleError as error:
        cycle = " -> ".join(error.args[1])
        raise AssertionError(f"the packages of edulink_db import in a cycle: {cycle}") from None


def test_the_core_imports_neither_pulumi_nor_the_components() -> None:
    found = [
        f"{path.relative_to(CORE.parent)} imports {imported}"
        for path in _files()
        for imported in _imports(path)
        if imported.split(".")[0] in FORBIDDEN_ROOTS or imported.startswith("pulumi_")
    ]
    assert found == []


def test_every_package_of_the_core_is_in_one_layer() -> None:
    placed = [name for _, names in LAYERS for name in names]
    assert len(placed) == len(set(placed))
    assert set(placed) == _nodes()


def test_no_package_imports_a_layer_above_its_own() -> None:
    layer = {name: index for index, (_, names) in enumerate(LAYERS) for name in names}
    upward = sorted(
        f"{source} ({LAYERS[layer[source]][0]}) imports {target} ({LAYERS[layer[target]][0]})"
        for source, targets in package_graph().items()
        for target in targets
        if layer[target] > layer[source]
    )
    assert upward == []
