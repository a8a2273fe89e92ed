"""Rules of the code base that keep it honest."""

from __future__ import annotations

import ast
import re

from service.settings import SETTINGS_ENV, Settings
from tests.conftest import ROOT


def test_service_imports_nothing_of_the_indexer_but_its_schema() -> None:
    offenders = []
    for path in (ROOT / "service").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.startswith("indexer") and n != "indexer.schema"
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
