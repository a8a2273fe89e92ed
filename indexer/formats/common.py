"""Shared pieces of the native readers: the canonical row, skips, rejects, coercions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from indexer.formats.base import CANONICAL_FIELDS

Row = dict[str, Any]
"""One canonical row: every key of :data:`CANONICAL_FIELDS`, and optionally ``_note``
(an adjustment, or a list of them, to count in ``NativeBatch.notes``) and ``_repost``
(the kind of repost the row is, e.g. ``"x-v1 retweet"``, for the repost policy)."""

REPOST_POLICIES = ("count", "exclude")
"""How reposts (retweets, boosts) count; see :meth:`indexer.formats.native.Mapper.read`."""


def repost_counted(kind: str) -> str:
    """The note counted for a repost read under the ``count`` policy."""
    return f"{kind} counted as the reposter's post"


def repost_excluded(kind: str) -> str:
    """The skip reason of a repost under the ``exclude`` policy."""
    return f"{kind} excluded by the repost policy"


Context = Mapping[str, Any]
"""What a record needs from around it (e.g. the ``includes.users`` of an X v2 page)."""


class RecordError(Exception):
    """A native record that cannot be mapped; ``str()`` is the reject reason."""


@dataclass(frozen=True)
class Skip:
    """A record that is not a post (a delete event, a stream notice...): skipped, counted."""

    reason: str


@dataclass(frozen=True)
class Delete:
    """A delete event of a post (e.g. a Bluesky ``delete`` commit): not a post, but an
    instruction to remove the post ``platform:id`` if it was indexed before."""

    platform: str
    id: str

    @property
    def uid(self) -> str:
        """The post's identity as the indexer forms it (``platform:id``)."""
        return f"{self.platform}:{self.id}"


NO_CONTEXT: Context = {}


def listed(value: Any, key: str | None = None) -> Iterator[tuple[Any, Context]]:
    """The records of a JSON value: a list's items, the list under ``key`` of a wrapper
    object (a search response's ``statuses``, an outbox's ``orderedItems``), or the value
    itself; none of them needs a context."""
    if isinstance(value, list):
        items: Any = value
    elif key is not None and isinstance(value, dict) and isinstance(value.get(key), list):
        items = value[key]
    else:
        items = (value,)
    for item in items:
        yield item, NO_CONTEXT


def row(**fields: Any) -> Row:
    """A canonical row with every column (missing ones null)."""
    out: Row = dict.fromkeys(CANONICAL_FIELDS)
    out.update(fields)
    return out


def obj(value: Any, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else a :class:`RecordError` naming ``what``."""
    if not isinstance(value, dict):
        raise RecordError(f"{what} is not a JSON object")
    return value


def get_path(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...``, or None where a step is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def need_str(value: Any, field: str, what: str) -> str:
    """A required string field (ints are accepted and written in decimal)."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"{what} has no '{field}'")
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise RecordError(f"{what}: '{field}' is not a string")
    if not value.strip():
        raise RecordError(f"{what}: '{field}' is empty")
    return value


def opt_str(value: Any) -> str | None:
    """A string field, or None if it is missing or not a string."""
    return value if isinstance(value, str) else None


COUNT_MIN, COUNT_MAX = -(1 << 63), (1 << 63) - 1
"""The range of a count (the columns are 64-bit integers)."""


def count(value: Any, field: str) -> int | None:
    """An engagement count: an integer (or integer string), None when missing."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordError(f"'{field}' is not an integer: {value!r}")
    if isinstance(value, int):
        found = value
    elif isinstance(value, float) and value.is_integer():
        found = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        found = int(value.strip())
    else:
        raise RecordError(f"'{field}' is not an integer: {value!r}")
    if not COUNT_MIN <= found <= COUNT_MAX:
        raise RecordError(f"'{field}' is out of range: {value!r}")
    return found


def count_column(values: list[Any]) -> list[int] | None:
    """The values as a count column (a missing one as 0) if every one is a count
    :func:`count` takes as it is: an integer in range, or None (missing); else None.
    For the fast paths: C-level loops, and none at all for a block without None."""
    kinds = set(map(type, values))
    if kinds != {int}:
        if not kinds <= _INT_OR_NONE:
            return None
        values = [v or 0 for v in values]
    if values and (min(values) < COUNT_MIN or max(values) > COUNT_MAX):
        return None
    return values


_INT_OR_NONE = {int, type(None)}


def plain_strings(values: list[Any], blank: bool = False) -> bool:
    """Whether every value is a string (and, unless ``blank``, not blank: what
    :func:`need_str` takes without a change), for the fast paths; checked in C-level
    loops."""
    if not set(map(type, values)) <= {str}:
        return False
    return blank or all(map(str.strip, values))


def tag_list(items: Any, key: str) -> list[str]:
    """The ``key`` strings of a list of tag objects (entities, facets...), in order."""
    if not isinstance(items, list):
        return []
    return [t[key] for t in items if isinstance(t, dict) and isinstance(t.get(key), str)]


def unescape_x(text: str) -> str:
    """Undo the three HTML escapes X and Reddit apply to post text (``&amp; &lt; &gt;``)."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


TAG_SEP = "\x1f"
"""Separates tags while a batch's tag lists travel as one string each (fast to build)."""


def joined(tags: list[str]) -> str:
    """A tag list as one string, each tag after :data:`TAG_SEP` (one in a tag dropped);
    :func:`split_joined` turns them back into lists."""
    if not tags:
        return ""
    out = TAG_SEP.join(tags)
    if out.count(TAG_SEP) == len(tags) - 1:
        return TAG_SEP + out
    return "".join(TAG_SEP + t.replace(TAG_SEP, "") for t in tags)


def split_joined(tags: pl.Series) -> pl.Series:
    """The ``List[String]`` of a ``String`` series of :func:`joined` lists (null stays
    null); much faster than building a list column from Python lists."""
    return tags.str.split(TAG_SEP).list.slice(1)
