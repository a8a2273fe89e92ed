"""The first pass of a build or update: every row of the input files read, validated,
tagged and numbered, in order.

Each file is decoded by :mod:`indexer.ingest` (canonical or native formats), its rows
checked by :mod:`indexer.validate` (rejects to the rejects file, with file, line and
reason), tagged (:mod:`indexer.tagging`) and numbered with a global ``_seq`` (later input
higher), and each batch of accepted posts handed to a sink (the build spools its table
rows and feeds tantivy). Delete events and native records skipped are counted per file."""

from __future__ import annotations

import bisect
import contextlib
import functools
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from indexer.dedup import DELETES_SCHEMA
from indexer.errors import InputError
from indexer.formats.detect import detect_format
from indexer.ingest import RawBatch, read_batches
from indexer.inputs import Warn
from indexer.options import BuildOptions
from indexer.progress import Progress, plural
from indexer.rejects import RejectsWriter
from indexer.schema import SourceInfo
from indexer.sources import sha256_of, track_reads
from indexer.tagging import post_tags
from indexer.validate import validate


class Warnings:
    """Collects warnings and hands each on to a ``warn`` callback as it comes."""

    def __init__(self, warn: Warn | None) -> None:
        self.lines: list[str] = []
        self._warn = warn

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if self._warn is not None:
            self._warn(line)


BatchSink = Callable[[pl.DataFrame, str], None]
"""Receives each batch of accepted posts (:func:`read_inputs`) and a name for its spool file."""


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
    fmt = options.format or detect_format(path)
    tally = _FileTally(first_seq)
    with track_reads(path) as position:
        for batch in read_batches(path, fmt, scratch, options.read_options()):
            posts, bad, found = check_batch(batch, options.platform)
            rejects.write(name, found)
            tally.add(batch, posts, bad, found, sink)
            moved(position.bytes, tally.rows)
    source = SourceInfo(
        path=name,
        format=fmt,
        bytes=path.stat().st_size,
        sha256=digest if isinstance(digest, str) else digest.result(),
        rows=tally.rows,
        rejected=tally.rejected,
        deletes=len(tally.deleted_uids),
        skipped=by_count(tally.skipped),
        notes=by_count(tally.notes),
    )
    return tally.result(path, source)


@dataclass
class _FileTally:
    """What one file's batches added up to, while it is read (:func:`read_file`)."""

    first_seq: int
    rows: int = 0
    rejected: int = 0
    accepted: int = 0
    deleted_uids: list[str] = field(default_factory=list)
    deleted_at: list[int] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    first_reject: tuple[int, str] | None = None

    def add(
        self,
        batch: RawBatch,
        posts: pl.DataFrame,
        bad: pl.DataFrame,
        found: list[tuple[int, str, str]],
        sink: BatchSink,
    ) -> None:
        """Count a checked batch, note its delete events, and hand its posts, numbered and
        tagged, to ``sink``."""
        self.rows += batch.rows.height + len(batch.rejects)
        self.rejected += len(found)
        if found and self.first_reject is None:
            self.first_reject = found[0][:2]
        self.skipped.update(batch.skipped)
        self.notes.update(batch.notes)
        seq = self.first_seq + self.accepted
        if batch.deletes:
            before = _accepted_before(batch, bad)
            for line, uid in batch.deletes:
                self.deleted_uids.append(uid)
                self.deleted_at.append(seq + before(line))
        if posts.height:
            sink(tag_posts(posts, seq, self.notes), f"{seq:012d}.parquet")
            self.accepted += posts.height

    def result(self, path: Path, source: SourceInfo) -> FileRead:
        deletes = {"uid": self.deleted_uids, "_at": self.deleted_at}
        every_row_rejected = self.rows and self.rejected == self.rows
        return FileRead(
            source=source,
            accepted=self.accepted,
            skipped=self.skipped.total(),
            deletes=pl.DataFrame(deletes, schema=DELETES_SCHEMA),
            all_rejected=AllRejected(path, self.rows, *self.first_reject)
            if every_row_rejected and self.first_reject is not None
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


def by_count(counts: Counter[str]) -> dict[str, int]:
    """Counts as a dict, most frequent first (then by name): for the manifest."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _accepted_before(batch: RawBatch, bad: pl.DataFrame) -> Callable[[int], int]:
    """``line`` -> how many of the batch's accepted rows come before that line (the
    accepted rows are the batch's rows but the validator's rejects ``bad``)."""
    lines = batch.rows["_line"].sort().to_list()
    bad_lines = bad["_line"].sort().to_list()
    return lambda line: bisect.bisect_left(lines, line) - bisect.bisect_left(bad_lines, line)


def check_batch(
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
