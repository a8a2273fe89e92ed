"""``hashtag-index build``: inputs in, one exact, published generation out.

One streaming pass, then two short ones; memory is bounded by the batch size
(or by the number of distinct keys, never by the text):

1. read+index  each file in order (:func:`read_inputs`, shared with
               ``update``): decode and validate rows (rejects to the rejects
               file), tag each post (tag keys and their spellings), number it
               with a global ``_seq`` (later input = higher ``_seq``), spool its
               table rows, and hand its tantivy document to a feeder thread
               (tantivy indexes while polars prepares the next batch);
2. dedup       per identity ``uid = platform:id``, every copy but the one with
               the highest ``_seq`` loses, and so does every copy read before a
               delete event of its uid (:func:`delete_effects`); losers are
               deleted from tantivy by ``_seq`` before the one commit;
3. rollups     polars turns the spools, minus the losers, into the tables;
then the manifest is written and the generation published (indexer/publish.py).
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import functools
import queue
import resource
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import tantivy

from indexer import rollups
from indexer.errors import EmptyBuildError, IndexerError, InputError
from indexer.globals import Changes, write_tables
from indexer.ingest import DEFAULT_BATCH_ROWS, RawBatch, ReadOptions, read_batches
from indexer.progress import Progress, plural
from indexer.publish import DEFAULT_KEEP, IndexDir
from indexer.rejects import RejectsWriter
from indexer.schema import (
    COUNT_FIELDS,
    F_COMMUNITY,
    F_COMMUNITY_KEY,
    F_SEQ,
    MANIFEST_FILE,
    REJECTS_FILE,
    SCHEMA_VERSION,
    UNKNOWN_PLATFORM,
    Manifest,
    SourceInfo,
    community_key,
    encode_manifest,
    open_posts_index,
)
from indexer.sources import Warn, detect_format, expand_inputs, sha256_of, track_reads
from indexer.tagging import post_tags
from indexer.validate import validate

SPOOL = "_spool"


@dataclass
class BuildOptions:
    index_dir: Path
    format: str | None = None
    """Force this input format instead of detecting it per file."""
    platform: str = UNKNOWN_PLATFORM
    """Platform of rows that do not name one."""
    csv_delimiter: str | None = None
    """The CSV field delimiter (``--csv-delimiter``); None: detected per file."""
    follow_symlinks: bool = False
    """Follow symbolic links in input directories that lead out of them (``--follow-symlinks``)."""
    allow_empty: bool = False
    """Publish a generation of no posts (``--allow-empty``); else such a build fails."""
    batch_rows: int = DEFAULT_BATCH_ROWS
    column_map: dict[str, str] | None = None
    """Canonical field -> input column, for CSV/Parquet exports of other tools."""
    timezone: str | None = None
    """With a column map: the zone of zone-less ``created_at`` values (``--map-tz``)."""
    created_at_format: str | None = None
    """With a column map: the strftime format of ``created_at`` (``--map-time-format``)."""
    reposts: str = "count"
    """How native reposts count: "count" (the reposter's use) or "exclude"."""
    keep: int = DEFAULT_KEEP
    writer_heap_bytes: int = 160 << 20
    """tantivy's indexing memory (split between its threads). At 10M posts, 128 MiB with
    50k-row batches and a one-batch queue peaked at 1.2 GiB against 1.74 GiB for
    256 MiB, 100k and two, in less time (bench/results/2026-11-26-build.md); 160 MiB
    peaked at 1,056 MiB. At 128 MiB a 1M build of native posts (a URI as the id, a DID
    as the author: bigger terms) could end with 8 segments, which tantivy merges into
    one at the commit (about 7 s); at 160 MiB Mastodon and Bluesky end with 6, as
    canonical posts do. One writer thread with 128 MiB made fewer segments but peaked
    at 1.6 GiB at 10M."""
    writer_threads: int = 2
    ray: str | None = None
    """Run the build's tasks on this Ray cluster (``--ray``: ``local``, ``auto`` or
    ``ray://host:port``; indexer/distributed/); None: in this process."""


@dataclass
class BuildResult:
    manifest: Manifest
    generation_dir: Path
    pruned: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What was said to ``warn`` (files a directory scan passed over, files whose
    every row was rejected), in order."""


class Warnings:
    """Collects warnings and hands each on to a ``warn`` callback as it comes."""

    def __init__(self, warn: Warn | None) -> None:
        self.lines: list[str] = []
        self._warn = warn

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if self._warn is not None:
            self._warn(line)


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
                    raise empty_build_error(files, manifest)
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
    spool = work / SPOOL
    for sub in rollups.SPOOLS:
        (spool / sub).mkdir(parents=True)
    clock = StageClock()
    if options.ray is not None:
        from indexer.distributed.build import read_dedup_index

        read, losers, effects, tasks = read_dedup_index(
            files, options, work, spool, progress, warn, clock
        )
    else:
        index = open_posts_index(work, create=True)
        writer = index.writer(
            heap_size=options.writer_heap_bytes, num_threads=options.writer_threads
        )
        with TantivyFeeder(writer, work) as feeder:

            def sink(posts: pl.DataFrame, name: str) -> None:
                feeder.put(tantivy_json_lines(posts))
                rollups.write_batch(posts, spool, name)

            read = read_inputs(
                files, options, work / REJECTS_FILE, spool, sink, progress, warn=warn
            )
        clock.lap("read+index")

        progress.stage("dedup")
        effects = delete_effects(spooled_copies(spool), read.deletes)
        losers = pl.concat([rollups.losers(spool), effects.removed]).unique().sort("_seq")
        for seq in losers["_seq"]:
            writer.delete_documents_by_term(F_SEQ, seq)
        commit(writer, work)
        clock.lap("dedup+commit")
        tasks = None
    duplicates = losers.height - effects.matched

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

    rejected = sum(s.rejected for s in read.sources)
    manifest = Manifest(
        generation=generation,
        schema_version=SCHEMA_VERSION,
        built_at=now.astimezone(UTC),
        posts=stats.posts,
        tags=stats.tags,
        read=read.read,
        duplicates=duplicates,
        rejected=rejected,
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
    indexed = open_posts_index(work).searcher().num_docs
    expected = read.accepted - duplicates - effects.matched
    events = read.deletes.height
    if not (
        stats.posts == indexed == expected
        and duplicates >= 0
        and effects.matched + effects.unmatched == events == sum(s.deletes for s in read.sources)
    ):
        raise IndexerError(
            f"internal error: {stats.posts} posts in tables, {indexed} in tantivy, "
            f"{expected} expected ({effects.matched} + {effects.unmatched} of {events} deletes)"
        )
    (work / MANIFEST_FILE).write_bytes(encode_manifest(manifest))
    return manifest


def empty_build_error(files: list[Path], manifest: Manifest) -> EmptyBuildError:
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


class StageClock:
    """Wall time (s) and the process's peak RSS (MiB) at the end of each stage, for the manifest."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_rss_mib: dict[str, int] = {}
        self._last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self._last, 3)
        self.peak_rss_mib[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        self._last = now


LOW_SPACE_BYTES = 64 << 20
"""Below this much free space, a failed tantivy write is reported as a full disk."""


def tantivy_failure(what: str, error: BaseException, directory: Path) -> IndexerError:
    """tantivy reports I/O failures opaquely ("an index writer was killed"): name a full
    disk when that is what it is, else pass tantivy's words on."""
    free = shutil.disk_usage(directory).free
    if free < LOW_SPACE_BYTES:
        return IndexerError(
            f"no space left on device for {directory.parent} ({free // 1024} KiB free): "
            f"tantivy failed at {what}"
        )
    return IndexerError(f"tantivy failed at {what}: {error}")


def commit(writer: tantivy.IndexWriter, work: Path) -> None:
    """Commit the one writer of a build and let its merges finish (consumes the writer)."""
    try:
        writer.commit()
        writer.wait_merging_threads()
    except Exception as e:
        raise tantivy_failure("the commit", e, work) from e
    release_freed_memory()


def release_freed_memory() -> None:
    """Hand the C heap's free pages back to the system.

    glibc keeps what tantivy's writer threads freed: after 1M documents about
    400 MB stayed resident, and the rollups that follow would add to it."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class TantivyFeeder:
    """Adds documents to the tantivy writer on a thread of its own, so that
    polars can prepare the next batch meanwhile. A bounded queue keeps memory
    flat; an error in the thread is raised in the caller at the next put or exit.
    """

    def __init__(self, writer: tantivy.IndexWriter, directory: Path, depth: int = 1) -> None:
        self._writer = writer
        self._directory = directory
        self._queue: queue.Queue[list[str] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tantivy-feeder", daemon=True)

    def _run(self) -> None:
        add_json = self._writer.add_json
        while (docs := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain without work so the producer never blocks forever
            try:
                for doc in docs:
                    add_json(doc)
            except BaseException as e:
                self._error = e

    def put(self, docs: list[str]) -> None:
        self._raise_if_failed()
        self._queue.put(docs)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise tantivy_failure("adding a document", self._error, self._directory)

    def __enter__(self) -> TantivyFeeder:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if exc_type is None:
            self._raise_if_failed()


BatchSink = Callable[[pl.DataFrame, str], None]
"""Receives each batch of accepted posts (:func:`read_inputs`) and a name for its spool file."""


DELETES_SCHEMA: dict[str, pl.DataType] = {"uid": pl.String(), "_at": pl.Int64()}
"""Delete events: the uid, and ``_at``, the ``_seq`` the next accepted row would get
(every copy with a lower ``_seq`` was read before the event)."""


@dataclass
class ReadResult:
    sources: list[SourceInfo]
    read: int
    """Rows read (accepted + rejected)."""
    accepted: int
    """Rows accepted (duplicates included): they got ``_seq`` first_seq .. first_seq+accepted-1."""
    deletes: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DELETES_SCHEMA))
    """The delete events read (:data:`DELETES_SCHEMA`), in input order."""
    skipped: int = 0
    """Native records skipped as not posts (not rows)."""


def read_inputs(
    files: list[Path],
    options: BuildOptions,
    rejects_path: Path,
    scratch: Path,
    sink: BatchSink,
    progress: Progress,
    *,
    first_seq: int = 0,
    digests: dict[Path, str] | None = None,
    stage: str = "index",
    warn: Warn | None = None,
) -> ReadResult:
    """Read, validate and tag every row of ``files``, in order; write the rejects to
    ``rejects_path``; hand each batch of accepted posts to ``sink``.

    A batch has the :data:`~indexer.validate.POST_SCHEMA` columns plus ``_seq``
    (numbered from ``first_seq``, later input higher), ``tags`` (tag keys in order
    of appearance) and ``written`` (their first spelling in the post).
    ``digests`` are sha256 already computed by the caller (not computed again).

    Rows read but not one accepted, over all the files, is an :class:`InputError`
    naming the files and their first reject reasons (typically a file of another
    format read as canonical NDJSON): the caller publishes nothing. A file whose
    every row was rejected among files with posts is a line to ``warn``."""
    progress.stage(stage, sum(f.stat().st_size for f in files))
    reads: list[FileRead] = []
    done_bytes = done_rows = accepted = 0
    # A file's sha256 is computed on a thread while the file is read (hashlib lets go
    # of the GIL): a second pass over a 1.6 GB export cost a second before its read.
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
    with RejectsWriter(rejects_path) as rejects, contextlib.ExitStack() as stop:
        stop.callback(hasher.shutdown, wait=False, cancel_futures=True)
        for path in files:
            known = (digests or {}).get(path)
            digest = known if known is not None else hasher.submit(sha256_of, path)
            moved = functools.partial(_moved, progress, done_bytes, done_rows)
            one = read_file(
                path, options, rejects, scratch, sink, first_seq + accepted, digest, moved
            )
            reads.append(one)
            accepted += one.accepted
            done_bytes += one.source.bytes
            done_rows += one.source.rows
            progress.update(done_bytes, done_rows)
    return combine_reads(reads, warn)


def _moved(progress: Progress, base_bytes: int, base_rows: int, done: int, rows: int) -> None:
    progress.update(base_bytes + done, base_rows + rows)


@dataclass
class FileRead:
    """What reading one input file gave (:func:`read_file`)."""

    source: SourceInfo
    accepted: int
    """Rows accepted: they got ``_seq`` first_seq .. first_seq+accepted-1."""
    skipped: int
    deletes: pl.DataFrame
    """The file's delete events (:data:`DELETES_SCHEMA`), in input order."""
    all_rejected: AllRejected | None
    """Set if the file had rows and every one was rejected."""


def read_file(
    path: Path,
    options: BuildOptions,
    rejects: RejectsWriter,
    scratch: Path,
    sink: BatchSink,
    first_seq: int,
    digest: str | Future[str],
    moved: Callable[[int, int], None],
    *,
    name: str | None = None,
) -> FileRead:
    """Read, validate and tag every row of one file (see :func:`read_inputs`), numbering
    its accepted rows from ``first_seq``; ``moved(bytes, rows)`` follows the reading.
    ``name``: how the manifest and the rejects name the file (default: ``path``)."""
    name = str(path) if name is None else name
    read = ReadOptions(
        batch_rows=options.batch_rows,
        column_map=options.column_map,
        reposts=options.reposts,
        timezone=options.timezone,
        created_at_format=options.created_at_format,
        csv_delimiter=options.csv_delimiter,
    )
    fmt = options.format or detect_format(path)
    rows = rejected = accepted = 0
    deleted_uids: list[str] = []
    deleted_at: list[int] = []
    skipped: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    first_reject: tuple[int, str] | None = None
    with track_reads(path) as position:
        for batch in read_batches(path, fmt, scratch, read):
            posts, bad, found = _check_batch(batch, options.platform)
            rejects.write(name, found)
            rows += batch.rows.height + len(batch.rejects)
            rejected += len(found)
            if found and first_reject is None:
                first_reject = found[0][:2]
            skipped.update(_counts(batch, "skipped"))
            notes.update(_counts(batch, "notes"))
            seq = first_seq + accepted
            if batch.deletes:
                before = _accepted_before(batch, bad)
                for line, uid in batch.deletes:
                    deleted_uids.append(uid)
                    deleted_at.append(seq + before(line))
            if posts.height:
                sink(tag_posts(posts, seq, notes), f"{seq:012d}.parquet")
                accepted += posts.height
            moved(position.bytes, rows)
    source = SourceInfo(
        path=name,
        format=fmt,
        bytes=path.stat().st_size,
        sha256=digest if isinstance(digest, str) else digest.result(),
        rows=rows,
        rejected=rejected,
        deletes=len(deleted_uids),
        skipped=by_count(skipped),
        notes=by_count(notes),
    )
    every_row_rejected = rows and rejected == rows and first_reject is not None
    return FileRead(
        source=source,
        accepted=accepted,
        skipped=skipped.total(),
        deletes=pl.DataFrame({"uid": deleted_uids, "_at": deleted_at}, schema=DELETES_SCHEMA),
        all_rejected=AllRejected(path, rows, *first_reject)
        if every_row_rejected and first_reject is not None
        else None,
    )


def combine_reads(reads: list[FileRead], warn: Warn | None) -> ReadResult:
    """The files' reads, in input order, as one: an :class:`InputError` if rows were read
    but not one accepted; a line to ``warn`` for each file whose every row was rejected."""
    all_rejected = [r.all_rejected for r in reads if r.all_rejected is not None]
    result = ReadResult(
        sources=[r.source for r in reads],
        read=sum(r.source.rows for r in reads),
        accepted=sum(r.accepted for r in reads),
        deletes=pl.concat(
            [pl.DataFrame(schema=DELETES_SCHEMA), *(r.deletes for r in reads)], how="vertical"
        ),
        skipped=sum(r.skipped for r in reads),
    )
    if result.read and not result.accepted:
        raise no_posts_error(all_rejected)
    for bad_file in all_rejected:
        if warn is not None:
            warn(f"{bad_file}; the other inputs were indexed")
    return result


@dataclass
class AllRejected:
    """An input whose every row was rejected: how many, and the first reject."""

    path: Path
    rows: int
    line: int
    reason: str

    def __str__(self) -> str:
        reason = self.reason if len(self.reason) <= 120 else self.reason[:119] + "…"
        if self.rows == 1:
            return f"{self.path}: its one row rejected, at line {self.line}: {reason}"
        return (
            f"{self.path}: all {self.rows} rows rejected, the first at line {self.line}: {reason}"
        )


NO_POSTS_SHOWN = 3
"""How many of the inputs the error of a build without a post names."""


def no_posts_error(all_rejected: list[AllRejected]) -> InputError:
    """The error of a build or update whose inputs held rows but not one post."""
    shown = "; ".join(str(a) for a in all_rejected[:NO_POSTS_SHOWN])
    more = len(all_rejected) - NO_POSTS_SHOWN
    if more > 0:
        shown += f"; and {plural(more, 'more input')}"
    return InputError(
        f"no post to index, every row read was rejected ({shown}); nothing was published"
    )


def _counts(batch: RawBatch, name: str) -> Counter[str]:
    """A native batch's ``skipped`` or ``notes`` (:class:`~indexer.native.reader.NativeBatch`);
    nothing for a canonical batch."""
    counts: Counter[str] | None = getattr(batch, name, None)
    return counts if counts is not None else Counter()


def by_count(counts: Counter[str]) -> dict[str, int]:
    """Counts as a dict, most frequent first (then by name): for the manifest."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _accepted_before(batch: RawBatch, bad: pl.DataFrame) -> Callable[[int], int]:
    """``line`` -> how many of the batch's accepted rows come before that line (the
    accepted rows are the batch's rows but the validator's rejects ``bad``)."""
    lines = batch.rows["_line"].sort().to_list()
    bad_lines = bad["_line"].sort().to_list()
    return lambda line: bisect.bisect_left(lines, line) - bisect.bisect_left(bad_lines, line)


@dataclass
class DeleteEffects:
    """What the delete events of a build or update do (:func:`delete_effects`)."""

    removed: pl.DataFrame
    """``_seq`` of the spooled copies a later delete event removes."""
    matched: int = 0
    """Events that removed a post: a copy of it was read since its previous delete event."""
    unmatched: int = 0
    """Events of a post that was not there (never read, or already deleted)."""
    published: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"uid": pl.String()})
    )
    """uids of the parent generation's posts removed by an event (update only)."""
    matched_published: int = 0
    """Of ``matched``, the events that removed a post of the parent generation."""


def spooled_copies(spool: Path) -> pl.LazyFrame:
    """``uid, _seq`` of every spooled post."""
    everything = rollups.spooled(spool)
    if everything is None:
        return pl.LazyFrame(schema={"uid": pl.String(), "_seq": pl.Int64()})
    return everything.select("uid", "_seq")


def delete_effects(
    copies: pl.LazyFrame, deletes: pl.DataFrame, published: pl.LazyFrame | None = None
) -> DeleteEffects:
    """Apply delete events (:data:`DELETES_SCHEMA`) to the copies read (``uid, _seq``).

    An event at ``_at`` removes every copy of its uid with ``_seq < _at`` (read before
    it); a copy read after it survives. In an update, ``published`` (``uid``: the
    parent's posts) are the copies read before any new event. An event is ``matched``
    when the last thing seen of its uid before it is a copy (not nothing, not another
    delete): so ``posts = accepted - duplicates - matched`` where ``duplicates`` are the
    copies superseded by a later copy with no delete in between.
    """
    removed_schema = {"_seq": pl.Int64()}
    if deletes.height == 0:
        return DeleteEffects(pl.DataFrame(schema=removed_schema))
    uids = deletes.select("uid").unique()
    hit = (
        copies.join(uids.lazy(), on="uid", how="semi")
        .select("uid", pos=pl.col("_seq"), kind=pl.lit(1, dtype=pl.Int8()))
        .collect()
    )
    events = [
        hit,
        deletes.select("uid", pos=pl.col("_at"), kind=pl.lit(0, dtype=pl.Int8())),
    ]
    old = pl.DataFrame(schema={"uid": pl.String()})
    if published is not None:
        old = published.join(uids.lazy(), on="uid", how="semi").select("uid").collect()
        events.append(old.select("uid", pos=pl.lit(-1, pl.Int64()), kind=pl.lit(1, pl.Int8())))
    # At one position a delete (kind 0) comes before the copy (kind 1) read after it.
    ordered = pl.concat(events).sort("uid", "pos", "kind")
    ordered = ordered.with_columns(
        prev_kind=pl.col("kind").shift(1).over("uid"),
        prev_pos=pl.col("pos").shift(1).over("uid"),
    )
    matched = ordered.filter((pl.col("kind") == 0) & (pl.col("prev_kind") == 1))
    last_delete = deletes.group_by("uid").agg(pl.col("_at").max())
    removed = (
        hit.join(last_delete, on="uid")
        .filter(pl.col("pos") < pl.col("_at"))
        .select(_seq=pl.col("pos"))
        .sort("_seq")
    )
    return DeleteEffects(
        removed=removed,
        matched=matched.height,
        unmatched=deletes.height - matched.height,
        published=old,
        matched_published=matched.filter(pl.col("prev_pos") == -1).height,
    )


def _check_batch(
    batch: RawBatch, platform: str
) -> tuple[pl.DataFrame, pl.DataFrame, list[tuple[int, str, str]]]:
    """The batch's accepted posts, the validator's rejects (``_line, reason, _raw``),
    and all its rejects as (line, reason, raw) by line."""
    posts, bad = validate(batch.rows, platform)
    found = batch.rejects + [
        (line, reason, batch.raw(line) or raw) for line, reason, raw in bad.iter_rows()
    ]
    found.sort(key=lambda r: r[0])
    return posts, bad, found


def tag_posts(
    posts: pl.DataFrame, first_seq: int, notes: Counter[str] | None = None
) -> pl.DataFrame:
    """Number the posts from ``first_seq`` and give each its ``tags`` and ``written`` lists
    (rows whose own tag list lost a tag that is not a hashtag counted in ``notes``)."""
    posts = posts.with_columns(
        _seq=pl.int_range(first_seq, first_seq + posts.height, dtype=pl.Int64())
    )
    keys = (
        post_tags(posts, notes)
        .group_by("_seq", maintain_order=True)
        .agg(pl.col("tag").alias("tags"), pl.col("written"))
    )
    return posts.join(keys, on="_seq", how="left", maintain_order="left").with_columns(
        pl.col("tags").fill_null([]), pl.col("written").fill_null([])
    )


_DOC_COLUMNS = (
    "uid",
    "platform",
    "created_at",
    "author",
    "text",
    "lang",
    *COUNT_FIELDS,
    "engagement",
    "tags",
    "_seq",
    F_COMMUNITY,
    F_COMMUNITY_KEY,
)


def tantivy_json_lines(posts: pl.DataFrame) -> list[str]:
    """One JSON document per post, in the posts index's schema, made by polars.

    ``IndexWriter.add_json`` on these measured ~1.5x faster than building
    ``Document.from_dict`` objects row by row in Python. Every value is
    typed by polars (``POST_SCHEMA``), so no value can poison the writer.
    """
    frame = posts.with_columns(
        pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
        _zero_or_one(pl.col("community")).alias(F_COMMUNITY),
        _zero_or_one(community_keys(posts["community"])).alias(F_COMMUNITY_KEY),
    ).select(_DOC_COLUMNS)
    return frame.write_ndjson().splitlines()


def _zero_or_one(value: pl.Expr | pl.Series) -> pl.Expr:
    """A value as a list of itself, or an empty list for null: tantivy rejects a null
    value, and takes an empty list as no value. (``when`` is ~30x faster than
    ``concat_list(...).list.drop_nulls()`` here.)"""
    expr = value if isinstance(value, pl.Expr) else pl.lit(value)
    return (
        pl.when(expr.is_null())
        .then(pl.lit([], dtype=pl.List(pl.String())))
        .otherwise(pl.concat_list(expr))
    )


def community_keys(communities: pl.Series) -> pl.Series:
    """:func:`~indexer.schema.community_key` of each value (null stays null), computed
    once per distinct value: a batch holds few communities."""
    distinct = communities.drop_nulls().unique()
    keys = [community_key(c) for c in distinct]
    return communities.replace_strict(distinct, keys, default=None, return_dtype=pl.String())
