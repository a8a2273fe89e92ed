"""``build --ray``: the stages before the rollups, as Ray tasks (see the package's doc)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import polars as pl

from indexer.dedup import DeleteEffects
from indexer.distributed.cluster import connected
from indexer.distributed.days import RayDays
from indexer.distributed.dedup import dedup
from indexer.distributed.indexing import index_days
from indexer.distributed.reading import read_into_days
from indexer.inputs import Warn
from indexer.options import BuildOptions
from indexer.progress import Progress, StageClock
from indexer.reading import ReadResult


def read_dedup_index(
    files: list[Path],
    options: BuildOptions,
    work: Path,
    spool: Path,
    progress: Progress,
    warn: Warn,
    clock: StageClock,
) -> tuple[ReadResult, pl.DataFrame, DeleteEffects, RayDays]:
    """Read every input into the spool, deduplicate, and index the survivors into
    ``work``'s tantivy index, each as Ray tasks. Returns the read, the losers, the delete
    events' effects, and the days' tasks for the rollups: a context manager, Ray stays
    joined until it exits."""
    assert options.ray is not None
    work, spool = work.absolute(), spool.absolute()  # workers may run elsewhere
    with contextlib.ExitStack() as stack:  # on an error, Ray is left here
        ray = stack.enter_context(connected(options.ray))
        read, buckets = read_into_days(files, options, work, spool, progress, warn, ray)
        clock.lap("read")
        progress.stage("dedup")
        losers, effects = dedup(ray, spool, read.deletes, buckets)
        clock.lap("dedup")
        progress.stage("index")
        index_days(ray, work, spool, losers)
        clock.lap("index")
        days = RayDays(ray, work, spool, losers, stack.pop_all())
    return read, losers, effects, days
