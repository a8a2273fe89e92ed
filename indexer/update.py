"""``hashtag-index update``: the published generation plus new inputs, as a new generation.

The result is the generation that one build of all the inputs (the parent's
sources, then the new ones) would give: the same manifest counts, tables,
documents and search hits. The work is proportional to the new data where it
matters: old posts are never decoded, tagged or indexed again.

1. read     inputs whose sha256 is already among the parent's sources are
            skipped; the others are read, validated and tagged as a build does
            (rejects aside), numbered on from the parent's accepted rows, and
            spooled with their text;
2. dedup    within the new rows the later copy of a ``uid`` wins; new uids the
            parent already holds are ``replaced`` (the new copy wins); a delete
            event removes the copies read before it, the parent's post included
            (:func:`indexer.dedup.delete_effects`);
3. index    the parent's tantivy segments are hard-linked into the new
            generation (never copied, never written: see :func:`link_posts_index`),
            the replaced posts are deleted by ``uid`` term, the new documents
            added, one commit;
4. rollups  the days the new and gone posts fall on are rewritten, every other
            split hard-linked, and the generation-wide tables updated from the
            changes (:func:`indexer.globals.write_tables`); the rejects file is the
            parent's plus the new rejects;
then the manifest (``parent`` = the old generation) is written and the new
generation published like a build's, under the same lock.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from indexer import rollups
from indexer.dedup import DeleteEffects, delete_effects, spooled_copies
from indexer.errors import IndexerError
from indexer.globals import POST_COLUMNS, Changes, Stats, held_by_day, write_tables
from indexer.inputs import Warn, expand_inputs
from indexer.options import BuildOptions
from indexer.progress import Progress, StageClock
from indexer.publish import IndexDir, checked_parent
from indexer.reading import ReadResult, Warnings, read_inputs
from indexer.rollups import SPOOL, SPOOL_COLUMNS, spool_batch
from indexer.schema import (
    F_UID,
    MANIFEST_FILE,
    POSTS_INDEX_DIR,
    REJECTS_FILE,
    SCHEMA_VERSION,
    Manifest,
    SplitInfo,
    encode_manifest,
    open_posts_index,
)
from indexer.sources import sha256_of
from indexer.tantivy_writer import TantivyFeeder, commit, link_posts_index, tantivy_json_lines
from indexer.validate import POST_SCHEMA

NEW_REJECTS = "_rejects.new"


@dataclass
class Skipped:
    """An input left out because its content is already in the generation."""

    path: Path
    sha256: str


@dataclass
class Figures:
    """What an update did with its inputs' rows: ``read = added + replaced +
    duplicates + rejected + (deleted - deleted_published)``."""

    read: int = 0
    added: int = 0
    """New posts (a (platform, id) the parent did not hold)."""
    replaced: int = 0
    """Posts of the parent replaced by a new copy."""
    duplicates: int = 0
    """Accepted rows superseded by a later copy within the new inputs."""
    rejected: int = 0
    deleted: int = 0
    """Posts removed by the inputs' delete events (new rows or the parent's posts)."""
    deleted_published: int = 0
    """Of ``deleted``, posts of the parent generation."""
    deletes_unmatched: int = 0
    """Delete events of posts that were not there."""
    skipped: int = 0
    """Native records skipped as not posts (not rows, so not in ``read``)."""


@dataclass
class UpdateResult:
    manifest: Manifest
    """The published generation's manifest: the new one, or the parent's if nothing was new."""
    generation_dir: Path
    published: bool
    """False when every input was already ingested: nothing was published."""
    skipped: list[Skipped] = field(default_factory=list)
    figures: Figures = field(default_factory=Figures)
    pruned: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What was said to ``warn``, in order (as :attr:`indexer.build.BuildResult.warnings`)."""


def update(
    inputs: Iterable[str],
    options: BuildOptions,
    *,
    now: datetime,
    progress: Progress | None = None,
    warn: Warn | None = None,
) -> UpdateResult:
    """Add the inputs to the published generation's posts and publish the result.

    As :func:`indexer.build.build`: ``warn`` receives the warnings, and new inputs
    that hold rows but not one that could be read fail the update (nothing is
    published, and they are not recorded as ingested)."""
    started = time.monotonic()
    progress = progress or Progress(enabled=False)
    warnings = Warnings(warn)
    files = expand_inputs(list(inputs), warnings, follow_symlinks=options.follow_symlinks)
    index_dir = IndexDir(options.index_dir)
    with index_dir.lock():
        index_dir.clean_abandoned()
        parent_dir = index_dir.require_current()
        parent = checked_parent(parent_dir, "update needs")
        digests = {f: sha256_of(f) for f in files}
        fresh, skipped = split_ingested(files, digests, parent)
        if not fresh:
            return UpdateResult(
                parent, parent_dir, published=False, skipped=skipped, warnings=warnings.lines
            )
        try:
            with index_dir.building(now) as (generation, work):
                manifest, figures = _update_into(
                    work,
                    generation,
                    parent_dir,
                    parent,
                    fresh,
                    digests,
                    options,
                    now,
                    progress,
                    warnings,
                )
                manifest.seconds = round(time.monotonic() - started, 3)
                (work / MANIFEST_FILE).write_bytes(encode_manifest(manifest))
                final = index_dir.publish(work, generation)
        finally:
            progress.close()
        pruned = index_dir.prune(options.keep)
    return UpdateResult(manifest, final, True, skipped, figures, pruned, warnings.lines)


def split_ingested(
    files: list[Path], digests: dict[Path, str], parent: Manifest
) -> tuple[list[Path], list[Skipped]]:
    """The files to read, and those whose content (sha256) the parent already ingested."""
    known = {s.sha256 for s in parent.sources}
    fresh = [f for f in files if digests[f] not in known]
    skipped = [Skipped(f, digests[f]) for f in files if digests[f] in known]
    return fresh, skipped


def _update_into(
    work: Path,
    generation: str,
    parent_dir: Path,
    parent: Manifest,
    files: list[Path],
    digests: dict[Path, str],
    options: BuildOptions,
    now: datetime,
    progress: Progress,
    warn: Warn,
) -> tuple[Manifest, Figures]:
    """Write the new generation into ``work``; its manifest is returned, not written."""
    spool = work / SPOOL
    (spool / "posts" / "new").mkdir(parents=True)
    clock = StageClock()
    first_seq = parent.read - parent.rejected
    read = _read_new(files, digests, options, work, first_seq, progress, warn)
    clock.lap("read")

    progress.stage("dedup")
    new = _dedup(parent_dir, parent, spool, read)
    clock.lap("dedup")

    progress.stage("index", new.posts.height)
    indexed = _index(parent_dir, work, new.posts.lazy(), new.gone, options, progress)
    clock.lap("index")

    progress.stage("rollups")
    stats = _write_tables(work, generation, parent_dir, parent, new)
    _write_rejects(parent_dir / REJECTS_FILE, work / NEW_REJECTS, work / REJECTS_FILE)
    shutil.rmtree(spool)
    clock.lap("rollups")

    figures = _figures(read, new)
    expected = parent.posts - new.gone.height + new.posts.height
    if not (stats.posts == indexed == expected and figures.duplicates >= 0):
        raise IndexerError(
            f"internal error: {stats.posts} posts in tables, {indexed} in tantivy, "
            f"{expected} expected"
        )
    return _manifest(generation, now, parent, read, new.effects, stats, clock), figures


def _read_new(
    files: list[Path],
    digests: dict[Path, str],
    options: BuildOptions,
    work: Path,
    first_seq: int,
    progress: Progress,
    warn: Warn,
) -> ReadResult:
    """Read the new inputs into the spool (numbered from ``first_seq``), here or on Ray."""
    new_spool = work / SPOOL / "posts" / "new"
    if options.ray is not None:
        from indexer import distributed  # Ray only when asked

        with distributed.connected(options.ray) as ray:
            return distributed.read_into_spool(
                files,
                options,
                work.absolute(),  # workers may run elsewhere
                work.absolute() / NEW_REJECTS,
                new_spool.absolute(),
                progress,
                warn,
                ray,
                first_seq=first_seq,
                digests=digests,
            )

    def sink(posts: pl.DataFrame, name: str) -> None:
        spool_batch(posts, new_spool, name)

    return read_inputs(
        files,
        options,
        work / NEW_REJECTS,
        work / SPOOL,
        sink,
        progress,
        first_seq=first_seq,
        digests=digests,
        stage="read",
        warn=warn,
    )


@dataclass
class _NewPosts:
    """What the update's dedup decided (:func:`_dedup`)."""

    posts: pl.DataFrame
    """The surviving new posts, one per uid."""
    replaced: int
    """Of those, how many replace a post of the parent."""
    gone: pl.DataFrame
    """``uid`` of the parent's posts that leave: replaced or deleted."""
    effects: DeleteEffects


def _dedup(parent_dir: Path, parent: Manifest, spool: Path, read: ReadResult) -> _NewPosts:
    deleted = read.deletes["uid"].unique()
    published = held_by(parent_dir, parent.splits, deleted).to_frame().lazy()
    effects = delete_effects(spooled_copies(spool), read.deletes, published)
    new_posts = _new_posts(spool, effects).collect()
    replaced = held_by(parent_dir, parent.splits, new_posts["uid"]).to_frame()
    gone = pl.concat([replaced.select("uid"), effects.published]).unique()
    return _NewPosts(new_posts, replaced.height, gone, effects)


def _write_tables(
    work: Path, generation: str, parent_dir: Path, parent: Manifest, new: _NewPosts
) -> Stats:
    """The parent's tables with the new posts added, a day at a time, and the gone taken away."""
    by_day = {
        day: part
        for (day,), part in new.posts.select(POST_COLUMNS)
        .with_columns(_day=pl.col("created_at").dt.date())
        .partition_by("_day", as_dict=True, include_key=False)
        .items()
    }
    changes = Changes(days=sorted(by_day), posts_of=lambda day: by_day[day], gone=new.gone["uid"])
    return write_tables(work, generation, parent_dir, parent.splits, changes)


def _figures(read: ReadResult, new: _NewPosts) -> Figures:
    effects = new.effects
    return Figures(
        read=read.read,
        added=new.posts.height - new.replaced,
        replaced=new.replaced,
        duplicates=read.accepted - new.posts.height - (effects.matched - effects.matched_published),
        rejected=sum(s.rejected for s in read.sources),
        deleted=effects.matched,
        deleted_published=effects.matched_published,
        deletes_unmatched=effects.unmatched,
        skipped=read.skipped,
    )


def _manifest(
    generation: str,
    now: datetime,
    parent: Manifest,
    read: ReadResult,
    effects: DeleteEffects,
    stats: Stats,
    clock: StageClock,
) -> Manifest:
    """The new generation's manifest: the parent's totals plus the update's."""
    total_read = parent.read + read.read
    total_rejected = parent.rejected + sum(s.rejected for s in read.sources)
    total_deleted = parent.deleted + effects.matched
    return Manifest(
        generation=generation,
        schema_version=SCHEMA_VERSION,
        built_at=now.astimezone(UTC),
        posts=stats.posts,
        tags=stats.tags,
        read=total_read,
        duplicates=total_read - total_rejected - total_deleted - stats.posts,
        rejected=total_rejected,
        deleted=total_deleted,
        deletes_unmatched=parent.deletes_unmatched + effects.unmatched,
        skipped=parent.skipped + read.skipped,
        from_=stats.first,
        to=stats.last,
        sources=[*parent.sources, *read.sources],
        seconds=0.0,
        stage_seconds=clock.seconds,
        stage_peak_rss_mib=clock.peak_rss_mib,
        parent=parent.generation,
        splits=stats.splits,
    )


def _new_posts(spool: Path, effects: DeleteEffects) -> pl.LazyFrame:
    """The spooled new posts, one per uid (the highest ``_seq``: the later copy), but
    those a later delete event removes."""
    if not any((spool / "posts" / "new").iterdir()):
        schema = {
            **POST_SCHEMA,
            "tags": pl.List(pl.String()),
            "written": pl.List(pl.String()),
            "_seq": pl.Int64(),
        }
        return pl.LazyFrame(schema=schema).select(SPOOL_COLUMNS)
    losers = pl.concat([rollups.losers(spool), effects.removed])
    posts = pl.scan_parquet(spool / "posts" / "new" / "*.parquet")
    return posts.join(losers.lazy(), on="_seq", how="anti") if losers.height else posts


def held_by(parent_dir: Path, splits: list[SplitInfo], uids: pl.Series) -> pl.Series:
    """The ``uids`` the parent generation holds (see :func:`~indexer.globals.held_by_day`)."""
    held = held_by_day(parent_dir, splits, uids).values()
    found: pl.Series = pl.concat([pl.Series("uid", [], dtype=pl.String()), *held])
    return found.rename("uid")


def _index(
    parent_dir: Path,
    work: Path,
    new_posts: pl.LazyFrame,
    gone: pl.DataFrame,
    options: BuildOptions,
    progress: Progress,
) -> int:
    """The parent's tantivy index, linked into ``work``, minus the ``gone`` posts (replaced
    or deleted), plus the new ones; one commit. Returns the documents it holds."""
    link_posts_index(parent_dir / POSTS_INDEX_DIR, work / POSTS_INDEX_DIR)
    index = open_posts_index(work)
    writer = index.writer(heap_size=options.writer_heap_bytes, num_threads=options.writer_threads)
    # Deletes first: a delete applies to the documents added before it (by opstamp),
    # so the new copies, added after, survive it.
    for uid in gone["uid"]:
        writer.delete_documents_by_term(F_UID, uid)
    done = 0
    with TantivyFeeder(writer, work) as feeder:
        for batch in new_posts.collect_batches(chunk_size=options.batch_rows):
            feeder.put(tantivy_json_lines(batch))
            done += batch.height
            progress.update(done, done)
    commit(writer, work)
    index.reload()
    return index.searcher().num_docs


def _write_rejects(old: Path, new: Path, out: Path) -> None:
    """``out`` = the parent's rejects, then this update's (the parent's file is not touched)."""
    shutil.copyfile(old, out)
    with open(out, "ab") as dst, open(new, "rb") as src:
        shutil.copyfileobj(src, dst, 1 << 20)
    new.unlink()
