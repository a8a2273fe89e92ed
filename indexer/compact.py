"""``hashtag-index compact``: rewrite the patched days of the published generation.

An update patches a day that only loses posts (replaced by a copy on another
day, or deleted) instead of rewriting it: the day's files are hard-linked and
``removed.arrow`` lists the posts every reader leaves out (indexer/splits.py).
Readers then filter those rows, and the files still hold them. ``compact``
publishes a generation in which every such day is written anew from its live
posts; every other file (tantivy's segments, the other days, the
generation-wide tables) is hard-linked. Its answers are the same; the patched
days' files shrink and need no filter. An update rewrites a day instead of
patching it once more than :data:`~indexer.splits.PATCH_MAX_REMOVED` of its
posts would be removed, so patches never grow past that without ``compact``.
It also folds the pair changes an update kept beside cooc.arrow
(cooc-delta.arrow, see :data:`~indexer.globals.COOC_DELTA_SHARE`) into it.

Like a build, it writes into a new directory and publishes with one atomic
swap under the index's lock: a kill leaves the published generation as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from indexer.accounts import Accounts
from indexer.globals import read_table, with_cooc_offsets, write_cooc
from indexer.patched_days import DayIds, rewrite_patched
from indexer.progress import Progress
from indexer.publish import DEFAULT_KEEP, IndexDir, checked_parent
from indexer.schema import (
    ACCOUNTS_NEW_TABLE,
    ACCOUNTS_TABLE,
    CODES_TABLE,
    COOC_DELTA_TABLE,
    COOC_TABLE,
    GENERATION_TABLES,
    KEYS_TABLE,
    MANIFEST_FILE,
    POSTS_INDEX_DIR,
    REJECTS_FILE,
    SPLIT_REMOVED,
    TAGS_TABLE,
    Manifest,
    SplitInfo,
    encode_manifest,
)
from indexer.splits import (
    link_file,
    link_split,
    write_table,
)
from indexer.tantivy_writer import link_posts_index


@dataclass
class CompactResult:
    manifest: Manifest
    """The published generation's manifest: the new one, or the old one if nothing changed."""
    generation_dir: Path
    published: bool
    days: int = 0
    """Days rewritten."""
    removed: int = 0
    """Removed posts' rows left out of them."""
    pair_changes: int = 0
    """Rows of cooc-delta.arrow folded into cooc.arrow."""
    pruned: list[Path] = field(default_factory=list)


def compact(
    index_dir: Path,
    *,
    now: datetime,
    keep: int = DEFAULT_KEEP,
    progress: Progress | None = None,
    ray: str | None = None,
) -> CompactResult:
    """Publish the current generation with every patched day rewritten (if there is one);
    with ``ray`` (a Ray address, see indexer/distributed/), each by a Ray task."""
    started = time.monotonic()
    progress = progress or Progress(enabled=False)
    index = IndexDir(index_dir)
    with index.lock():
        index.clean_abandoned()
        parent_dir = index.require_current()
        parent = checked_parent(parent_dir, "compact needs")
        patched = [s for s in parent.splits if (parent_dir / s.path / SPLIT_REMOVED.file).exists()]
        pair_changes = read_table(parent_dir, COOC_DELTA_TABLE).height
        if not patched and not pair_changes:
            return CompactResult(parent, parent_dir, published=False)
        try:
            with index.building(now) as (generation, work):
                progress.stage("compact", len(parent.splits))
                ids = _link_and_fold(parent_dir, work)
                days = [(parent_dir / s.path, work / s.path) for s in patched]
                removed = _rewrite_days(days, ids, ray)
                splits: list[SplitInfo] = []
                for done, split in enumerate(parent.splits, 1):
                    if split in patched:
                        split = msgspec.structs.replace(split, written_by=generation)
                    else:
                        link_split(parent_dir / split.path, work / split.path)
                    splits.append(split)
                    progress.update(done, done)
                manifest = Manifest(
                    **{
                        **{f: getattr(parent, f) for f in parent.__struct_fields__},
                        "generation": generation,
                        "built_at": now.astimezone(UTC),
                        "seconds": round(time.monotonic() - started, 3),
                        "stage_seconds": {},
                        "stage_peak_rss_mib": {},
                        "parent": parent.generation,
                        "splits": splits,
                    }
                )
                (work / MANIFEST_FILE).write_bytes(encode_manifest(manifest))
                final = index.publish(work, generation)
        finally:
            progress.close()
        pruned = index.prune(keep)
    return CompactResult(manifest, final, True, len(patched), removed, pair_changes, pruned)


def _link_and_fold(parent_dir: Path, work: Path) -> DayIds:
    """Link what compact leaves as it is (the posts index, the tables, the rejects), fold
    the pair changes and new accounts into their tables; the ids the days are written with."""
    link_posts_index(parent_dir / POSTS_INDEX_DIR, work / POSTS_INDEX_DIR)
    folded = {COOC_TABLE.file, COOC_DELTA_TABLE.file, TAGS_TABLE.file}
    folded |= {ACCOUNTS_TABLE.file, ACCOUNTS_NEW_TABLE.file}
    for name in [spec.file for spec in GENERATION_TABLES] + [REJECTS_FILE]:
        if name not in folded:
            link_file(parent_dir / name, work / name)
    cooc = write_cooc(parent_dir, work, COOC_DELTA_TABLE.frame(), fold=True)
    tags = read_table(parent_dir, TAGS_TABLE)
    write_table(with_cooc_offsets(tags, cooc), TAGS_TABLE, work)
    keys = read_table(parent_dir, KEYS_TABLE).select("tag", "id")
    accounts = Accounts.read(parent_dir)
    accounts.write(parent_dir, work, fold=True)
    codes = read_table(parent_dir, CODES_TABLE)
    platforms, langs = (
        codes.filter(codes["kind"] == kind).select("name", "code") for kind in ("platform", "lang")
    )
    return DayIds(keys, accounts, platforms, langs)


def _rewrite_days(days: list[tuple[Path, Path]], ids: DayIds, ray: str | None) -> int:
    """Rewrite each patched day (source, target) without its removed posts, here or as Ray
    tasks; how many posts were removed."""
    if ray is None:
        return sum(rewrite_patched(source, target, ids) for source, target in days)
    from indexer import distributed  # Ray only when asked

    with distributed.connected(ray) as cluster:
        absolute = [(a.absolute(), b.absolute()) for a, b in days]
        return sum(distributed.rewrite_days(cluster, ids, absolute))
