from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from indexer.build import BuildOptions, BuildResult, build
from indexer.errors import InputError
from indexer.formats import registry
from indexer.formats.base import RawBatch, ReadOptions

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# Hypothesis draws the same examples on every run and every machine (seeded from each test),
# with no example database (a failure saved on one run is not replayed on the next) and no
# timing checks (a busy machine is not a failure): the suite passes or fails the same way each
# time. `HYPOTHESIS_PROFILE=explore` draws new random examples, to hunt for bugs on purpose.
settings.register_profile(
    "fixed",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))
ROOT = Path(__file__).resolve().parent.parent


def post(i: int | str, text: str = "", **fields: Any) -> dict[str, Any]:
    """A canonical post with defaults for the required fields."""
    row: dict[str, Any] = {
        "id": str(i),
        "created_at": "2026-10-01T12:00:00Z",
        "author": f"user{i}",
        "text": text,
    }
    row.update(fields)
    return row


def write_ndjson(path: Path, rows: Iterable[dict[str, Any] | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
            f.write("\n")
    return path


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def run_build(index_dir: Path) -> Callable[..., BuildResult]:
    def run(*inputs: Path | str, **options: Any) -> BuildResult:
        return build(
            [str(i) for i in inputs],
            BuildOptions(index_dir=index_dir, **options),
            now=NOW,
        )

    return run


def read_native(
    path: Path, fmt: str, batch_rows: int, *, reposts: str = "count"
) -> Iterator[RawBatch]:
    """The batches of a native export, read by its registered reader as a build reads it
    (:meth:`indexer.formats.native.Mapper.read`); errors are raised at once, before the file
    is read."""
    entry = registry.get(fmt)
    if entry is None or not entry.native:
        raise InputError(f"{path}: not a native format: {fmt!r}")
    options = ReadOptions(batch_rows=batch_rows, reposts=reposts)
    return entry.reader().read(path, path.parent, options)
