"""Big builds compute the tag table and the co-occurrence sums in partitions, to bound
memory; the partitioned path must give exactly the tables of the one-pass path."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from indexer import rollups
from indexer.build import BuildOptions, build
from indexer.schema import COOC_FILE, POSTS_FILE, SERVE_POSTINGS, SERVE_TABLES, TAGS_FILE
from tests.conftest import NOW, ROOT

TABLES = (POSTS_FILE, TAGS_FILE, COOC_FILE, *(spec.file for spec in SERVE_TABLES))


def _tables(index: Path) -> dict[str, pl.DataFrame]:
    read = {".parquet": pl.read_parquet, ".arrow": pl.read_ipc}
    return {name: read[Path(name).suffix](index / "current" / name) for name in TABLES}


def test_partitioned_rollups_equal_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = str(ROOT / "data" / "sample")
    build([sample], BuildOptions(index_dir=tmp_path / "one"), now=NOW)
    one = _tables(tmp_path / "one")
    pairs = one[COOC_FILE]["co_posts"].sum()
    assert one[SERVE_POSTINGS.file].height > 1000  # enough to cut in many parts
    assert pairs > 1000
    monkeypatch.setattr(rollups, "TAG_PARTITION_ROWS", 97)
    monkeypatch.setattr(rollups, "COOC_PARTITION_ROWS", 89)
    build([sample], BuildOptions(index_dir=tmp_path / "parts"), now=NOW)
    parts = _tables(tmp_path / "parts")
    for name in TABLES:
        assert parts[name].equals(one[name]), name
    cooc = parts[COOC_FILE]
    assert cooc.equals(cooc.sort("tag", "co_posts", "other", descending=[False, True, False]))
    assert not list((tmp_path / "parts" / "current").glob("*.parts"))
