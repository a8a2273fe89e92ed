"""The service's in-memory lookups (bisect over the sorted tag keys, precomputed
ranges) must agree with plain polars filters over the same tables."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import polars as pl
import pytest

from indexer.build import BuildOptions, build
from service import tags
from service.tables import Tables, load_tables
from tests.conftest import NOW, ROOT


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    index = tmp_path_factory.mktemp("tables") / "index"
    build([str(ROOT / "data" / "sample")], BuildOptions(index_dir=index), now=NOW)
    return load_tables((index / "current").resolve())


def test_every_tag_slice_is_its_rows(tables: Tables) -> None:
    assert tables.keys == sorted(tables.keys)
    for key in tables.keys:
        postings = tables.tag_postings(key)
        expected = tables.postings.filter(pl.col("tag") == key)
        assert postings.equals(expected), key
        assert postings.height == tables.tag_row(key)["posts"]  # type: ignore[index]
        assert tables.tag_cooc(key).equals(tables.cooc.filter(pl.col("tag") == key)), key


@pytest.mark.parametrize("key", ["", "zzzz-unknown", "\U0010ffff", "a" * 300])
def test_unknown_keys_find_nothing(tables: Tables, key: str) -> None:
    assert tables.tag_row(key) is None
    assert tables.tag_postings(key).height == 0
    assert tables.tag_cooc(key).height == 0


def test_autocomplete_ranks_like_a_polars_sort(
    tables: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefixes = [*sorted({k[:n] for k in tables.keys for n in (1, 2, 3)}), "", "zzzz"]
    expected = {}
    for prefix in prefixes:
        rows = (
            tables.tags_by_key.filter(pl.col("tag").str.starts_with(prefix))
            .sort(["posts", "tag"], descending=[True, False])
            .head(10)
            .select("tag", "display", "posts", "authors")
        )
        expected[prefix] = [tags.TagSummary(*r) for r in rows.iter_rows()]
    assert sum(len(v) for v in expected.values()) > 500
    for small in (tags.SMALL, 0):  # the Python ranking, then polars' for every prefix
        monkeypatch.setattr(tags, "SMALL", small)
        for prefix in prefixes:
            assert tags.autocomplete(tables, prefix, 10) == expected[prefix], (small, prefix)


def test_daily_timeseries_equals_counting_the_postings(tables: Tables) -> None:
    """The daily rollup (precomputed at load) answers exactly what grouping a tag's
    postings by day does, for every tag, over its own span and over a wider one."""
    assert tables.daily is not None
    wider = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    spans = {}
    for key in tables.keys:
        own = tags.series_range(tables, key, "day", None, None)
        assert own is not None
        spans[key] = [own, tags.series_range(tables, key, "day", *wider)]
    fast = {k: [tags.timeseries(tables, k, "day", s) for s in v] for k, v in spans.items()}
    plain = dataclasses.replace(tables, daily=None)  # the same tables without the rollup
    slow = {k: [tags.timeseries(plain, k, "day", s) for s in v] for k, v in spans.items()}
    assert fast == slow
    assert sum(p.authors for series in fast.values() for p in series[0]) > 1000
