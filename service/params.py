"""Parsing of request parameters the framework cannot type by itself.

Each parser raises :class:`~service.query_errors.InvalidParameter` naming the parameter
(the service answers it with a 400, the CLI with the flag's name).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from litestar import Request
from litestar.handlers import BaseRouteHandler
from litestar.params import QueryParameter

from indexer.schema import community_key, tag_key
from service.query_errors import InvalidParameter

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
"""RFC 3339's date-time (section 5.6), the OpenAPI ``date-time`` format: seconds and a zone
(Z or an offset) required; a space for the T is accepted."""

MIN_TIME = datetime(1, 1, 2, tzinfo=UTC)
"""The earliest time a request may name (``from``, ``to``, ``as_of``): a day inside
Python's calendar, so that converting any offset and bucketing never overflows."""
MAX_TIME = datetime(9999, 12, 30, tzinfo=UTC)
"""The latest time a request may name."""
MAX_DURATION = timedelta(weeks=520)
"""The longest ``window`` or ``baseline`` (520w, about 10 years)."""
MIN_TIME_TEXT, MAX_TIME_TEXT = "0001-01-02T00:00:00Z", "9999-12-30T00:00:00Z"
TIME_RANGE = f"{MIN_TIME_TEXT} to {MAX_TIME_TEXT}"
"""The accepted times, for messages and the OpenAPI descriptions."""


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def saturating_add(t: datetime, delta: timedelta) -> datetime:
    """``t + delta``, clamped to Python's calendar (UTC) instead of overflowing."""
    try:
        return t + delta
    except OverflowError:
        return _LATEST if delta > timedelta(0) else _EARLIEST


def parse_period(
    text: str,
    *,
    units: str = "mhdw",
    max_digits: int = 9,
    expected: str = "a duration like 1h, 24h or 7d",
) -> timedelta:
    """A positive whole number of one unit (``30m``, ``1h``, `` 7 d ``): ``units`` are some of
    s, m, h, d, w; the number has 1 to ``max_digits`` digits. Else a ValueError whose message
    is ``expected {expected}, got '{text}'``."""
    m = _period_pattern(units, max_digits).match(text)
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"expected {expected}, got {text!r}")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


@functools.cache
def _period_pattern(units: str, max_digits: int) -> re.Pattern[str]:
    return re.compile(rf"^\s*(\d{{1,{max_digits}}})\s*([{units}])\s*$")


def parse_duration(value: str, parameter: str) -> timedelta:
    """A ``window`` or ``baseline``: ``30m``, ``1h``, ``6h``, ``24h``, ``7d``, ``2w``."""
    try:
        duration = parse_period(value)
    except ValueError as e:
        raise InvalidParameter(f"{parameter}: {e}", parameter) from None
    if duration > MAX_DURATION:
        raise InvalidParameter(
            f"{parameter}: at most 520w (about 10 years), got {value!r}", parameter
        )
    return duration


def parse_time(value: str | None, parameter: str) -> datetime | None:
    """RFC 3339 with a zone (any offset, converted to UTC), or a date meaning its midnight UTC.
    Absent: None; given but empty: a 400 (nothing is silently ignored)."""
    if value is None:
        return None
    text = value.strip()
    if not _DATE.match(text) and not _RFC3339.match(text) and _RFC3339.match(text + "Z"):
        raise InvalidParameter(f"{parameter}: {value!r} has no time zone; add Z for UTC", parameter)
    try:
        if _DATE.match(text):
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        elif _RFC3339.match(text):
            # Python reads at most 6 fraction digits: RFC 3339 allows more
            whole, dot, rest = text.partition(".")
            if dot:
                digits = len(rest) - len(rest.lstrip("0123456789"))
                text = f"{whole}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
            parsed = datetime.fromisoformat(text.upper().replace(" ", "T"))
        else:
            raise ValueError(text)
    except ValueError:
        raise InvalidParameter(
            f"{parameter}: expected an RFC 3339 time like 2026-10-01T00:00:00Z or a date "
            f"like 2026-10-01, got {value!r}",
            parameter,
        ) from None
    if parsed.tzinfo is None:
        raise InvalidParameter(f"{parameter}: {value!r} has no time zone; add Z for UTC", parameter)
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        utc = None
    if utc is None or not MIN_TIME <= utc <= MAX_TIME:
        raise InvalidParameter(f"{parameter}: must be from {TIME_RANGE}, got {value!r}", parameter)
    return utc


def parse_range(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    if start is not None and end is not None and start >= end:
        raise InvalidParameter("from: must be before to", "from")
    return start, end


MAX_TAG_SEARCH = 140
"""Longest ``q`` or ``prefix`` of ``/v1/hashtags`` (as given, and its tag key): a tag is at
most 140 characters in practice, and the near-miss search's cost grows with it."""
MAX_TAG = 1000
"""Longest exact tag (``/v1/hashtags/{tag}``, ``tag`` of ``/v1/posts``): a lookup costs the
same at any length; tags longer than 140 characters exist in the wild (Reddit, Mastodon)."""


def parse_tag(value: str, parameter: str = "tag", max_chars: int = MAX_TAG) -> str:
    """Any spelling of a tag (``%23Python``, ``#python``, ``PYTHON``) -> its tag key, at most
    ``max_chars`` characters long (NFKC can lengthen a string: the key is checked too)."""
    if len(value) > max_chars:
        raise InvalidParameter(f"{parameter}: at most {max_chars} characters", parameter)
    key = tag_key(value.strip())
    if not key:
        raise InvalidParameter(f"{parameter}: empty tag", parameter)
    if len(key) > max_chars:
        raise InvalidParameter(
            f"{parameter}: at most {max_chars} characters once normalised", parameter
        )
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
        raise InvalidParameter(
            f"{parameter}: no community name in {value!r} (e.g. python)", parameter
        )
    return key


KNOWN_PLATFORMS = ("bluesky", "mastodon", "reddit", "x")
"""The platforms of the native input formats; an index may hold others (``--platform``)."""
_X, _BLUESKY = "X (formerly Twitter) is 'x'", "Bluesky is 'bluesky'"
PLATFORM_ALIASES = {"twitter": _X, "x.com": _X, "bsky": _BLUESKY, "bsky.app": _BLUESKY}
"""Names people use for a platform, and what to say about them."""


def parse_platform(value: str | None, in_index: Sequence[str]) -> str | None:
    """A platform filter: a native platform or one of the index's; else a 400 listing them."""
    name = parse_filter(value)
    if name is None or name in KNOWN_PLATFORMS or name in in_index:
        return name
    known = ", ".join(sorted({*KNOWN_PLATFORMS, *in_index}))
    alias = PLATFORM_ALIASES.get(name)
    hint = f"{alias}; " if alias else ""
    raise InvalidParameter(
        f"platform: unknown platform {name!r}; {hint}known platforms: {known}", "platform"
    )


def query_names(handler: BaseRouteHandler) -> frozenset[str]:
    """The query parameters a route handler declares (their names in the URL)."""
    found = _QUERY_NAMES.get(handler)
    if found is None:
        found = frozenset(
            field.kwarg_definition.name or name
            for name, field in handler.parsed_fn_signature.parameters.items()
            if isinstance(field.kwarg_definition, QueryParameter)
        )
        _QUERY_NAMES[handler] = found
    return found


_QUERY_NAMES: dict[BaseRouteHandler, frozenset[str]] = {}


def reject_unknown_parameters(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of every API route: a query parameter the route does not declare,
    or one given twice (each is single-valued), is a 400 naming it; nothing is ignored."""
    known = query_names(request.route_handler)
    given = request.query_params
    for name in given:
        if name not in known:
            closest = max(
                sorted(known), key=lambda k: SequenceMatcher(None, name, k).ratio(), default=None
            )
            hint = (
                f"; did you mean {closest}? (known: {', '.join(sorted(known))})"
                if closest
                else "; this endpoint takes no query parameters"
            )
            raise InvalidParameter(f"{name}: unknown parameter{hint}", name)
        if len(given.getall(name)) > 1:
            raise InvalidParameter(f"{name}: given more than once; give it once", name)
