"""The bundled sample builds to exactly the planted truths in data/README.md."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from indexer.build import BuildOptions, BuildResult, build
from indexer.globals import read_posts, read_tags
from tests.conftest import NOW, ROOT


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    index = tmp_path_factory.mktemp("sample") / "index"
    return build([str(ROOT / "data" / "sample")], BuildOptions(index_dir=index), now=NOW)


def test_sample_counts(sample: BuildResult) -> None:
    m = sample.manifest
    assert (m.read, m.posts, m.duplicates, m.rejected, m.tags) == (5012, 5000, 12, 0, 296)
    assert [Path(s.path).name for s in m.sources] == [
        "bluesky-posts.csv",
        "mastodon-posts.ndjson.gz",
        "reddit-posts.parquet",
        "x-posts-1.ndjson",
        "x-posts-2.ndjson.zst",
    ]
    assert [s.format for s in m.sources] == ["csv", "ndjson", "parquet", "ndjson", "ndjson"]
    assert m.to == datetime(2026, 10, 31, 23, 59, 22, tzinfo=UTC)


def test_sample_posts_per_platform_and_authors(sample: BuildResult) -> None:
    posts = read_posts(sample.generation_dir)
    per_platform = dict(posts.group_by("platform").len().iter_rows())
    assert per_platform == {"x": 2538, "reddit": 936, "bluesky": 880, "mastodon": 646}
    assert posts.select(pl.struct("platform", "author").n_unique()).item() == 1520


@pytest.mark.parametrize(
    ("tag", "display", "posts", "authors"),
    [
        ("freetokendrop", "FreeTokenDrop", 600, 1),
        ("ai", "AI", 315, 268),
        ("northernlights", "NorthernLights", 250, 235),
        ("goodmorning", "GoodMorning", 250, 222),
        ("python", "Python", 246, 218),
        ("solarstorm", "SolarStorm", 110, 107),
    ],
)
def test_sample_planted_tags(
    sample: BuildResult, tag: str, display: str, posts: int, authors: int
) -> None:
    tags = read_tags(sample.generation_dir).filter(pl.col("tag") == tag)
    assert tags.select("display", "posts", "authors").row(0) == (display, posts, authors)
