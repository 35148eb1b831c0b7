"""What lockstep's modules import: no import cycle in orchestration/ and dashboard/ (imports
inside functions count), and no private Dagster or dagster-dbt API outside the one module
that wraps it (orchestration/lib/dagster_private.py)."""

import ast
from pathlib import Path

from tests.conftest import PROJECT_ROOT

PACKAGES = ("orchestration", "dashboard")
WRAPPER = PROJECT_ROOT / "orchestration" / "lib" / "dagster_private.py"


def _modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    modules = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """module -> the modules of `packages` it imports, anywhere in it (top level, inside a
    function, under TYPE_CHECKING); `from package import name` counts as an import of the
    submodule `package.name` when there is one, else of `package`."""
    modules = _modules(root, packages)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges |= {known(a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    base = ".".join(package[:len(package) - node.level + 1]
                                    + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    edges.add(sub if sub in modules else known(base))
        graph[module] = edges - {None, module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as the path of modules that closes it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_import_cycle():
    graph = import_graph(PROJECT_ROOT)
    assert "orchestration.definitions" in graph and "dashboard.app" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_graph_sees_imports_inside_functions_and_submodules(tmp_path):
    """The checker itself: a cycle closed by an import inside a function, through
    `from package import submodule` and a relative import, is found and printed in order."""
    (tmp_path / "orchestration" / "sources" / "files").mkdir(parents=True)
    for init in ("orchestration", "orchestration/sources", "orchestration/sources/files"):
        (tmp_path / init / "__init__.py").write_text("")
    (tmp_path / "orchestration" / "definitions.py").write_text(
        "from orchestration import schedules\n")
    (tmp_path / "orchestration" / "schedules.py").write_text(
        "from .sources.files import client\n")
    (tmp_path / "orchestration" / "sources" / "files" / "client.py").write_text(
        "import json\n\ndef keys():\n    from orchestration.definitions import defs\n")
    graph = import_graph(tmp_path, packages=("orchestration",))
    assert graph["orchestration.schedules"] == {"orchestration.sources.files.client"}
    assert find_cycle(graph) == ["orchestration.definitions", "orchestration.schedules",
                                 "orchestration.sources.files.client",
                                 "orchestration.definitions"]
    (tmp_path / "orchestration" / "sources" / "files" / "client.py").write_text("import json\n")
    assert find_cycle(import_graph(tmp_path, packages=("orchestration",))) is None


def test_the_demo_source_depends_on_the_files_source_never_the_reverse():
    graph = import_graph(PROJECT_ROOT)
    assert "orchestration.sources.files.client" in graph["orchestration.sources.demo.client"]
    reach, todo = set(), ["orchestration.sources.files.client"]
    while todo:
        for target in graph[todo.pop()] - reach:
            reach.add(target)
            todo.append(target)
    assert not any(m.startswith("orchestration.sources.demo") for m in reach)
