"""The read tasks of a build (read, validate, tag, index) and of an update (read into
its spool)."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from indexer import rollups
from indexer.distributed.cluster import TASK_RETRIES, TASK_SECONDS, cpus, run_tasks
from indexer.distributed.dedup import BUCKETS_PER_CPU, UIDS, uid_bucket
from indexer.distributed.units import (
    PartRead,
    Unit,
    copy_rejects,
    file_reads,
    line_ends,
    plan_tasks,
)
from indexer.inputs import Warn
from indexer.options import BuildOptions
from indexer.progress import Progress
from indexer.reading import BatchSink, FileRead, ReadResult, combine_reads, read_file
from indexer.rejects import RejectsWriter
from indexer.rollups import spool_batch
from indexer.schema import REJECTS_FILE
from indexer.sources import reading_range, sha256_of

SEQ_SHIFT = 40
"""The n-th read task's rows are numbered from ``n << SEQ_SHIFT`` (after an update's
first number): room for 2^40 rows a task and 2^22 tasks in tantivy's i64 ``_seq``."""

PARTS = "_ray"
"""The tasks' own directories under the generation being built (removed at the end)."""


def read_into_days(
    files: list[Path],
    options: BuildOptions,
    work: Path,
    spool: Path,
    progress: Progress,
    warn: Warn,
    ray: Any,
) -> tuple[ReadResult, int]:
    """Stage 1 of a build on Ray: every file read, validated and tagged into ``spool`` by
    day, with the text (:func:`~indexer.rollups.write_batch`), and each post's
    ``uid, _seq`` by uid bucket for :func:`~indexer.distributed.dedup.dedup`. Returns
    the read and the number of uid buckets."""
    parts = work / PARTS
    buckets = BUCKETS_PER_CPU * cpus(ray)
    read, _ = read_units(
        files,
        options,
        parts,
        work / REJECTS_FILE,
        spool / "posts",
        progress,
        warn,
        ray,
        buckets=buckets,
    )
    shutil.rmtree(parts)
    return read, buckets


def read_into_spool(
    files: list[Path],
    options: BuildOptions,
    work: Path,
    rejects: Path,
    spool: Path,
    progress: Progress,
    warn: Warn,
    ray: Any,
    *,
    first_seq: int,
    digests: dict[Path, str],
) -> ReadResult:
    """The read stage of an update on Ray: every new file read, validated and tagged into
    ``spool`` (one Parquet file a batch, with the text: the update indexes the posts that
    survive its dedup itself), numbered from ``first_seq`` (the n-th unit from
    ``first_seq + (n << SEQ_SHIFT)``)."""
    parts = work / PARTS
    read, _ = read_units(
        files,
        options,
        parts,
        rejects,
        spool,
        progress,
        warn,
        ray,
        buckets=0,
        first_seq=first_seq,
        digests=digests,
    )
    shutil.rmtree(parts)
    return read


def read_units(
    files: list[Path],
    options: BuildOptions,
    parts: Path,
    rejects: Path,
    spool: Path,
    progress: Progress,
    warn: Warn,
    ray: Any,
    *,
    buckets: int,
    first_seq: int = 0,
    digests: dict[Path, str] | None = None,
) -> tuple[ReadResult, int]:
    """Read ``files`` as Ray tasks (:func:`read_part`) into ``spool``, their rejects into
    ``rejects``; their own directories are ``parts/<n>``. With ``buckets`` (a build), the
    tasks index their posts too and spool them by day; without (an update), they spool
    them with their text. Returns the read and the number of tasks."""
    tasks = plan_tasks(files, options, cpus(ray))
    remote = ray.remote(max_retries=TASK_RETRIES)(read_part)
    parts.mkdir()

    def submit(n: int) -> Any:
        numbered = first_seq + (n << SEQ_SHIFT)
        return remote.remote(
            n, tasks[n], options, str(parts / str(n)), str(spool), numbered, buckets
        )

    progress.stage("index" if buckets else "read", sum(f.stat().st_size for f in files))
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
    known = digests or {}
    hashing = [known[path] if path in known else hasher.submit(sha256_of, path) for path in files]
    done = {"bytes": 0, "rows": 0}

    def finished(n: int, reads: list[PartRead]) -> None:
        for unit, read in zip(tasks[n], reads, strict=True):
            done["bytes"] += (unit.end or read.file.source.bytes) - unit.start
            done["rows"] += read.file.source.rows
        progress.update(done["bytes"], done["rows"])

    try:
        task_reads: list[list[PartRead]] = [[] for _ in tasks]
        for n, reads_of_task in run_tasks(ray, submit, len(tasks)):
            task_reads[n] = reads_of_task
            finished(n, reads_of_task)
        TASK_SECONDS["read"] = [reads[0].seconds for reads in task_reads]
        sums = [d if isinstance(d, str) else d.result() for d in hashing]
        units = [unit for task in tasks for unit in task]
        reads = file_reads(units, [read for each in task_reads for read in each], sums)
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)
    with open(rejects, "wb") as out:
        for n, task_read in enumerate(task_reads):
            # A task of several files reads each whole: only a range has lines before it.
            copy_rejects(parts / str(n) / REJECTS_FILE, out, task_read[0].lines_before)
    return combine_reads(reads, warn), len(tasks)


def read_part(
    n: int,
    units: list[Unit],
    options: BuildOptions,
    part: str,
    spool: str,
    first_seq: int,
    buckets: int,
) -> list[PartRead]:
    """The Ray task of some :class:`Unit` s (a range, or small whole files): read them in
    order (numbering from ``first_seq``) into a spool of its own under ``part``; move the
    spool's posts into ``spool`` at the end (their names are their first ``_seq``:
    unique). A build's (``buckets`` > 0) spools them by day with their text
    (:func:`~indexer.rollups.write_batch`: indexed once the dedup is done, by
    :mod:`.indexing`) and their ``uid, _seq`` by uid bucket (into ``spool``'s sibling
    :data:`UIDS`); an update's spools one file a batch, with the text
    (:data:`~indexer.rollups.SPOOL_COLUMNS`)."""
    started = time.monotonic()
    own = Path(part)
    if own.exists():  # a retry: start over
        shutil.rmtree(own)
    own_spool = own / "spool"
    (own_spool / "posts").mkdir(parents=True)
    reads: list[FileRead] = []
    with RejectsWriter(own / REJECTS_FILE) as rejects:
        sink = _spooler(own_spool, buckets)
        for unit in units:
            with contextlib.ExitStack() as within:
                if unit.end is not None:
                    within.enter_context(reading_range(unit.path, unit.start, unit.end))
                numbered = first_seq + sum(r.accepted for r in reads)
                options_of = replace(options, format=unit.fmt)
                name = unit.name or str(unit.path)
                reads.append(
                    read_file(
                        unit.path,
                        options_of,
                        rejects,
                        own_spool,
                        sink,
                        numbered,
                        "",
                        _ignored,
                        name=name,
                    )
                )
    _move_into(own_spool / "posts", Path(spool))
    if buckets:
        _move_into(own_spool / UIDS, Path(spool).parent / UIDS)
    shutil.rmtree(own_spool)
    seconds = round(time.monotonic() - started, 3)
    return [
        PartRead(read, line_ends(unit) if unit.end is not None else 0, seconds)
        for unit, read in zip(units, reads, strict=True)
    ]


def _spooler(own_spool: Path, buckets: int) -> BatchSink:
    """Where a read task's batches go: an update's spool (``buckets`` 0), or a build's by day
    and its ``uid, _seq`` by uid bucket."""

    def sink(posts: pl.DataFrame, name: str) -> None:
        if not buckets:
            spool_batch(posts, own_spool / "posts", name)
            return
        rollups.write_batch(posts, own_spool, name, text=True)
        keys = posts.select("uid", "_seq", _b=uid_bucket(pl.col("uid"), buckets))
        for (bucket,), part in keys.partition_by("_b", as_dict=True).items():
            directory = own_spool / UIDS / str(bucket)
            directory.mkdir(parents=True, exist_ok=True)
            part.drop("_b").write_parquet(directory / name, compression="lz4")

    return sink


def _ignored(_bytes: int, _rows: int) -> None:
    """A task's reading is followed by the driver, a task at a time."""


def _move_into(source: Path, target: Path) -> None:
    """Every file under ``source`` to the same place under ``target`` (renames)."""
    for path in sorted(source.rglob("*")):
        if path.is_file():
            place = target / path.relative_to(source)
            place.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, place)
