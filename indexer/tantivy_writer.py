"""Writing the posts index: tantivy documents made by polars, a feeder thread that adds
them while polars prepares the next batch, and the one commit (with tantivy's opaque
failures named: a full disk is said to be one)."""

from __future__ import annotations

import contextlib
import ctypes
import queue
import shutil
import threading
from pathlib import Path

import polars as pl
import tantivy

from indexer.errors import IndexerError
from indexer.schema import COUNT_FIELDS, F_COMMUNITY, F_COMMUNITY_KEY, community_key
from indexer.splits import link_file

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


_COPIED = frozenset({"meta.json", ".managed.json"})
"""tantivy files copied, not linked, into an updated index (tantivy replaces them)."""


def link_posts_index(source: Path, target: Path) -> None:
    """Make ``target`` a tantivy index holding ``source``'s segments without copying them.

    Segment files are write-once: tantivy creates every file it writes anew
    (``O_CREAT|O_EXCL``: a delete makes a new ``<segment>.<opstamp>.del``, a merge
    new segment files) and replaces ``meta.json`` / ``.managed.json`` by renaming
    a temporary file over them. So an index opened in ``target`` never writes into
    a file it shares with ``source``; its garbage collection and merges only unlink
    ``target``'s own links. ``meta.json`` and ``.managed.json`` are copied all the
    same, and lock files are left for tantivy to create (a lock is ``flock``ed, and
    a shared inode would share the lock).
    """
    target.mkdir()
    for path in sorted(source.iterdir()):
        if path.name in _COPIED:
            shutil.copyfile(path, target / path.name)
        elif path.is_file() and not path.name.startswith("."):
            link_file(path, target / path.name)
