"""What changed in the trending list between two ``as_of`` instants.

Both lists are computed by :func:`service.trends.trend_list` from the same generation
(the one being served), so a change is a change of the data's trend, never an
artefact of comparing two builds. ``GET /v1/trending/changes`` and the webhooks
(service/webhooks.py) answer with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from service import trends
from service.tables import Tables

DEFAULT_PARAMS = trends.TrendParams()


class ChangeItem(msgspec.Struct, frozen=True):
    """One tag whose place in the list changed."""

    tag: str
    display: str
    old_rank: int | None
    """Its rank at ``old_as_of`` (None: not listed then)."""
    new_rank: int | None
    """Its rank at ``as_of`` (None: not listed now)."""
    authors: int
    """Distinct authors in the window at ``as_of`` (at ``old_as_of`` for an exit)."""
    score: float
    """Its score at ``as_of`` (at ``old_as_of`` for an exit)."""


class Changes(msgspec.Struct, frozen=True):
    old_as_of: datetime
    as_of: datetime
    window: str
    baseline: str
    entered: list[ChangeItem]
    """Listed now, not at old_as_of; by new rank."""
    exited: list[ChangeItem]
    """Listed at old_as_of, not now; by old rank."""
    risers: list[ChangeItem]
    """Listed at both, with a better (smaller) rank now; by new rank."""
    fallers: list[ChangeItem]
    """Listed at both, with a worse rank now; by new rank."""
    unchanged: int
    """Tags listed at the same rank at both instants."""

    @property
    def changed(self) -> bool:
        return bool(self.entered or self.exited or self.risers or self.fallers)


def changes(
    tables: Tables,
    *,
    old_as_of: datetime,
    as_of: datetime,
    window: timedelta,
    baseline: timedelta,
    limit: int,
    window_text: str,
    baseline_text: str,
    platform: str | None = None,
    lang: str | None = None,
    params: trends.TrendParams = DEFAULT_PARAMS,
    include_flagged: bool = False,
) -> Changes:
    """The moves between the ``limit``-long lists at ``old_as_of`` and at ``as_of``."""

    def listed(at: datetime) -> list[trends.TrendItem]:
        found = trends.trend_list(
            tables,
            as_of=at,
            window=window,
            baseline=baseline,
            limit=limit,
            platform=platform,
            lang=lang,
            params=params,
            include_flagged=include_flagged,
        )
        return found.items

    moves = _moves(listed(old_as_of), listed(as_of))
    return Changes(old_as_of, as_of, window_text, baseline_text, *moves)


def _moves(
    then: list[trends.TrendItem], now: list[trends.TrendItem]
) -> tuple[list[ChangeItem], list[ChangeItem], list[ChangeItem], list[ChangeItem], int]:
    """Entered, exited, risers, fallers and the number unchanged, from list ``then`` to
    list ``now``."""
    before = {item.tag: item for item in then}
    entered, risers, fallers = [], [], []
    unchanged = 0
    for item in now:
        old = before.get(item.tag)
        change = ChangeItem(
            item.tag,
            item.display,
            None if old is None else old.rank,
            item.rank,
            item.authors,
            item.score,
        )
        if old is None:
            entered.append(change)
        elif old.rank > item.rank:
            risers.append(change)
        elif old.rank < item.rank:
            fallers.append(change)
        else:
            unchanged += 1
    kept = {item.tag for item in now}
    exited = [
        ChangeItem(item.tag, item.display, item.rank, None, item.authors, item.score)
        for item in before.values()
        if item.tag not in kept
    ]
    return entered, exited, risers, fallers, unchanged
