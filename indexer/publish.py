"""Generations on disk: build aside, publish with one atomic pointer swap.

Layout of an index directory::

    current              symlink -> generations/<id>; the published generation
    generations/<id>/    complete, immutable generations (manifest.json written last)
    generations/.building-<id>/   a build in progress; never followed by a reader
    lock                 flock()ed by the one indexer that may write here

A build writes into ``.building-<id>``; publishing renames it to ``<id>``
and then replaces ``current`` with ``os.replace`` of a fresh symlink, so a
reader sees either the old generation or the new one, never a mix. A killed
build leaves only a ``.building-*`` directory, which the next indexer removes.
The lock is an ``flock`` on an open file: the kernel drops it when its
process dies, so a stale lock cannot outlive a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from indexer.errors import IndexerError, IndexLockedError, NoGenerationError
from indexer.schema import (
    CURRENT_LINK,
    GENERATIONS_DIR,
    MANIFEST_FILE,
    Manifest,
    SchemaMismatchError,
    checked_manifest,
    current_generation_dir,
)

LOCK_FILE = "lock"
BUILDING_PREFIX = ".building-"
DEFAULT_KEEP = 3


def new_generation_id(now: datetime, existing: list[str]) -> str:
    """Sortable by build time: ``20261126T094213Z-0001``, never below an existing id."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    newest = max(existing, default="")
    if newest[:16] >= stamp:
        stamp = newest[:16]
        seq = int(newest[17:] or 0) + 1
    else:
        seq = 1
    return f"{stamp}-{seq:04d}"


@dataclass(frozen=True)
class IndexDir:
    root: Path

    @property
    def generations(self) -> Path:
        return self.root / GENERATIONS_DIR

    def current_dir(self) -> Path | None:
        """The published generation's directory, or None if nothing is published."""
        return current_generation_dir(self.root)

    def require_current(self) -> Path:
        current = self.current_dir()
        if current is None:
            raise NoGenerationError(
                f"no generation published in {self.root} (run 'hashtag-index build INPUT...')"
            )
        return current

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the index directory's writer lock, or fail at once naming the holder."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                raise IndexLockedError(
                    f"another indexer (pid {holder}) is writing {self.root}; try again later"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the flock

    def clean_abandoned(self) -> list[Path]:
        """Remove what killed builds left behind. Call with the lock held."""
        removed = []
        if self.generations.is_dir():
            for child in self.generations.iterdir():
                if child.name.startswith(BUILDING_PREFIX):
                    shutil.rmtree(child, ignore_errors=True)
                    removed.append(child)
        return removed

    def next_generation_id(self, now: datetime) -> str:
        names = [p.name for p in self.list_generations()]
        return new_generation_id(now, names)

    @contextlib.contextmanager
    def building(self, now: datetime) -> Iterator[tuple[str, Path]]:
        """A new generation id and its building directory, removed again if the body
        fails in any way (the body publishes it on success). Call with the lock held."""
        generation = self.next_generation_id(now)
        work = self.new_building_dir(generation)
        try:
            yield generation, work
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def new_building_dir(self, generation: str) -> Path:
        self.generations.mkdir(parents=True, exist_ok=True)
        path = self.generations / f"{BUILDING_PREFIX}{generation}"
        path.mkdir()
        return path

    def publish(self, building_dir: Path, generation: str) -> Path:
        """Make a finished build the current generation, atomically."""
        if not (building_dir / MANIFEST_FILE).is_file():
            raise RuntimeError(f"refusing to publish {building_dir}: no manifest")
        _fsync_tree(building_dir)
        final = self.generations / generation
        os.rename(building_dir, final)
        _fsync_dir(self.generations)
        tmp_link = self.root / f".{CURRENT_LINK}.{generation}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
        os.symlink(Path(GENERATIONS_DIR) / generation, tmp_link)
        os.replace(tmp_link, self.root / CURRENT_LINK)
        _fsync_dir(self.root)
        return final

    def list_generations(self) -> list[Path]:
        """Published-or-old generation directories, oldest first."""
        if not self.generations.is_dir():
            return []
        return sorted(
            p
            for p in self.generations.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST_FILE).is_file()
        )

    def prune(self, keep: int = DEFAULT_KEEP) -> list[Path]:
        """Remove all but the newest ``keep`` generations; never the current one."""
        current = self.current_dir()
        gens = self.list_generations()
        doomed = [g for g in gens[: max(0, len(gens) - keep)] if g != current]
        for g in doomed:
            shutil.rmtree(g, ignore_errors=True)
        return doomed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def checked_parent(parent_dir: Path, reader: str) -> Manifest:
    """The manifest of the generation a new one is made from (``update``, ``compact``);
    an :class:`IndexerError` saying what to do if it has another schema version."""
    try:
        return checked_manifest(parent_dir, reader)
    except SchemaMismatchError as e:
        raise IndexerError(str(e)) from None
