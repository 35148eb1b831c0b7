"""What lockstep's modules import: no import cycle in orchestration/ and dashboard/ (imports
inside functions count), and no private Dagster or dagster-dbt API outside the one module
that wraps it (orchestration/lib/dagster_private.py)."""

import ast
from pathlib import Path

import pytest

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


# ----------------------------------------------------------- private Dagster and dagster-dbt
DAGSTER = ("dagster", "dagster_dbt")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_uses(path: Path) -> list[str]:
    """Where a module uses what Dagster or dagster-dbt keep private: an import of a module or
    name whose path has a `_part`; a `_attribute` of anything but self/cls; in a class built
    on one of theirs, a `_name` their class has (a private hook overridden or used)."""
    import importlib

    tree = ast.parse(path.read_text())
    found, bound = [], {}  # local name -> the Dagster object it names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in DAGSTER:
                    if any(_is_private(p) for p in a.name.split(".")):
                        found.append(f"{path}:{node.lineno}: import {a.name}")
                    bound[a.asname or a.name] = importlib.import_module(a.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in DAGSTER:
            if any(_is_private(p) for p in node.module.split(".")):
                found.append(f"{path}:{node.lineno}: from {node.module} import ...")
                continue
            module = importlib.import_module(node.module)
            for a in node.names:
                if _is_private(a.name):
                    found.append(f"{path}:{node.lineno}: from {node.module} import {a.name}")
                elif hasattr(module, a.name):
                    bound[a.asname or a.name] = getattr(module, a.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr) and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
        if not isinstance(node, ast.ClassDef):
            continue
        bases = []
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in bound:
                bases.append(bound[base.id])
            elif (isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name)
                  and base.value.id in bound):
                bases.append(getattr(bound[base.value.id], base.attr, None))
        names = set()
        for inner in ast.walk(node):
            if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(inner.name)
            elif isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) \
                    and inner.value.id in ("self", "cls"):
                names.add(inner.attr)
            elif isinstance(inner, ast.AnnAssign | ast.Assign):
                for target in getattr(inner, "targets", [getattr(inner, "target", None)]):
                    if isinstance(target, ast.Name):
                        names.add(target.id)
        for name in sorted(n for n in names if _is_private(n)):
            if any(base is not None and hasattr(base, name) for base in bases):
                found.append(f"{path}:{node.lineno}: class {node.name} uses {name} of its "
                             f"Dagster base")
    return found


def test_no_private_dagster_api_outside_the_wrapper():
    uses = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if path != WRAPPER:
                uses += _private_uses(path)
    assert uses == []
    # the scan finds what the wrapper holds: the imports, and the two hooks it overrides
    wrapped = " ".join(_private_uses(WRAPPER))
    assert "from dagster._core.execution.api import" in wrapped
    assert "_cli_version" in wrapped and "_initialize_dbt_core_adapter" in wrapped


def test_the_wrapper_checks_the_pinned_versions():
    from packaging.requirements import Requirement

    from orchestration.lib.dagster_private import DagsterVersionError, check_versions, pinned

    pins = pinned()
    assert {name: str(pin.specifier) for name, pin in pins.items()} == \
        {"dagster": "<1.14,>=1.13", "dagster-dbt": "<0.30,>=0.29"}
    check_versions()  # what is installed now
    check_versions({"dagster": "1.13.0", "dagster-dbt": "0.29.99"})
    with pytest.raises(DagsterVersionError, match=r"dagster 1\.14\.0 is installed, but "
                       r"orchestration/lib/dagster_private\.py uses its private API as of "
                       r"dagster<1\.14,>=1\.13"):
        check_versions({"dagster": "1.14.0"})
    with pytest.raises(DagsterVersionError, match=r"dagster-dbt 0\.30\.1 is installed"):
        check_versions({"dagster-dbt": "0.30.1"}, {"dagster-dbt": Requirement("dagster-dbt<0.30")})


def test_importing_the_wrapper_fails_on_another_dagster():
    """The check runs when the module is imported (the code location imports it)."""
    import subprocess
    import sys

    code = ("import importlib.metadata as m\n"
            "real = m.version\n"
            "m.version = lambda name: '1.15.2' if name == 'dagster' else real(name)\n"
            "import orchestration.lib.dagster_private\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert "DagsterVersionError: dagster 1.15.2 is installed" in out.stderr
