"""Rules of the code base that keep it honest."""

from __future__ import annotations

import ast
import re

from service.settings import SETTINGS_ENV, Settings
from tests.conftest import ROOT

PACKAGES = ("hashtag_index", "indexer", "service")


def _imports(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` -> the modules of ours it imports (anywhere in it)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        graph[module] = {n for n in names if n.split(".")[0] in PACKAGES}
    return graph


def test_service_imports_nothing_of_the_indexer_but_its_schema() -> None:
    offenders = [
        f"{module}: {name}"
        for module, names in _imports("service").items()
        for name in names
        if name.startswith("indexer") and name != "indexer.schema"
    ]
    assert offenders == []


def test_the_command_line_is_on_top() -> None:
    """``hashtag_index`` (the CLI) imports the indexer and the service; neither imports it,
    and the indexer never imports the service."""
    offenders = [
        f"{module}: {name}"
        for package, forbidden in (
            ("indexer", ("service", "hashtag_index")),
            ("service", ("hashtag_index",)),
        )
        for module, names in _imports(package).items()
        for name in names
        if name.split(".")[0] in forbidden
    ]
    assert offenders == []


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    fields = set(Settings.__dataclass_fields__)
    assert fields == set(SETTINGS_ENV)
    missing = [env for env in SETTINGS_ENV.values() if not re.search(rf"`{env}`", readme)]
    assert missing == []


def test_readme_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "uv run hashtag-index serve" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = re.search(r"^\s*(uv run pytest[^\n]*)", readme, re.M)
    assert test_command is not None
    assert test_command.group(1).strip() in ci


def test_bundled_sample_exists() -> None:
    sample = ROOT / "data" / "sample"
    assert sample.is_dir()
    assert any(p.is_file() for p in sample.iterdir())


def _module_graph() -> dict[str, set[str]]:
    """Every module of ours -> the modules of ours it imports, anywhere in it (a function
    body or ``if TYPE_CHECKING`` too); ``from package import module`` is the module."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            module = ".".join(parts).removesuffix(".__init__")
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.update(f"{node.module}.{a.name}" for a in node.names)
                    names.add(node.module)
                elif isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
            graph[module] = {n for n in names if n.split(".")[0] in PACKAGES}
    return {m: {n for n in names if n in graph and n != m} for m, names in graph.items()}


def test_no_import_cycles() -> None:
    """No module imports itself back through others (at module granularity)."""
    graph = _module_graph()
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for name in sorted(graph[module]):
            if name in path:
                cycles.append([*path[path.index(name) :], name])
            elif name not in done:
                visit(name, [*path, name])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == []
