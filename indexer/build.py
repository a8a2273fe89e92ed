"""``hashtag-index build``: inputs in, one exact, published generation out.

One streaming pass, then two short ones; memory is bounded by the batch size
(or by the number of distinct keys, never by the text). A module per stage:

1. read+index  :mod:`indexer.reading` reads each file in order (shared with
               ``update``): decode and validate rows (rejects to the rejects
               file), tag each post (tag keys and their spellings), number it
               with a global ``_seq`` (later input = higher ``_seq``); the build
               spools its table rows (:mod:`indexer.rollups`) and hands its
               tantivy document to a feeder thread (:mod:`indexer.tantivy_writer`:
               tantivy indexes while polars prepares the next batch);
2. dedup       :mod:`indexer.dedup`: per identity ``uid = platform:id``, every copy
               but the one with the highest ``_seq`` loses, and so does every copy
               read before a delete event of its uid; losers are deleted from
               tantivy by ``_seq`` before the one commit;
3. rollups     :mod:`indexer.globals` and :mod:`indexer.splits` turn the spools,
               minus the losers, into the tables, a split per day;
then the manifest is written and the generation published (:mod:`indexer.publish`).
With ``--ray``, stages 1 and 2 and the days' tables run as tasks
(:mod:`indexer.distributed`).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from indexer import rollups
from indexer.dedup import DeleteEffects, delete_effects, spooled_copies
from indexer.errors import EmptyBuildError, IndexerError
from indexer.globals import Changes, write_tables
from indexer.inputs import Warn, expand_inputs
from indexer.options import BuildOptions
from indexer.progress import Progress, StageClock, plural
from indexer.publish import IndexDir
from indexer.reading import ReadResult, Warnings, read_inputs
from indexer.schema import (
    F_SEQ,
    MANIFEST_FILE,
    REJECTS_FILE,
    SCHEMA_VERSION,
    Manifest,
    encode_manifest,
    open_posts_index,
)
from indexer.tantivy_writer import TantivyFeeder, commit, tantivy_json_lines

if TYPE_CHECKING:
    from indexer.distributed.days import RayDays

__all__ = ["BuildOptions", "BuildResult", "build"]


@dataclass
class BuildResult:
    manifest: Manifest
    generation_dir: Path
    pruned: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What was said to ``warn`` (files a directory scan passed over, files whose
    every row was rejected), in order."""


def build(
    inputs: Iterable[str],
    options: BuildOptions,
    *,
    now: datetime,
    progress: Progress | None = None,
    warn: Warn | None = None,
) -> BuildResult:
    """Build a new generation from the inputs alone and publish it.

    ``warn`` receives a line for each thing the user should know that is no error
    (:class:`BuildResult` keeps them too). A build whose inputs hold rows but not
    one that could be read fails (:func:`read_inputs`), and so does one that would publish
    no post (empty inputs) unless ``options.allow_empty``: nothing is published."""
    started = time.monotonic()
    progress = progress or Progress(enabled=False)
    warnings = Warnings(warn)
    files = expand_inputs(list(inputs), warnings, follow_symlinks=options.follow_symlinks)
    index_dir = IndexDir(options.index_dir)
    with index_dir.lock():
        index_dir.clean_abandoned()
        try:
            with index_dir.building(now) as (generation, work):
                manifest = _build_into(
                    work, generation, files, options, now, started, progress, warnings
                )
                if manifest.posts == 0 and not options.allow_empty:
                    raise _empty_build_error(files, manifest)
                final = index_dir.publish(work, generation)
        finally:
            progress.close()
        pruned = index_dir.prune(options.keep)
    return BuildResult(manifest, final, pruned, warnings.lines)


def _build_into(
    work: Path,
    generation: str,
    files: list[Path],
    options: BuildOptions,
    now: datetime,
    started: float,
    progress: Progress,
    warn: Warn,
) -> Manifest:
    spool = work / rollups.SPOOL
    for sub in rollups.SPOOLS:
        (spool / sub).mkdir(parents=True)
    clock = StageClock()
    tasks: RayDays | None = None
    if options.ray is not None:
        from indexer.distributed.build import read_dedup_index  # Ray only when asked

        read, losers, effects, tasks = read_dedup_index(
            files, options, work, spool, progress, warn, clock
        )
    else:
        read, losers, effects = _read_dedup_index(files, options, work, progress, warn, clock)
    with tasks if tasks is not None else contextlib.nullcontext():  # Ray left at its end
        progress.stage("rollups")
        changes = Changes(
            days=rollups.spooled_days(spool),
            posts_of=lambda day: rollups.day_posts(spool, day, losers),
            gone=pl.Series("uid", [], dtype=pl.String()),
        )
        stats = write_tables(work, generation, None, [], changes, tasks)
        shutil.rmtree(spool)
        clock.lap("rollups")
    manifest = Manifest(
        generation=generation,
        schema_version=SCHEMA_VERSION,
        built_at=now.astimezone(UTC),
        posts=stats.posts,
        tags=stats.tags,
        read=read.read,
        duplicates=losers.height - effects.matched,
        rejected=sum(s.rejected for s in read.sources),
        deleted=effects.matched,
        deletes_unmatched=effects.unmatched,
        skipped=read.skipped,
        from_=stats.first,
        to=stats.last,
        sources=read.sources,
        seconds=round(time.monotonic() - started, 3),
        stage_seconds=clock.seconds,
        stage_peak_rss_mib=clock.peak_rss_mib,
        splits=stats.splits,
    )
    _check_counts(work, manifest, read)
    (work / MANIFEST_FILE).write_bytes(encode_manifest(manifest))
    return manifest


def _read_dedup_index(
    files: list[Path],
    options: BuildOptions,
    work: Path,
    progress: Progress,
    warn: Warn,
    clock: StageClock,
) -> tuple[ReadResult, pl.DataFrame, DeleteEffects]:
    """Stages 1 and 2 in this process: read and index every file, then delete the losers
    from tantivy and commit. Returns the read, the losers' ``_seq`` and the deletes' effects."""
    spool = work / rollups.SPOOL
    index = open_posts_index(work, create=True)
    writer = index.writer(heap_size=options.writer_heap_bytes, num_threads=options.writer_threads)
    with TantivyFeeder(writer, work) as feeder:

        def sink(posts: pl.DataFrame, name: str) -> None:
            feeder.put(tantivy_json_lines(posts))
            rollups.write_batch(posts, spool, name)

        read = read_inputs(files, options, work / REJECTS_FILE, spool, sink, progress, warn=warn)
    clock.lap("read+index")

    progress.stage("dedup")
    effects = delete_effects(spooled_copies(spool), read.deletes)
    losers = pl.concat([rollups.losers(spool), effects.removed]).unique().sort("_seq")
    for seq in losers["_seq"]:
        writer.delete_documents_by_term(F_SEQ, seq)
    commit(writer, work)
    clock.lap("dedup+commit")
    return read, losers, effects


def _check_counts(work: Path, manifest: Manifest, read: ReadResult) -> None:
    """The tables, tantivy and the reading must agree on every post and delete event."""
    indexed = open_posts_index(work).searcher().num_docs
    expected = read.accepted - manifest.duplicates - manifest.deleted
    events = read.deletes.height
    if not (
        manifest.posts == indexed == expected
        and manifest.duplicates >= 0
        and manifest.deleted + manifest.deletes_unmatched
        == events
        == sum(s.deletes for s in read.sources)
    ):
        raise IndexerError(
            f"internal error: {manifest.posts} posts in tables, {indexed} in tantivy, "
            f"{expected} expected ({manifest.deleted} + {manifest.deletes_unmatched} of "
            f"{events} deletes)"
        )


def _empty_build_error(files: list[Path], manifest: Manifest) -> EmptyBuildError:
    """The one line for a build that found no post: what was read, what to do."""
    named = ", ".join(str(f) for f in files[:3]) + (", ..." if len(files) > 3 else "")
    found = [plural(manifest.read, "row")]
    if manifest.skipped:
        found.append(f"{plural(manifest.skipped, 'record')} skipped (not posts)")
    if manifest.deleted:
        found.append(f"{manifest.deleted} deleted")
    if manifest.rejected:
        found.append(f"{manifest.rejected} rejected")
    return EmptyBuildError(
        f"no posts to index in {named} (read {', '.join(found)}); nothing was published "
        "and the current generation is unchanged (pass --allow-empty to publish an empty "
        "generation)"
    )
