"""Rules of the code base that keep it honest."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from indexer.formats import registry
from service.settings import SETTINGS_ENV, Settings
from tests.conftest import ROOT

PACKAGES = ("hashtag_index", "indexer", "service")


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` -> the modules of ours it imports, anywhere in it (in a
    function too): ``from a import b`` counts as ``a.b`` when that is a module, else ``a``."""
    modules = {_module_of(p) for name in PACKAGES for p in (ROOT / name).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: a relative import (the rules read absolute ones)"
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    names.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        graph[_module_of(path)] = {n for n in names if n.split(".")[0] in PACKAGES}
    if package == "indexer":  # the registry imports each format's reader when it is first used
        readers = {f.reader_at.partition(":")[0] for f in registry.FORMATS}
        graph["indexer.formats.registry"] |= readers
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


def test_no_import_cycles() -> None:
    """No module of ours reaches itself through its imports (a deferred import in a function
    counts, and so does the registry's import of a format's reader by name: they would
    only hide the cycle)."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        graph.update(_imports(package))
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_function_is_longer_than_80_lines() -> None:
    """A function does one stage; past 80 lines it does several (nested functions too)."""
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 80
    ]
    assert long == []


def test_the_readme_names_every_module() -> None:
    """README's "Code layout" names each package's modules and folders, and only those."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Code layout\n", 1)[1].split("\n## ", 1)[0]
    bullets = re.split(r"^- `([a-z_]+)/`:", section, flags=re.M)
    named = {
        package: set(re.findall(r"`([a-z_]+(?:\.py|/))`", text))
        for package, text in zip(bullets[1::2], bullets[2::2], strict=True)
    }
    actual = {
        package: {
            p.name + ("/" if p.is_dir() else "")
            for p in (ROOT / package).iterdir()
            if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
            or (p.is_dir() and not p.name.startswith(("_", ".")))
        }
        for package in PACKAGES
    }
    assert {package: named.get(package, set()) for package in PACKAGES} == actual
