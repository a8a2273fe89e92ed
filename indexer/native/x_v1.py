"""X API v1.1 tweets: streaming lines, timelines (arrays) and search responses.

- **Text**: ``extended_tweet.full_text`` (streaming, compatibility mode), else
  ``full_text`` (REST, extended mode), else ``text``; X's ``&amp; &lt; &gt;`` undone.
- **Truncated text**: a tweet with ``truncated: true`` and no extended text is
  indexed with its text as given (cut, often ending in ``…``, as X delivered it);
  its tags are still X's ``entities.hashtags``, which never hold a cut-off tag, so
  a tag cut in the text is not counted, and the cut word is not a tag either.
- **Tags**: ``entities.hashtags`` (``extended_tweet.entities`` when present); a
  tweet without ``entities`` (the 2007 API) falls back to its text.
- **Retweets** (``retweeted_status``): the retweeter's post (its own id, author,
  time and text as given, ``RT @user: ...``) with the tags of the original (its
  extended entities: the retweet's own text and entities are cut at 140
  characters) and no engagement (X copies the original's counts onto the retweet;
  they belong to the original, and would count once per retweet), flagged
  ``"x-v1 retweet"`` for the repost policy (see :func:`indexer.native.read_native`).
  A quote tweet is the quoter's own post.
- **Deletes**: a stream ``delete`` notice is a :class:`~indexer.native.common.Delete`
  of its tweet (``x:<id_str>``), applied as a Bluesky delete is; the other stream
  notices (``limit``, ``scrub_geo``...) are skipped, counted.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from indexer.native.common import (
    Context,
    Delete,
    RecordError,
    Row,
    Skip,
    count,
    get_path,
    listed,
    need_str,
    obj,
    opt_str,
    row,
    tag_list,
    unescape_x,
)

WHAT = "X v1.1 tweet"
_STREAM_NOTICES = (
    "delete",
    "limit",
    "scrub_geo",
    "status_withheld",
    "user_withheld",
    "disconnect",
    "warning",
    "friends",
    "event",
)


_MONTHS = {
    m: f"{i:02d}"
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_UTC_TIME_RE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]) \+0000 "
    r"([12][0-9]{3})"
)
"""X's usual form, in UTC (two-digit day, English names, as in the C locale). Once
the day is in its month, such a time is valid as it stands, so strptime has nothing
to add (it does not check the weekday either)."""


def x_time(value: Any) -> str:
    """X's ``Sat Mar 10 19:48:40 +0000 2018`` as RFC 3339 UTC (``2018-03-10T19:48:40Z``)."""
    if not isinstance(value, str):
        raise RecordError(f"{WHAT} has no 'created_at'")
    m = _UTC_TIME_RE.fullmatch(value)
    if m is not None:
        month, day, hh, mm, ss, year = m.groups()
        if day <= "28" or int(day) <= monthrange(int(year), int(_MONTHS[month]))[1]:
            return f"{year}-{_MONTHS[month]}-{day}T{hh}:{mm}:{ss}Z"
    try:
        when = datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        raise RecordError(f"bad timestamp in 'created_at': {value}") from None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entities(tweet: dict[str, Any]) -> Any:
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and isinstance(extended.get("entities"), dict):
        return extended["entities"]
    return tweet.get("entities")


def _tags(entities: Any) -> list[str] | None:
    return tag_list(entities.get("hashtags"), "text") if isinstance(entities, dict) else None


def _deleted(notice: dict[str, Any]) -> Delete | Skip:
    """The tweet a stream ``{"delete": {"status": {"id_str": ...}}}`` notice deletes
    (a notice without the tweet's id is skipped, counted)."""
    status = get_path(notice, "delete", "status")
    ident = get_path(status, "id_str") or get_path(status, "id")
    if isinstance(ident, bool) or not isinstance(ident, (str, int)) or not str(ident).strip():
        return Skip("x-v1 stream 'delete' message without a tweet id")
    return Delete("x", str(ident))


class XV1:
    """Mapper for X v1.1 (see :class:`indexer.native.common.Mapper`)."""

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        return listed(value, "statuses")

    def to_row(self, record: Any, ctx: Context) -> Row | Skip | Delete:
        tweet = obj(record, WHAT)
        if "id_str" not in tweet and "id" not in tweet:
            notice = next((k for k in _STREAM_NOTICES if k in tweet), None)
            if notice == "delete":
                return _deleted(tweet)
            if notice is not None:
                return Skip(f"x-v1 stream '{notice}' message")
        ident = need_str(tweet.get("id_str") or tweet.get("id"), "id_str", WHAT)
        extended = tweet.get("extended_tweet")
        extended = extended if isinstance(extended, dict) else None
        text = (
            opt_str(get_path(extended, "full_text"))
            or opt_str(tweet.get("full_text"))
            or opt_str(tweet.get("text"))
        )
        if text is None:
            raise RecordError(f"{WHAT} has no 'text'")
        author = need_str(get_path(tweet, "user", "screen_name"), "user.screen_name", WHAT)
        hashtags = _tags(_entities(tweet))
        original = tweet.get("retweeted_status")
        if isinstance(original, dict):
            from_original = _tags(_entities(original))
            hashtags = from_original if from_original is not None else hashtags
        counts: dict[str, Any] = {} if isinstance(original, dict) else tweet
        return row(
            id=ident,
            created_at=x_time(tweet.get("created_at")),
            author=author,
            text=unescape_x(text),
            platform="x",
            lang=opt_str(tweet.get("lang")),
            likes=count(counts.get("favorite_count"), "favorite_count") or 0,
            reposts=count(counts.get("retweet_count"), "retweet_count") or 0,
            replies=count(counts.get("reply_count"), "reply_count") or 0,
            quotes=count(counts.get("quote_count"), "quote_count") or 0,
            hashtags=hashtags,
            _repost="x-v1 retweet" if isinstance(original, dict) else None,
        )
