"""Native exports go through the whole build: detected by content, deduplicated, tagged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from indexer.build import BuildResult
from indexer.schema import POSTS_FILE
from tests.conftest import ROOT

Build = Callable[..., BuildResult]
REAL = ROOT / "tests" / "fixtures" / "real"


def test_real_x_exports_build_with_nothing_rejected(run_build: Build) -> None:
    result = run_build(REAL)
    m = result.manifest
    assert {Path(s.path).name: s.format for s in m.sources} == {
        "get_home_timeline.json": "x-v1",
        "get_search_geocode.json": "x-v1",
        "streaming_lines.json": "x-v1",
        "entities_test.jsonl": "x-v2",
        "flat.jsonl": "x-v2",
    }
    # streaming_lines.json holds one tweet twice: the later copy wins.
    assert (m.read, m.rejected, m.duplicates, m.posts) == (681, 0, 1, 680)
    posts = pl.read_parquet(result.generation_dir / POSTS_FILE)
    assert posts["platform"].unique().to_list() == ["x"]
    assert posts["uid"].n_unique() == 680
    assert posts.filter(pl.col("tags").list.len() > 0).height > 100
