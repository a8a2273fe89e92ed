"""The day tasks: a build's vocabularies and splits, compact's rewrites."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from indexer import rollups
from indexer.distributed.cluster import TASK_RETRIES, TASK_SECONDS, run_tasks
from indexer.globals import DayWritten, Ids, Vocabulary, vocabulary, write_new_day
from indexer.patched_days import DayIds, rewrite_patched
from indexer.splits import split_path


class RayDays:
    """The new days of a build as Ray tasks (:class:`~indexer.globals.DayTasks`): their
    vocabularies, then their splits, each day read from the build's spool."""

    def __init__(
        self,
        ray: Any,
        out: Path,
        spool: Path,
        losers: pl.DataFrame,
        joined: contextlib.ExitStack | None = None,
    ) -> None:
        self._ray = ray
        self._out = str(out)
        self._spool = str(spool)
        self._losers = ray.put(losers)
        self._joined = joined or contextlib.ExitStack()

    def __enter__(self) -> RayDays:
        return self

    def __exit__(self, *_: object) -> None:
        """Leave Ray (if these tasks were handed the connection)."""
        self._joined.close()

    def vocabularies(self, days: list[date]) -> Iterator[Vocabulary]:
        task = self._ray.remote(max_retries=TASK_RETRIES)(day_vocabulary)

        def submit(i: int) -> Any:
            return task.remote(self._spool, days[i], self._losers)

        for _, (words, seconds) in run_tasks(self._ray, submit, len(days), ordered=True):
            TASK_SECONDS.setdefault("vocabulary", []).append(seconds)
            yield words

    def write(self, days: list[date], ids: Ids, generation: str) -> Iterator[DayWritten]:
        task = self._ray.remote(max_retries=TASK_RETRIES)(write_day)
        shared = self._ray.put(ids)

        def submit(i: int) -> Any:
            return task.remote(self._out, self._spool, days[i], self._losers, shared, generation)

        for _, (written, seconds) in run_tasks(self._ray, submit, len(days)):
            TASK_SECONDS.setdefault("split", []).append(seconds)
            yield written


def day_vocabulary(spool: str, day: date, losers: pl.DataFrame) -> tuple[Vocabulary, float]:
    """The Ray task of one day's :func:`~indexer.globals.vocabulary` (and its seconds)."""
    started = time.monotonic()
    words = vocabulary(rollups.day_posts(Path(spool), day, losers))
    return words, round(time.monotonic() - started, 3)


def write_day(
    out: str, spool: str, day: date, losers: pl.DataFrame, ids: Ids, generation: str
) -> tuple[DayWritten, float]:
    """The Ray task of one day's split (:func:`~indexer.globals.write_new_day`), and its
    seconds."""
    started = time.monotonic()
    directory = Path(out) / split_path(day)
    if directory.exists():  # a retry: start over
        shutil.rmtree(directory)
    posts = rollups.day_posts(Path(spool), day, losers)
    written = write_new_day(Path(out), day, posts, ids, generation)
    return written, round(time.monotonic() - started, 3)


def rewrite_days(ray: Any, ids: DayIds, days: list[tuple[Path, Path]]) -> Iterator[int]:
    """``compact --ray``: each patched day (source, target) rewritten by a Ray task with
    :func:`~indexer.patched_days.rewrite_patched`; yields the removed posts each left out."""
    task = ray.remote(max_retries=TASK_RETRIES)(rewrite_day)
    shared = ray.put(ids)

    def submit(i: int) -> Any:
        return task.remote(str(days[i][0]), str(days[i][1]), shared)

    for _, (removed, seconds) in run_tasks(ray, submit, len(days)):
        TASK_SECONDS.setdefault("compact", []).append(seconds)
        yield removed


def rewrite_day(source: str, target: str, ids: DayIds) -> tuple[int, float]:
    """The Ray task of one patched day's rewrite, and its seconds."""
    started = time.monotonic()
    if Path(target).exists():  # a retry: start over
        shutil.rmtree(target)
    removed = rewrite_patched(Path(source), Path(target), ids)
    return removed, round(time.monotonic() - started, 3)
