"""A build's tantivy index on Ray: the posts that survive the dedup, a run of days a task.

Indexing after the dedup (not while reading) means no loser is ever indexed and
nothing is deleted afterwards, so the driver never opens a writer: the generation's
index is the tasks' parts joined by their segment lists (indexer/segments.py). A
commit on the driver would let tantivy merge every part's segments there, serially:
84 s of a 10M build's 443 s when the read tasks indexed and the driver deleted the
losers (2026-12-05). The days are cut into runs of about equal spooled bytes, one
to two a CPU (one per :data:`INDEX_TASK_BYTES` between), each indexed by a task with
one writer thread and :data:`INDEX_HEAP_BYTES`: a segment about every million posts,
about as many as the local build's merges leave (12 at 10M).
"""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from indexer import rollups
from indexer.distributed.cluster import TASK_RETRIES, TASK_SECONDS, cpus, run_tasks
from indexer.ingest import DEFAULT_BATCH_ROWS
from indexer.schema import POSTS_INDEX_DIR, open_posts_index
from indexer.segments import combine_indexes
from indexer.tantivy_writer import TantivyFeeder, commit, tantivy_json_lines

PARTS = "_ray_index"
"""The index tasks' directories under the generation being built (removed at the end)."""

INDEX_TASK_BYTES = 128 << 20
"""Spooled posts (Parquet, with their text) an index task takes, between one and two
tasks a CPU."""

INDEX_HEAP_BYTES = 400 << 20
"""tantivy's indexing memory in an index task (one thread)."""


def index_days(ray: Any, work: Path, spool: Path, losers: pl.DataFrame) -> int:
    """Index every spooled post but the ``losers`` into ``work``'s tantivy index, a run of
    days a task; returns the number of index parts joined."""
    days = rollups.spooled_days(spool)
    sizes = [_spooled_bytes(spool, day) for day in days]
    workers = cpus(ray)
    count = min(2 * workers, max(workers, sum(sizes) // INDEX_TASK_BYTES))
    target = sum(sizes) / count
    runs: list[list[date]] = []
    filled = target
    for day, size in zip(days, sizes, strict=True):
        if filled >= target:
            runs.append([])
            filled = 0
        runs[-1].append(day)
        filled += size
    parts = work / PARTS
    parts.mkdir()
    task = ray.remote(max_retries=TASK_RETRIES)(index_part)
    shared = ray.put(losers)

    def submit(i: int) -> Any:
        return task.remote(str(parts / str(i)), str(spool), runs[i], shared)

    seconds = [took for _, (_, took) in run_tasks(ray, submit, len(runs))]
    TASK_SECONDS["index"] = seconds
    if not runs:  # no post at all: an empty index
        open_posts_index(work, create=True)
    else:
        combine_indexes(
            [parts / str(i) / POSTS_INDEX_DIR for i in range(len(runs))], work / POSTS_INDEX_DIR
        )
    shutil.rmtree(parts)
    return len(runs)


def _spooled_bytes(spool: Path, day: date) -> int:
    return sum(f.stat().st_size for f in (spool / "posts" / str(day)).glob("*.parquet"))


def index_part(part: str, spool: str, days: list[date], losers: pl.DataFrame) -> tuple[int, float]:
    """The Ray task of a run of days: their spooled posts but the ``losers``, indexed into a
    tantivy index of its own under ``part``; returns its documents and its seconds."""
    started = time.monotonic()
    own = Path(part)
    if own.exists():  # a retry: start over
        shutil.rmtree(own)
    own.mkdir(parents=True)
    index = open_posts_index(own, create=True)
    writer = index.writer(heap_size=INDEX_HEAP_BYTES, num_threads=1)
    with TantivyFeeder(writer, own) as feeder:
        for day in days:
            frame = pl.scan_parquet(Path(spool) / "posts" / str(day) / "*.parquet")
            if losers.height:
                frame = frame.join(losers.lazy(), on="_seq", how="anti")
            for batch in frame.collect_batches(chunk_size=DEFAULT_BATCH_ROWS):
                feeder.put(tantivy_json_lines(batch))
    commit(writer, own)
    index.reload()
    return index.searcher().num_docs, round(time.monotonic() - started, 3)
