"""Parsing of request parameters the framework cannot type by itself.

Each parser raises ``ApiError(400, message, parameter)`` naming the parameter.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from indexer.schema import community_key, tag_key
from service.errors import ApiError

_DURATION = re.compile(r"^\s*(\d{1,5})\s*([mhdw])\s*$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_duration(value: str, parameter: str) -> timedelta:
    """``30m``, ``1h``, ``6h``, ``24h``, ``7d``, ``2w``."""
    m = _DURATION.match(value)
    if not m or int(m.group(1)) == 0:
        raise ApiError(
            400, f"{parameter}: expected a duration like 1h, 24h or 7d, got {value!r}", parameter
        )
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def parse_time(value: str | None, parameter: str) -> datetime | None:
    """RFC 3339 with a zone (any offset, converted to UTC), or a date meaning its midnight UTC."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if _DATE.match(text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ApiError(
            400,
            f"{parameter}: expected an RFC 3339 time like 2026-10-01T00:00:00Z or a date "
            f"like 2026-10-01, got {value!r}",
            parameter,
        ) from None
    if parsed.tzinfo is None:
        raise ApiError(400, f"{parameter}: {value!r} has no time zone; add Z for UTC", parameter)
    return parsed.astimezone(UTC)


def parse_range(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    if start is not None and end is not None and start >= end:
        raise ApiError(400, "from: must be before to", "from")
    return start, end


def parse_tag(value: str, parameter: str = "tag") -> str:
    """Any spelling of a tag (``%23Python``, ``#python``, ``PYTHON``) -> its tag key."""
    key = tag_key(value.strip())
    if not key:
        raise ApiError(400, f"{parameter}: empty tag", parameter)
    return key


def parse_filter(value: str | None) -> str | None:
    """A platform or language filter: case-insensitive; empty means none."""
    return value.strip().lower() or None if value else None


def parse_community(value: str | None, parameter: str = "community") -> str | None:
    """A community filter (``python``, ``Python``, ``r/Python``) -> its key; empty means none."""
    if value is None or not value.strip():
        return None
    key = community_key(value)
    if not key:
        raise ApiError(400, f"{parameter}: no community name in {value!r} (e.g. python)", parameter)
    return key
