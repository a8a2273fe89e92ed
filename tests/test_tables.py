"""The service's memory-mapped tables (time splits and generation-wide tables,
written by indexer/splits.py and indexer/globals.py) must hold exactly what the
generation's posts say, in the declared layout, and mapping them must not copy
them into the heap."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from indexer.build import BuildOptions, build
from indexer.globals import read_cooc, read_posts, read_tags
from indexer.schema import GENERATION_TABLES, SPLIT_TABLES, SPLIT_TIMELINE, read_manifest
from indexer.splits import write_table
from service import tags
from service.tables import Tables, load_tables
from service.trends import TrendIndex
from tests.conftest import NOW, ROOT


@pytest.fixture(scope="module")
def generation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("tables") / "index"
    build([str(ROOT / "data" / "sample")], BuildOptions(index_dir=index), now=NOW)
    return (index / "current").resolve()


@pytest.fixture(scope="module")
def tables(generation: Path) -> Tables:
    return load_tables(generation)


@pytest.fixture(scope="module")
def plain(generation: Path) -> pl.DataFrame:
    """The postings the plain way: the record's posts exploded by tag key."""
    posts = read_posts(generation)
    return (
        posts.select(
            pl.col("tags").alias("tag"), "created_at", "author", "platform", "lang", "engagement"
        )
        .explode("tag")
        .drop_nulls("tag")
    )


def _schema(path: Path) -> dict[str, pl.DataType]:
    if path.suffix == ".parquet":
        return dict(pl.read_parquet_schema(path))
    return dict(pl.read_ipc_schema(path))


def test_every_file_matches_its_declaration(generation: Path) -> None:
    for spec in GENERATION_TABLES:
        assert _schema(generation / spec.file) == dict(spec.columns), spec.file
    splits = read_manifest(generation).splits
    assert len(splits) == 28  # the sample's October days
    assert [s.day for s in splits] == sorted(s.day for s in splits)
    for split in splits:
        directory = generation / split.path
        assert sorted(p.name for p in directory.iterdir()) == sorted(s.file for s in SPLIT_TABLES)
        for spec in SPLIT_TABLES:
            assert _schema(directory / spec.file) == dict(spec.columns), spec.file
        times = pl.read_ipc(directory / "timeline.arrow")["created_at"]
        assert (times.dt.date() == split.day).all()


def decoded(tables: Tables, rows: pl.DataFrame) -> pl.DataFrame:
    """Postings rows with platform and lang names instead of codes, in a canonical order."""
    return rows.select(
        "created_at",
        "engagement",
        platform=pl.Series(tables.platforms, dtype=pl.String()).gather(rows["platform"]),
        lang=pl.Series(tables.langs, dtype=pl.String()).gather(rows["lang"]),
    ).sort(pl.all())


def test_every_tag_slice_is_its_postings(tables: Tables, plain: pl.DataFrame) -> None:
    keys = list(tables.keys)
    assert keys == sorted(keys) == sorted(plain["tag"].unique())
    for key in keys:
        expected = plain.filter(pl.col("tag") == key)
        postings = tables.tag_postings(key)
        assert postings["created_at"].is_sorted()
        assert decoded(tables, postings).equals(
            expected.select("created_at", "engagement", "platform", "lang").sort(pl.all())
        ), key
        # an account is one (platform, author): the same number of people
        assert postings["account"].n_unique() == expected.select("platform", "author").n_unique()
        assert postings.height == tables.tag_row(key)["posts"]  # type: ignore[index]


def test_the_timeline_is_the_postings_by_time(tables: Tables) -> None:
    timeline = tables.window(None, None)
    assert timeline["created_at"].is_sorted()
    by_tag = pl.concat([s.postings for s in tables.splits])
    assert timeline.sort(pl.all()).equals(by_tag.sort(pl.all()))
    # the trend index's prev: the previous posting of the same (tag, account), by position
    index = TrendIndex.build(tables, tables.splits)
    last: dict[tuple[int, int], int] = {}
    rows = zip(timeline["tag"], timeline["account"], index.rows["prev"], strict=True)
    for pos, (tag, account, prev) in enumerate(rows):
        assert prev == last.get((tag, account), -1)
        last[(tag, account)] = pos


def test_pairs_are_the_records_pairs(generation: Path, tables: Tables) -> None:
    record = read_cooc(generation)
    assert record.height > 100
    for key in tables.keys:
        expected = record.filter(pl.col("tag") == key).select("other", "co_posts")
        pairs = tables.tag_cooc(key)
        got = pairs.select(other=tables.tags["tag"].gather(pairs["other"]), co_posts="co_posts")
        assert got.sort(pl.all()).equals(expected.sort(pl.all())), key


@pytest.mark.parametrize("key", ["", "zzzz-unknown", "\U0010ffff", "a" * 300])
def test_unknown_keys_find_nothing(tables: Tables, key: str) -> None:
    assert tables.tag_row(key) is None
    assert tables.tag_postings(key).height == 0
    assert tables.tag_cooc(key).height == 0
    assert tables.tag_days(key) == []


def test_autocomplete_ranks_like_a_polars_sort(
    generation: Path, tables: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefixes = [*sorted({k[:n] for k in tables.keys for n in (1, 2, 3)}), "", "zzzz"]
    expected = {}
    for prefix in prefixes:
        rows = (
            read_tags(generation)
            .filter(pl.col("tag").str.starts_with(prefix))
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


def test_daily_timeseries_equals_counting_the_postings(tables: Tables, plain: pl.DataFrame) -> None:
    """The daily rollup answers exactly what grouping the record's postings by day does,
    for every tag, over its own span and over a wider one."""
    wider = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    for key in tables.keys:
        rows = plain.filter(pl.col("tag") == key)
        per_day = rows.group_by(t=pl.col("created_at").dt.truncate("1d")).agg(
            posts=pl.len(),
            authors=pl.struct("platform", "author").n_unique(),
            engagement=pl.col("engagement").sum(),
        )
        expected = {t: (p, a, e) for t, p, a, e in per_day.iter_rows()}
        for bounds in ((None, None), wider):
            span = tags.series_range(tables, key, "day", *bounds)
            assert span is not None
            points = tags.timeseries(tables, key, "day", span)
            assert points[0].t == span.start
            assert all(b.t - a.t == timedelta(days=1) for a, b in itertools.pairwise(points))
            got = {p.t: (p.posts, p.authors, p.engagement) for p in points if p.posts}
            assert got == expected, key


MAP_PROBE = """
import sys
from pathlib import Path
import polars as pl
from indexer.schema import map_ipc

def anon_kib() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise SystemExit("no RssAnon")

map_ipc(Path(sys.argv[2]) / "timeline.arrow").sum()  # the libraries' own first allocations
before = anon_kib()
frame = map_ipc(Path(sys.argv[1]) / "timeline.arrow")
total = frame.select(pl.all().to_physical().sum())  # reads every page
print(anon_kib() - before)
"""


def test_mapping_a_table_copies_nothing_into_the_heap(tmp_path: Path) -> None:
    """A worker's heap must not grow with the history: 1M timeline rows (36 MB) mapped and
    read end to end add less than a tenth of their size to the process's anonymous memory."""
    n = 1_000_000
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "tag": pl.int_range(n, eager=True) % 1000,
            "created_at": pl.datetime_range(
                start, start + timedelta(seconds=n - 1), "1s", eager=True, time_zone="UTC"
            ),
            "account": pl.int_range(n, eager=True) % 7919,
            "engagement": pl.int_range(n, eager=True),
            "platform": pl.int_range(n, eager=True) % 4,
            "lang": pl.int_range(n, eager=True) % 30,
            "post": pl.int_range(n, eager=True),
        }
    )
    write_table(frame, SPLIT_TIMELINE, tmp_path)
    (tmp_path / "small").mkdir()
    write_table(frame.head(1000), SPLIT_TIMELINE, tmp_path / "small")
    size_kib = (tmp_path / SPLIT_TIMELINE.file).stat().st_size // 1024
    assert size_kib > 30_000
    probe = subprocess.run(
        [sys.executable, "-c", MAP_PROBE, str(tmp_path), str(tmp_path / "small")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    grown_kib = int(probe.stdout.strip())
    assert grown_kib < size_kib / 10, (grown_kib, size_kib)
