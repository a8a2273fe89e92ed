"""``build --ray``: the same generation as the local build, through a real local Ray.

One local Ray (2 CPUs) serves the whole test run. Every build is made twice, in
this process and as Ray tasks, and the two generations must be the same: manifest
counts and sources, every table column by column, what tantivy holds (but the
internal ``_seq`` numbers, which only order copies during the build), the related
tags, the rejects file, and the service's answers, CSV reports byte for byte.
"""

from __future__ import annotations

import importlib
import os
import re
import statistics
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
import pytest
from litestar.testing import TestClient

from indexer import rollups, splits
from indexer.build import BuildOptions, BuildResult, build
from indexer.compact import compact
from indexer.distributed import cluster, indexing, reading, units
from indexer.errors import EmptyBuildError, InputError
from indexer.publish import IndexDir
from indexer.schema import REJECTS_FILE, open_posts_index, read_manifest
from indexer.update import update
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, ROOT, post, write_ndjson
from tests.test_update import (
    A_ROWS,
    MANIFEST_FIELDS,
    SCENARIOS,
    assert_frame_equal,
    related_view,
    search_view,
    tables,
)

# Under `uv run`, Ray would package the project for its workers (read when ray is imported);
# a local Ray's workers run this interpreter and need none of that.
os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"
ray = importlib.import_module("ray")  # in the dev group: a missing Ray fails, never skips


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray of 2 CPUs for the run (about 5 s to start)."""
    with warnings.catch_warnings():  # Ray's about its host (e.g. a small /dev/shm), not ours
        warnings.simplefilter("ignore")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def both(root: Path, *inputs: Path, **options: Any) -> tuple[BuildResult, BuildResult]:
    """The local build and the Ray build of ``inputs``, each into an index of its own."""
    made = []
    for name, ray_address in (("local", None), ("ray", "local")):
        made.append(
            build(
                [str(i) for i in inputs],
                BuildOptions(index_dir=root / name, ray=ray_address, **options),
                now=NOW,
            )
        )
    return made[0], made[1]


def assert_same_build(mine: Path, theirs: Path, *, same_ids: bool = True) -> None:
    """``same_ids``: both were built at the same time (so their generation ids agree)."""
    m, b = read_manifest(mine), read_manifest(theirs)
    assert {f: getattr(m, f) for f in MANIFEST_FIELDS} == {
        f: getattr(b, f) for f in MANIFEST_FIELDS
    }
    assert m.sources == b.sources
    if same_ids:
        assert m.splits == b.splits
    else:
        assert [(s.day, s.posts, s.postings) for s in m.splits] == [
            (s.day, s.posts, s.postings) for s in b.splits
        ]
    mine_tables, their_tables = tables(mine), tables(theirs)
    assert mine_tables.keys() == their_tables.keys()
    for name in mine_tables:
        assert_frame_equal(mine_tables[name], their_tables[name])
    mine_search, their_search = search_view(mine), search_view(theirs)
    # _seq numbers the rows of a build only to order copies; the Ray build numbers each
    # input from a base of its own.
    del mine_search["_seq"], their_search["_seq"]
    assert mine_search == their_search
    assert related_view(mine) == related_view(theirs)
    assert (mine / REJECTS_FILE).read_bytes() == (theirs / REJECTS_FILE).read_bytes()


@pytest.mark.usefixtures("ray_session")
@pytest.mark.parametrize("pack_bytes", [0, units.PACK_BYTES], ids=["task-a-file", "packed"])
def test_planted_files_build_the_same_on_ray(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pack_bytes: int
) -> None:
    """Copies of one post in several files (the later file wins), rejects, several days;
    read by a task each, or by one task for all (small files are packed)."""
    monkeypatch.setattr(units, "PACK_BYTES", pack_bytes)
    first = write_ndjson(tmp_path / "in/a.ndjson", A_ROWS)
    second = write_ndjson(tmp_path / "in/b.ndjson", SCENARIOS["B replaces posts of A"][0])
    third = write_ndjson(
        tmp_path / "in/c.ndjson",
        [post(1, "the last copy wins #python", platform="x", author="zed"), "not json"],
    )
    tasks = units.plan_tasks([first, second, third], BuildOptions(tmp_path), workers=2)
    assert [len(task) for task in tasks] == ([1, 1, 1] if pack_bytes == 0 else [3])
    local, on_ray = both(tmp_path, first, second, third)
    assert on_ray.manifest.duplicates > 0
    assert on_ray.manifest.rejected > 0
    assert_same_build(on_ray.generation_dir, local.generation_dir)


@pytest.mark.usefixtures("ray_session")
def test_native_fixtures_build_the_same_on_ray(tmp_path: Path) -> None:
    """Bluesky (with delete events across files), Mastodon and Reddit exports."""
    local, on_ray = both(tmp_path, ROOT / "tests" / "fixtures" / "native")
    assert on_ray.manifest.deleted > 0
    assert_same_build(on_ray.generation_dir, local.generation_dir)


@pytest.mark.usefixtures("ray_session")
def test_big_json_lines_files_are_read_in_ranges_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON-lines file is cut at line ends into a task each: rejects keep the file's
    line numbers, a later copy in a later range wins, delete events apply across ranges."""
    monkeypatch.setattr(units, "MIN_RANGE_BYTES", 300)
    rows: list[dict[str, Any] | str] = []
    for i in range(60):
        rows.append(post(i % 25, f"copy {i} #tag{i % 7} #shared", author=f"a{i % 5}"))
        if i % 9 == 0:
            rows.extend(["", "not json at all"])
    canonical = write_ndjson(tmp_path / "in/big.ndjson", rows)
    canonical.write_bytes(canonical.read_bytes().replace(b"\n", b"\r\n", 40))
    bluesky = tmp_path / "in/jetstream.jsonl"
    fixture = ROOT / "tests/fixtures/native/bluesky/jetstream.jsonl"
    bluesky.write_bytes(fixture.read_bytes() * 3)
    planned = units.plan_units([canonical, bluesky], BuildOptions(tmp_path), workers=2)
    assert len([u for u in planned if u.file == 0]) > 3
    assert len([u for u in planned if u.file == 1]) > 1
    local, on_ray = both(tmp_path, canonical, bluesky)
    assert on_ray.manifest.rejected == 7
    assert on_ray.manifest.duplicates > 0
    assert on_ray.manifest.deleted > 0
    assert_same_build(on_ray.generation_dir, local.generation_dir)


@pytest.mark.usefixtures("ray_session")
def test_update_and_compact_on_ray_publish_the_local_generations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build --ray, then update --ray (its new files read as tasks) and compact --ray (each
    patched day rewritten by one) over it: the generations are the local commands'."""
    monkeypatch.setattr(splits, "PATCH_MAX_REMOVED", 1.0)  # days that only lose posts: patched
    day_two = [
        post(100 + i, f"second day #python #day{i % 3}", created_at="2026-10-02T08:00:00Z")
        for i in range(6)
    ]
    first = write_ndjson(tmp_path / "in/a2.ndjson", [*A_ROWS, *day_two])
    # New copies of two posts of 2026-10-02 on 2026-10-03: that day only loses posts.
    moved = [
        row | {"created_at": "2026-10-03T09:00:00Z", "text": "moved #rust"} for row in day_two[:2]
    ]
    replacing = write_ndjson(
        tmp_path / "in/b.ndjson", [*SCENARIOS["B replaces posts of A"][0], *moved]
    )
    more = write_ndjson(tmp_path / "in/c.ndjson", SCENARIOS["B with bad rows"][0])
    made: dict[str, list[Path]] = {}
    for name, address in (("local", None), ("ray", "local")):
        options = BuildOptions(index_dir=tmp_path / name, ray=address)
        build([str(first)], options, now=NOW)
        updated = update([str(replacing), str(more)], options, now=NOW + timedelta(hours=1))
        assert updated.published
        compacted = compact(tmp_path / name, now=NOW + timedelta(hours=2), ray=address)
        assert compacted.published
        assert compacted.days > 0
        made[name] = [updated.generation_dir, compacted.generation_dir]
    for mine, theirs in zip(made["ray"], made["local"], strict=True):
        assert_same_build(mine, theirs)


ANSWERS = (
    "/v1/trending?window=7d&as_of=2026-10-08T00:00:00Z",
    "/v1/trending?window=24h",
    "/v1/index",
    "/v1/hashtags?prefix=a",
    "/v1/hashtags?q=pythn",
    "/v1/hashtags/python",
    "/v1/hashtags/python/timeseries?interval=day",
    "/v1/hashtags/python/timeseries?interval=hour&platform=x",
    "/v1/hashtags/python/related",
    "/v1/posts?tag=python&limit=50",
    "/v1/posts?q=new%20year&limit=50",
    "/v1/posts?tag=python&sort=engagement&limit=50",
    "/v1/reports/index.csv",
    "/v1/reports/index.csv?platform=mastodon&limit=20",
)


@pytest.mark.usefixtures("ray_session")
def test_bundled_sample_answers_the_same_on_ray(tmp_path: Path) -> None:
    """The five bundled sample dumps (NDJSON, zstd, gzip, CSV, Parquet): every endpoint
    answers the same, the CSV reports byte for byte."""
    local, on_ray = both(tmp_path, ROOT / "data" / "sample")
    assert_same_build(on_ray.generation_dir, local.generation_dir)
    answers = []
    for name in ("local", "ray"):
        settings = Settings(index_dir=tmp_path / name, cursor_secret="one secret")
        generation = read_manifest(tmp_path / name / "current").generation.encode()
        with TestClient(create_app(settings)) as client:
            got = {}
            for url in ANSWERS:
                response = client.get(url)
                assert response.status_code == 200, (url, response.text)
                got[url] = response.content.replace(generation, b"GEN")
            got["relevance"] = every_page(client, "/v1/posts?q=the&sort=relevance&limit=100")
            answers.append(got)
    for timing in ("seconds", "stage_seconds", "stage_peak_rss_mib"):  # how long it took
        for got in answers:
            index = msgspec.json.decode(got["/v1/index"])
            assert index.pop(timing)
            got["/v1/index"] = msgspec.json.encode(index)
    assert answers[0] == answers[1]


def every_page(client: TestClient[Any], url: str) -> bytes:
    """The ids of every page of a relevance search, as a set: posts of equal score are
    in document order, and documents are in another order in another index."""
    ids: set[str] = set()
    cursor = ""
    while True:
        page = client.get(url + cursor).json()
        ids.update(f"{item['platform']}:{item['id']}" for item in page["items"])
        if page["next_cursor"] is None:
            assert len(ids) == page["total"]
            return repr(sorted(ids)).encode()
        cursor = f"&cursor={page['next_cursor']}"


@pytest.mark.usefixtures("ray_session")
def test_a_bad_file_fails_the_ray_build_and_publishes_nothing(tmp_path: Path) -> None:
    good = write_ndjson(tmp_path / "in/good.ndjson", [post(1, "#ok")])
    options = BuildOptions(index_dir=tmp_path / "index", ray="local")
    before = build([str(good)], options, now=NOW).generation_dir
    bad = write_ndjson(tmp_path / "in/bad.ndjson", ["not json", "{}"])
    with pytest.raises(InputError, match=r"bad\.ndjson: all 2 rows rejected"):
        build([str(bad)], options, now=NOW)
    index = IndexDir(tmp_path / "index")
    assert index.current_dir() == before
    assert not list((tmp_path / "index" / "generations").glob(".building-*"))


@pytest.mark.usefixtures("ray_session")
def test_an_error_in_a_task_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """A broken file fails in its Ray task; the user sees our error, not a Ray trace."""
    good = write_ndjson(tmp_path / "in/good.ndjson", [post(1, "#ok")])
    broken = tmp_path / "in/broken.ndjson.zst"
    broken.write_bytes(b"this is not zstd at all")
    options = BuildOptions(index_dir=tmp_path / "index", ray="local")
    with pytest.raises(InputError, match=r"broken\.ndjson\.zst") as raised:
        build([str(good), str(broken)], options, now=NOW)
    assert "\n" not in str(raised.value)
    assert IndexDir(tmp_path / "index").current_dir() is None


def test_retried_tasks_start_over_and_leave_what_one_run_leaves(tmp_path: Path) -> None:
    """Ray retries a task whose worker died; the retry runs over what the first attempt
    left (its own directory, spool files already moved): it must give the same result
    and the same files as one run. (Run here in process: the tasks are plain functions.)"""
    dump = write_ndjson(
        tmp_path / "in/a.ndjson", [*A_ROWS, *(post(50 + i, f"#t{i % 4}") for i in range(40))]
    )
    unit = units.Unit(0, dump, "ndjson")
    options = BuildOptions(tmp_path / "unused")
    spool = tmp_path / "spool"
    runs = []
    for attempt in ("first", "retry"):
        (read,) = reading.read_part(
            0, [unit], options, str(tmp_path / "part"), str(spool / "posts"), 0, 4
        )
        files = sorted(p.relative_to(tmp_path) for p in spool.rglob("*.parquet"))
        rows = pl.scan_parquet(spool / "posts" / "*" / "*.parquet").select(pl.len()).collect()
        runs.append((read.file, files, rows.item()))
        if attempt == "first":  # a worker that died after moving its spool, before returning
            (tmp_path / "part" / "leftover-of-the-first-attempt").touch()
    (first, first_files, first_rows), (retry, retry_files, retry_rows) = runs
    assert retry.source == first.source
    assert retry.accepted == first.accepted == retry_rows == first_rows == 48
    assert retry_files == first_files
    assert not (tmp_path / "part" / "leftover-of-the-first-attempt").exists()

    days = rollups.spooled_days(spool)
    losers = pl.DataFrame({"_seq": [0]}, schema={"_seq": pl.Int64()})
    indexed = []
    for attempt in ("first", "retry"):
        docs, _ = indexing.index_part(str(tmp_path / "index"), str(spool), days, losers)
        searcher = open_posts_index(tmp_path / "index").searcher()
        indexed.append((docs, searcher.num_docs))
        if attempt == "first":
            (tmp_path / "index" / "leftover-of-the-first-attempt").touch()
    assert indexed == [(47, 47), (47, 47)]
    assert not (tmp_path / "index" / "leftover-of-the-first-attempt").exists()


def test_the_cli_builds_on_a_local_ray_with_one_summary_line(tmp_path: Path) -> None:
    """As a user runs it: `hashtag-index build --ray local` starts a Ray of its own, builds,
    stops it, and says what the local build says, with none of Ray's chatter on stderr."""
    local = build([str(ROOT / "data" / "sample")], BuildOptions(tmp_path / "local"), now=NOW)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "hashtag_index", "build", "--quiet", "--ray", "local"),
            *("--index", str(tmp_path / "ray"), str(ROOT / "data" / "sample")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    line = done.stdout.strip()
    summary = r"generation \S+: read 5012 rows, indexed 5000 posts .*, 296 tags, \S+ s"
    assert re.fullmatch(summary, line)
    assert_same_build(tmp_path / "ray" / "current", local.generation_dir, same_ids=False)


@pytest.mark.usefixtures("ray_session")
def test_tasks_run_a_window_at_a_time_and_come_back_in_order_when_asked() -> None:
    task = ray.remote(statistics.fmean)
    submitted: list[int] = []

    def submit(i: int) -> Any:
        submitted.append(i)
        return task.remote([i, i])

    results = cluster.run_tasks(ray, submit, 40, ordered=True)
    first = next(results)
    assert first == (0, 0.0)
    window = cluster.IN_FLIGHT_PER_CPU * 2
    assert len(submitted) <= window  # not every task at once: results wait for the driver
    assert [first, *results] == [(i, float(i)) for i in range(40)]
    unordered = sorted(cluster.run_tasks(ray, submit, 40))
    assert unordered == [(i, float(i)) for i in range(40)]
    assert list(cluster.run_tasks(ray, submit, 0)) == []


@pytest.mark.usefixtures("ray_session")
def test_inputs_without_a_post_publish_an_empty_generation_only_when_asked(
    tmp_path: Path,
) -> None:
    empty = write_ndjson(tmp_path / "in/empty.ndjson", ["", ""])
    options = BuildOptions(index_dir=tmp_path / "index", ray="local")
    with pytest.raises(EmptyBuildError, match="no posts to index"):
        build([str(empty)], options, now=NOW)
    result = build([str(empty)], replace(options, allow_empty=True), now=NOW)
    assert result.manifest.posts == 0
    assert open_posts_index(result.generation_dir).searcher().num_docs == 0


@pytest.mark.usefixtures("ray_session")
def test_relative_paths_work_whatever_the_workers_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers (here started before this test's chdir, on a cluster on other machines) do
    not share the driver's directory: they get absolute paths, and the manifest and the
    rejects still name the inputs as the user did."""
    write_ndjson(tmp_path / "in/a.ndjson", [*A_ROWS, "not json"])
    monkeypatch.chdir(tmp_path)
    made = [
        build(["in/a.ndjson"], BuildOptions(index_dir=Path(name), ray=ray_address), now=NOW)
        for name, ray_address in (("local", None), ("ray", "local"))
    ]
    assert [s.path for s in made[1].manifest.sources] == ["in/a.ndjson"]
    assert_same_build(made[1].generation_dir, made[0].generation_dir)
