"""The generation being served, and the swap to a newer one.

Readers take ``store.current`` once per request and use only that object, so
a request never mixes two generations; a swap replaces the reference.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import tantivy

from indexer.schema import (
    MANIFEST_FILE,
    Manifest,
    SchemaMismatchError,
    checked_manifest,
    current_generation_dir,
    open_posts_index,
    read_manifest,
)
from service.tables import Tables, load_tables
from service.trends import prepare

log = logging.getLogger("hashtag_index.service")

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_BASELINE = timedelta(days=7)
"""The trending question asked most (the API's defaults): its index is built at load."""


class GenerationError(Exception):
    pass


@dataclass(frozen=True)
class Generation:
    path: Path
    manifest: Manifest
    index: tantivy.Index
    searcher: tantivy.Searcher
    """One searcher for the generation's life: a generation never changes."""
    tables: Tables

    @property
    def id(self) -> str:
        return self.manifest.generation


def load_generation(path: Path) -> Generation:
    try:
        manifest = checked_manifest(path, "this service reads")
    except SchemaMismatchError as e:
        raise GenerationError(str(e)) from None
    index = open_posts_index(path)
    tables = load_tables(path, manifest)
    # built here, before the swap, not on the first request
    prepare(tables, DEFAULT_WINDOW, DEFAULT_BASELINE)
    return Generation(
        path=path,
        manifest=manifest,
        index=index,
        searcher=index.searcher(),
        tables=tables,
    )


def kept_manifest(gen: Generation, generation_id: str) -> Manifest | None:
    """The manifest of a generation still kept beside ``gen`` (None if it is gone or the
    name is not a generation's)."""
    if not generation_id or "/" in generation_id or generation_id.startswith("."):
        return None
    path = gen.path.parent / generation_id
    try:
        return read_manifest(path) if (path / MANIFEST_FILE).is_file() else None
    except (OSError, ValueError):
        return None


def previous_manifest(gen: Generation) -> Manifest | None:
    """The generation published before ``gen``: its parent if it was an update (and is
    still kept), else the newest kept generation older than it; None if there is none."""
    if gen.manifest.parent is not None:
        found = kept_manifest(gen, gen.manifest.parent)
        if found is not None:
            return found
    try:
        older = sorted(
            p.name
            for p in gen.path.parent.iterdir()
            if not p.name.startswith(".") and p.name < gen.id and (p / MANIFEST_FILE).is_file()
        )
    except OSError:
        return None
    return kept_manifest(gen, older[-1]) if older else None


class GenerationStore:
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.current: Generation | None = None
        self.last_error: str | None = None
        self.load_seconds: float | None = None
        """How long loading the served generation took (this process)."""

    def refresh(self) -> bool:
        """Load the published generation if it is not the one served; True if it swapped."""
        path = current_generation_dir(self.index_dir)
        if path is None or (self.current is not None and self.current.path == path):
            return False
        started = time.perf_counter()
        try:
            generation = load_generation(path)
        except (GenerationError, OSError, ValueError) as e:
            self.last_error = str(e)
            log.error("cannot load generation %s: %s", path, e)
            return False
        self.load_seconds = time.perf_counter() - started
        self.current, self.last_error = generation, None
        log.info("serving generation %s (loaded in %.3f s)", generation.id, self.load_seconds)
        return True
