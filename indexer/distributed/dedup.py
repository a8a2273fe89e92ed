"""A build's dedup on Ray: a shuffle by post identity, a task per uid bucket."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl

from indexer import rollups
from indexer.dedup import DeleteEffects, delete_effects
from indexer.distributed.cluster import TASK_RETRIES, TASK_SECONDS, run_tasks

BUCKETS_PER_CPU = 2
"""A build's dedup runs as this many tasks per CPU, each over the posts whose uid hashes
to its bucket."""

UIDS = "_uids"
"""Under a build's spool: ``<bucket>/<batch>.parquet``, the ``uid, _seq`` of its posts."""


def uid_bucket(uid: pl.Expr, buckets: int) -> pl.Expr:
    """The dedup bucket of a uid. polars' hash with a fixed seed: the same on every node
    that runs the same polars (Ray requires one environment across its cluster)."""
    return (uid.hash(seed=11) % buckets).cast(pl.Int64())


def dedup(
    ray: Any, spool: Path, deletes: pl.DataFrame, buckets: int
) -> tuple[pl.DataFrame, DeleteEffects]:
    """Stage 2 of a build on Ray, a shuffle by post identity: each bucket of uids is
    deduplicated by a task (the later copy wins; delete events remove the copies read
    before them), as the local build does over all of them. Returns the losers
    (``_seq``, sorted) and the delete events' effects."""
    task = ray.remote(max_retries=TASK_RETRIES)(dedup_bucket)
    events = deletes.with_columns(_b=uid_bucket(pl.col("uid"), buckets))

    def submit(bucket: int) -> Any:
        return task.remote(str(spool), bucket, events.filter(pl.col("_b") == bucket).drop("_b"))

    done = [result for _, result in run_tasks(ray, submit, buckets)]
    TASK_SECONDS["dedup"] = [seconds for _, _, seconds in done]
    losers = pl.concat([pl.DataFrame(schema={"_seq": pl.Int64()}), *(lost for lost, _, _ in done)])
    effects = [effect for _, effect, _ in done]
    return losers.sort("_seq"), DeleteEffects(
        removed=pl.concat([e.removed for e in effects]).sort("_seq"),
        matched=sum(e.matched for e in effects),
        unmatched=sum(e.unmatched for e in effects),
    )


def dedup_bucket(
    spool: str, bucket: int, deletes: pl.DataFrame
) -> tuple[pl.DataFrame, DeleteEffects, float]:
    """The Ray task of one uid bucket's dedup: its losers (copies replaced by a later copy
    or removed by a delete event), the events' effects, and its seconds."""
    started = time.monotonic()
    directory = Path(spool) / UIDS / str(bucket)
    if directory.exists():
        keys = pl.scan_parquet(directory / "*.parquet")
    else:
        keys = pl.LazyFrame(schema={"uid": pl.String(), "_seq": pl.Int64()})
    effects = delete_effects(keys, deletes)
    losers = pl.concat([rollups.losers_among(keys), effects.removed]).unique()
    return losers, effects, round(time.monotonic() - started, 3)
