"""Which copies of a post survive: the delete events' effects on the copies read.

Per identity ``uid = platform:id``, every copy but the one with the highest ``_seq``
(read last) loses (:func:`indexer.rollups.losers_among`), and so does every copy read
before a delete event of its uid (:func:`delete_effects`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from indexer import rollups

DELETES_SCHEMA: dict[str, pl.DataType] = {"uid": pl.String(), "_at": pl.Int64()}
"""Delete events: the uid, and ``_at``, the ``_seq`` the next accepted row would get
(every copy with a lower ``_seq`` was read before the event)."""


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
