"""``--ray ADDRESS``: a build's reading, indexing and splits as Ray tasks, by the local
build's code (and an update's reading, and compact's rewrites).

Ray is optional (``pip install 'hashtag-index[ray]'``) and imported only here, only
when ``--ray`` is given. Against the local build (indexer/build.py), stage by stage:

1. read+index  one task per byte range of a big uncompressed JSON-lines file (cut
               at line ends), per file, or per run of small files (:func:`plan_tasks`)
               runs :func:`~indexer.build.read_file` (the local build's own reader,
               validator and tagger) into a tantivy index and a spool of its own,
               under the generation being built. The n-th task's accepted rows are
               numbered from ``n << SEQ_SHIFT``:
               ordered and unique as the local build's, so "the later copy wins"
               and "a delete removes the copies read before it" mean the same.
               The driver concatenates the rejects in input order and joins the
               tasks' tantivy segments into the generation's index
               (indexer/segments.py), without re-indexing a document.
2. dedup       on the driver, the local build's code over the joined spool.
3. rollups     each day's posts are read from the spool by a task for its vocabulary
               (tag keys, authors, platforms, languages), which the driver numbers in
               day order as the local build does; then each day's split is written by
               a task with the local build's :func:`~indexer.globals.write_new_day`
               (:class:`RayDays`), and the driver adds their sums up into the
               generation-wide tables as the local build does.

``update --ray`` runs stage 1 only, without tantivy (:func:`read_into_spool`: an update
indexes the posts that survive its dedup itself, and its other work follows the new
data), and ``compact --ray`` rewrites each patched day as a task (:func:`rewrite_days`).

Every task writes into the generation directory under construction, so on a cluster
the index directory must be storage that every node sees (NFS, a shared volume).
A task is idempotent (it clears what an earlier attempt of it left), so Ray may retry
it after a lost worker; an error of the input (a bad file) is not retried, and any
failure leaves the published generation as it was: the driver publishes only at the end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import IO, Any

import msgspec
import polars as pl

from indexer import rollups
from indexer.build import (
    BuildOptions,
    DeleteEffects,
    FileRead,
    ReadResult,
    TantivyFeeder,
    by_count,
    combine_reads,
    commit,
    delete_effects,
    read_file,
    tantivy_json_lines,
)
from indexer.compact import DayIds, rewrite_patched
from indexer.errors import IndexerError
from indexer.globals import DayWritten, Ids, Vocabulary, vocabulary, write_new_day
from indexer.progress import Progress
from indexer.rejects import Reject, RejectsWriter
from indexer.schema import POSTS_INDEX_DIR, REJECTS_FILE, SourceInfo, open_posts_index
from indexer.segments import combine_indexes
from indexer.sources import Warn, compression_of, detect_format, reading_range, sha256_of
from indexer.splits import split_path

SEQ_SHIFT = 40
"""The i-th input's rows are numbered from ``i << SEQ_SHIFT``: room for 2^40 rows a file
and 2^23 files in tantivy's i64 ``_seq``."""

PARTS = "_ray"
"""The tasks' own directories under the generation being built (removed at the end)."""

TASK_RETRIES = 3
"""Ray's retries of a task whose worker died (a lost node, an OOM kill)."""

TASK_SECONDS: dict[str, list[float]] = {}
"""The wall seconds of each task of the last build on Ray, by kind ("read", "vocabulary",
"split"): for bench/distributed.py and the sizing model (docs/scale.md)."""


def ray_module() -> Any:
    """``ray``, or a one-line error saying how to get it."""
    try:
        import ray
    except ImportError as e:
        raise IndexerError(
            "--ray needs Ray: install the extra with pip install 'hashtag-index[ray]' "
            "(or uv sync --extra ray)"
        ) from e
    return ray


@contextmanager
def connected(address: str) -> Iterator[Any]:
    """Ray, joined to ``address`` for the duration: ``local`` starts a Ray of this
    machine's cores (stopped at the end), ``auto`` joins the cluster ``ray start``
    made, ``ray://host:port`` a remote one. Already joined (a test's session), it is
    used as it is and left running."""
    if address == "local":
        # Under `uv run`, Ray would ship the project to its workers as a package; a
        # local Ray's workers run this very interpreter, so they need none of that.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray = ray_module()
    TASK_SECONDS.clear()
    if ray.is_initialized():
        yield ray
        return
    # Ray's notes about itself at start (token auth, dashboard, packaging) are not the
    # user's business: only its errors reach the terminal.
    logger = logging.getLogger("ray")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise IndexerError(f"--ray {address}: cannot join the Ray cluster: {e}") from e
    finally:
        logger.setLevel(level)
    try:
        yield ray
    finally:
        ray.shutdown()


def gather(ray: Any, refs: Sequence[Any], done: Callable[[int, Any], None]) -> list[Any]:
    """The results of ``refs`` in their order; ``done(i, result)`` as each finishes."""
    results: list[Any] = [None] * len(refs)
    for i, result in as_finished(ray, refs):
        results[i] = result
        done(i, result)
    return results


def as_finished(ray: Any, refs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
    """``(i, result)`` of each of ``refs`` as it finishes."""
    where = {ref: i for i, ref in enumerate(refs)}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            yield where[ref], result_of(ray, ref)


def result_of(ray: Any, ref: Any) -> Any:
    """A task's result. An error of ours raised in the task is raised here as itself (one
    line for the CLI), any other as an :class:`IndexerError` naming it."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        cause = e.cause
        if isinstance(cause, IndexerError):
            raise cause from None
        raise IndexerError(f"a Ray task failed: {cause!r}") from e


def cpus(ray: Any) -> int:
    """The CPUs of the Ray cluster."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


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
    refs = [
        task.remote(str(spool), bucket, events.filter(pl.col("_b") == bucket).drop("_b"))
        for bucket in range(buckets)
    ]
    done = [result_of(ray, ref) for ref in refs]
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


SPLITTABLE = frozenset({"ndjson", "bluesky", "reddit"})
"""Formats of one record per line, with no state across lines: an uncompressed file of
one of them is read in byte ranges cut at line ends, a task each."""

MIN_RANGE_BYTES = 32 << 20
"""A file is cut into ranges of at least this many bytes (a task's own start, tantivy
writer and commit cost about a second)..."""

PACK_BYTES = MIN_RANGE_BYTES
"""Consecutive small files are read by one task, up to this many bytes."""

MAX_RANGE_BYTES = 1 << 30
"""...and at most this many (a task's tantivy part, merged at the end, is one or a few
segments of its range)."""


@dataclass(frozen=True)
class Unit:
    """One task's share of the inputs: a whole file, or bytes ``[start, end)`` of one."""

    file: int
    """The file's position among the inputs."""
    path: Path
    fmt: str
    start: int = 0
    end: int | None = None
    """None: the whole file."""


def plan_units(files: list[Path], options: BuildOptions, workers: int) -> list[Unit]:
    """The tasks' shares: each file, or for a big uncompressed file of a
    :data:`SPLITTABLE` format, ranges of it cut at line ends, about two per worker."""
    units: list[Unit] = []
    for i, path in enumerate(files):
        fmt = options.format or detect_format(path)
        size = path.stat().st_size
        if fmt not in SPLITTABLE or compression_of(path) is not None:
            units.append(Unit(i, path, fmt))
            continue
        step = min(MAX_RANGE_BYTES, max(MIN_RANGE_BYTES, -(-size // (2 * workers))))
        cuts = [0]
        with open(path, "rb") as f:
            while cuts[-1] + step < size:
                f.seek(cuts[-1] + step)
                f.readline()  # to the end of the line the cut falls in
                if f.tell() >= size:
                    break
                cuts.append(f.tell())
        if len(cuts) == 1:
            units.append(Unit(i, path, fmt))
            continue
        ends = [*cuts[1:], size]
        units.extend(Unit(i, path, fmt, a, b) for a, b in zip(cuts, ends, strict=True))
    return units


def plan_tasks(files: list[Path], options: BuildOptions, workers: int) -> list[list[Unit]]:
    """The read tasks: each a range of a big file (:func:`plan_units`), or consecutive
    whole files packed up to :data:`PACK_BYTES` (a directory of a thousand hourly
    dumps is not a thousand tasks, each with a tantivy part of its own to merge)."""
    tasks: list[list[Unit]] = []
    packed = 0
    for unit in plan_units(files, options, workers):
        size = unit.path.stat().st_size if unit.end is None else unit.end - unit.start
        whole_and_small = unit.end is None and size < PACK_BYTES
        last = tasks[-1] if tasks else None
        if (
            whole_and_small
            and last is not None
            and last[-1].end is None
            and packed + size <= PACK_BYTES
        ):
            last.append(unit)
            packed += size
        else:
            tasks.append([unit])
            packed = size if whole_and_small else PACK_BYTES
    return tasks


def read_and_index(
    files: list[Path],
    options: BuildOptions,
    work: Path,
    spool: Path,
    progress: Progress,
    warn: Warn,
    ray: Any,
) -> tuple[ReadResult, int]:
    """Stage 1 of a build on Ray: every file read, validated and tagged into ``spool`` (by
    day, and each post's ``uid, _seq`` by uid bucket for :func:`dedup`) and indexed into
    ``work``'s tantivy index (uncommitted deletes: none yet). Returns the read and the
    number of uid buckets."""
    parts = work / PARTS
    buckets = BUCKETS_PER_CPU * cpus(ray)
    read, units = read_units(
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
    combine_indexes(
        [parts / str(n) / POSTS_INDEX_DIR for n in range(units)], work / POSTS_INDEX_DIR
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
    refs = [
        remote.remote(
            n, task, options, str(parts / str(n)), str(spool), first_seq + (n << SEQ_SHIFT), buckets
        )
        for n, task in enumerate(tasks)
    ]
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
        task_reads: list[list[PartRead]] = gather(ray, refs, finished)
        TASK_SECONDS["read"] = [reads[0].seconds for reads in task_reads]
        sums = [d if isinstance(d, str) else d.result() for d in hashing]
        units = [unit for task in tasks for unit in task]
        reads = _file_reads(units, [read for each in task_reads for read in each], sums)
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)
    with open(rejects, "wb") as out:
        for n, task_read in enumerate(task_reads):
            # A task of several files reads each whole: only a range has lines before it.
            _copy_rejects(parts / str(n) / REJECTS_FILE, out, task_read[0].lines_before)
    return combine_reads(reads, warn), len(tasks)


@dataclass
class PartRead:
    """What a task read of its :class:`Unit`."""

    file: FileRead
    """As :func:`~indexer.build.read_file` tells it, lines counted from the unit's start."""
    lines: int
    """Line ends in the unit (0 for a whole file: not needed)."""
    seconds: float = 0.0
    """The task's wall time."""
    lines_before: int = 0
    """Lines of the file before the unit (set by the driver)."""


def _file_reads(units: list[Unit], reads: list[PartRead], digests: list[str]) -> list[FileRead]:
    """Each file's read, its ranges' reads summed (their line numbers made the file's)."""
    by_file: dict[int, list[tuple[Unit, PartRead]]] = {}
    for unit, read in zip(units, reads, strict=True):
        by_file.setdefault(unit.file, []).append((unit, read))
    merged = []
    for i, parts in sorted(by_file.items()):
        before = 0
        for _, read in parts:
            read.lines_before = before
            before += read.lines
        merged.append(_summed(parts, digests[i]))
    return merged


def _summed(parts: list[tuple[Unit, PartRead]], digest: str) -> FileRead:
    reads = [read for _, read in parts]
    first = reads[0].file
    skipped: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    for read in reads:
        skipped.update(read.file.source.skipped)
        notes.update(read.file.source.notes)
    rows = sum(r.file.source.rows for r in reads)
    rejected = sum(r.file.source.rejected for r in reads)
    source = SourceInfo(
        path=first.source.path,
        format=first.source.format,
        bytes=parts[0][0].path.stat().st_size,
        sha256=digest,
        rows=rows,
        rejected=rejected,
        deletes=sum(r.file.source.deletes for r in reads),
        skipped=by_count(skipped),
        notes=by_count(notes),
    )
    all_rejected = None
    if rows and rejected == rows:
        hit = next(r for r in reads if r.file.all_rejected is not None)
        assert hit.file.all_rejected is not None
        all_rejected = replace(
            hit.file.all_rejected,
            rows=rows,
            line=hit.file.all_rejected.line + hit.lines_before,
        )
    return FileRead(
        source=source,
        accepted=sum(r.file.accepted for r in reads),
        skipped=sum(r.file.skipped for r in reads),
        deletes=pl.concat([r.file.deletes for r in reads]),
        all_rejected=all_rejected,
    )


_decode_reject = msgspec.json.Decoder(Reject).decode
_encode_reject = msgspec.json.Encoder().encode


def _copy_rejects(part: Path, out: IO[bytes], lines_before: int) -> None:
    """A task's rejects onto the generation's, their line numbers made the file's."""
    with open(part, "rb") as f:
        if not lines_before:
            shutil.copyfileobj(f, out, 1 << 20)
            return
        for line in f:
            reject = _decode_reject(line)
            reject.line += lines_before
            out.write(_encode_reject(reject) + b"\n")


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
    unique). A build's (``buckets`` > 0) indexes the posts into a tantivy index under
    ``part`` too, and spools them by day (:func:`~indexer.rollups.write_batch`) and their
    ``uid, _seq`` by uid bucket (into ``spool``'s sibling :data:`UIDS`); an update's
    spools one file a batch, with the text (:data:`~indexer.update.SPOOL_COLUMNS`)."""
    from indexer.update import SPOOL_COLUMNS

    started = time.monotonic()
    own = Path(part)
    if own.exists():  # a retry: start over
        shutil.rmtree(own)
    own_spool = own / "spool"
    (own_spool / "posts").mkdir(parents=True)
    reads: list[FileRead] = []
    with contextlib.ExitStack() as stack:
        feeder = None
        if buckets:
            # One indexing thread: the tasks run side by side on the cores, and each
            # thread's segments would be merged once more when the parts are joined.
            writer = open_posts_index(own, create=True).writer(
                heap_size=options.writer_heap_bytes, num_threads=1
            )
            feeder = stack.enter_context(TantivyFeeder(writer, own))
        rejects = stack.enter_context(RejectsWriter(own / REJECTS_FILE))

        def sink(posts: pl.DataFrame, name: str) -> None:
            if feeder is None:
                posts.select(SPOOL_COLUMNS).write_parquet(
                    own_spool / "posts" / name, compression="lz4"
                )
                return
            feeder.put(tantivy_json_lines(posts))
            rollups.write_batch(posts, own_spool, name)
            keys = posts.select("uid", "_seq", _b=uid_bucket(pl.col("uid"), buckets))
            for (bucket,), part in keys.partition_by("_b", as_dict=True).items():
                directory = own_spool / UIDS / str(bucket)
                directory.mkdir(parents=True, exist_ok=True)
                part.drop("_b").write_parquet(directory / name, compression="lz4")

        for unit in units:
            with contextlib.ExitStack() as within:
                if unit.end is not None:
                    within.enter_context(reading_range(unit.path, unit.start, unit.end))
                numbered = first_seq + sum(r.accepted for r in reads)
                options_of = replace(options, format=unit.fmt)
                reads.append(
                    read_file(
                        unit.path, options_of, rejects, own_spool, sink, numbered, "", _ignored
                    )
                )
    if buckets:
        commit(writer, own)
    _move_into(own_spool / "posts", Path(spool))
    if buckets:
        _move_into(own_spool / UIDS, Path(spool).parent / UIDS)
    shutil.rmtree(own_spool)
    seconds = round(time.monotonic() - started, 3)
    return [
        PartRead(read, _line_ends(unit) if unit.end is not None else 0, seconds)
        for unit, read in zip(units, reads, strict=True)
    ]


def _ignored(_bytes: int, _rows: int) -> None:
    """A task's reading is followed by the driver, a task at a time."""


def _move_into(source: Path, target: Path) -> None:
    """Every file under ``source`` to the same place under ``target`` (renames)."""
    for path in sorted(source.rglob("*")):
        if path.is_file():
            place = target / path.relative_to(source)
            place.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, place)


def _line_ends(unit: Unit) -> int:
    """The number of line ends in a range (it ends with one, but at the end of the file)."""
    assert unit.end is not None
    count = 0
    with open(unit.path, "rb") as f:
        f.seek(unit.start)
        left = unit.end - unit.start
        while left > 0:
            chunk = f.read(min(left, 1 << 24))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count


class RayDays:
    """The new days of a build as Ray tasks (:class:`~indexer.globals.DayTasks`): their
    vocabularies, then their splits, each day read from the build's spool."""

    def __init__(self, ray: Any, out: Path, spool: Path, losers: pl.DataFrame) -> None:
        self._ray = ray
        self._out = str(out)
        self._spool = str(spool)
        self._losers = ray.put(losers)

    def vocabularies(self, days: list[date]) -> Iterator[Vocabulary]:
        task = self._ray.remote(max_retries=TASK_RETRIES)(day_vocabulary)
        refs = [task.remote(self._spool, day, self._losers) for day in days]
        for ref in refs:
            words, seconds = result_of(self._ray, ref)
            TASK_SECONDS.setdefault("vocabulary", []).append(seconds)
            yield words

    def write(self, days: list[date], ids: Ids, generation: str) -> Iterator[DayWritten]:
        task = self._ray.remote(max_retries=TASK_RETRIES)(write_day)
        shared = self._ray.put(ids)
        refs = [
            task.remote(self._out, self._spool, day, self._losers, shared, generation)
            for day in days
        ]
        for _, (written, seconds) in as_finished(self._ray, refs):
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
    :func:`~indexer.compact.rewrite_patched`; yields the removed posts each left out."""
    task = ray.remote(max_retries=TASK_RETRIES)(rewrite_day)
    shared = ray.put(ids)
    refs = [task.remote(str(source), str(target), shared) for source, target in days]
    for _, (removed, seconds) in as_finished(ray, refs):
        TASK_SECONDS.setdefault("compact", []).append(seconds)
        yield removed


def rewrite_day(source: str, target: str, ids: DayIds) -> tuple[int, float]:
    """The Ray task of one patched day's rewrite, and its seconds."""
    started = time.monotonic()
    if Path(target).exists():  # a retry: start over
        shutil.rmtree(target)
    removed = rewrite_patched(Path(source), Path(target), ids)
    return removed, round(time.monotonic() - started, 3)
