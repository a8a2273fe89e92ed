"""Native exports go through the whole build: detected by content, deduplicated, tagged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from indexer.build import BuildResult
from indexer.globals import read_posts
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
    posts = read_posts(result.generation_dir)
    assert posts["platform"].unique().to_list() == ["x"]
    assert posts["uid"].n_unique() == 680
    assert posts.filter(pl.col("tags").list.len() > 0).height > 100


def test_native_fixtures_build_in_one_mixed_directory(run_build: Build) -> None:
    """Bluesky, Mastodon (REST and outbox) and Reddit samples: one build, each file
    detected by content; the only reject is the firehose op without a decoded record;
    the Bluesky delete events remove the post they name."""
    result = run_build(ROOT / "tests" / "fixtures" / "native")
    m = result.manifest
    assert {Path(s.path).name: s.format for s in m.sources} == {
        "jetstream.jsonl": "bluesky",
        "firehose.jsonl": "bluesky",
        "outbox.json": "mastodon-outbox",
        "statuses.json": "mastodon",
        "RC_sample.ndjson": "reddit",
        "RS_sample.ndjson": "reddit",
    }
    assert m.rejected == 1
    posts = read_posts(result.generation_dir)
    assert posts.group_by("platform").len().sort("platform").rows() == [
        ("bluesky", 1),
        ("mastodon", 6),
        ("reddit", 6),
    ]
    # The first Bluesky post is created (in both files) and deleted (in both): gone.
    bluesky = posts.filter(pl.col("platform") == "bluesky")
    assert bluesky.select("id", "tags").rows() == [
        ("at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbfbqhwbdk2x", ["written"])
    ]
