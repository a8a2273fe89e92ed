"""The inputs cut into read tasks: files, byte ranges of big JSON-lines files, runs of
small files; and each file's read put back together from its ranges'."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import msgspec
import polars as pl

from indexer.formats import registry
from indexer.formats.detect import detect_format
from indexer.options import BuildOptions
from indexer.reading import FileRead, by_count
from indexer.rejects import Reject
from indexer.schema import SourceInfo
from indexer.sources import compression_of

SPLITTABLE = frozenset(f.name for f in registry.FORMATS if f.line_records)
"""Formats of one record per line, with no state across lines (their registry entries
say so): an uncompressed file of one of them is read in byte ranges cut at line ends,
a task each."""

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
    """Absolute: a worker on another node need not share the driver's directory."""
    fmt: str
    start: int = 0
    end: int | None = None
    """None: the whole file."""
    name: str = ""
    """The file as the user named it (the manifest's and the rejects' name for it)."""


def plan_units(files: list[Path], options: BuildOptions, workers: int) -> list[Unit]:
    """The tasks' shares: each file, or for a big uncompressed file of a
    :data:`SPLITTABLE` format, ranges of it cut at line ends, about two per worker."""
    units: list[Unit] = []
    for i, path in enumerate(files):
        fmt = options.format or detect_format(path)
        size = path.stat().st_size
        if fmt not in SPLITTABLE or compression_of(path) is not None:
            units.append(Unit(i, path.absolute(), fmt, name=str(path)))
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
            units.append(Unit(i, path.absolute(), fmt, name=str(path)))
            continue
        ends = [*cuts[1:], size]
        units.extend(
            Unit(i, path.absolute(), fmt, a, b, str(path)) for a, b in zip(cuts, ends, strict=True)
        )
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


@dataclass
class PartRead:
    """What a task read of its :class:`Unit`."""

    file: FileRead
    """As :func:`~indexer.reading.read_file` tells it, lines counted from the unit's start."""
    lines: int
    """Line ends in the unit (0 for a whole file: not needed)."""
    seconds: float = 0.0
    """The task's wall time."""
    lines_before: int = 0
    """Lines of the file before the unit (set by the driver)."""


def file_reads(units: list[Unit], reads: list[PartRead], digests: list[str]) -> list[FileRead]:
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
        merged.append(summed_reads(parts, digests[i]))
    return merged


def summed_reads(parts: list[tuple[Unit, PartRead]], digest: str) -> FileRead:
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


def copy_rejects(part: Path, out: IO[bytes], lines_before: int) -> None:
    """A task's rejects onto the generation's, their line numbers made the file's."""
    with open(part, "rb") as f:
        if not lines_before:
            shutil.copyfileobj(f, out, 1 << 20)
            return
        for line in f:
            reject = _decode_reject(line)
            reject.line += lines_before
            out.write(_encode_reject(reject) + b"\n")


def line_ends(unit: Unit) -> int:
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
