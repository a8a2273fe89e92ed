"""What a build, update or compact is asked to do (``hashtag-index build``'s options)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.ingest import DEFAULT_BATCH_ROWS, ReadOptions
from indexer.publish import DEFAULT_KEEP
from indexer.schema import UNKNOWN_PLATFORM


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
    """tantivy's indexing memory (split between its threads): the size that measured the
    lowest peak memory without extra segments (bench/results/2026-11-26-build.md,
    "The writer's heap")."""
    writer_threads: int = 2
    ray: str | None = None
    """Run the build's tasks on this Ray cluster (``--ray``: ``local``, ``auto`` or
    ``ray://host:port``; indexer/distributed/); None: in this process."""

    def read_options(self) -> ReadOptions:
        """How :func:`indexer.ingest.read_batches` is to read the inputs."""
        return ReadOptions(
            batch_rows=self.batch_rows,
            column_map=self.column_map,
            reposts=self.reposts,
            timezone=self.timezone,
            created_at_format=self.created_at_format,
            csv_delimiter=self.csv_delimiter,
        )
