"""X API v1.1 tweets: streaming lines, timelines (arrays) and search responses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from indexer.native.common import (
    Context,
    RecordError,
    Row,
    Skip,
    count,
    get_path,
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
_NO_CONTEXT: Context = {}


def x_time(value: Any) -> str:
    """X's ``Sat Mar 10 19:48:40 +0000 2018`` as RFC 3339 UTC (``2018-03-10T19:48:40Z``)."""
    if not isinstance(value, str):
        raise RecordError(f"{WHAT} has no 'created_at'")
    try:
        when = datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        raise RecordError(f"bad timestamp in 'created_at': {value}") from None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class XV1:
    """Mapper for X v1.1 (see :class:`indexer.native.common.Mapper`)."""

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        if isinstance(value, list):
            for item in value:
                yield item, _NO_CONTEXT
        elif isinstance(value, dict) and isinstance(value.get("statuses"), list):
            for item in value["statuses"]:
                yield item, _NO_CONTEXT
        else:
            yield value, _NO_CONTEXT

    def to_row(self, record: Any, ctx: Context) -> Row | Skip:
        tweet = obj(record, WHAT)
        if "id_str" not in tweet and "id" not in tweet:
            notice = next((k for k in _STREAM_NOTICES if k in tweet), None)
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
        entities = extended.get("entities") if extended else tweet.get("entities")
        hashtags = (
            tag_list(entities.get("hashtags"), "text") if isinstance(entities, dict) else None
        )
        return row(
            id=ident,
            created_at=x_time(tweet.get("created_at")),
            author=author,
            text=unescape_x(text),
            platform="x",
            lang=opt_str(tweet.get("lang")),
            likes=count(tweet.get("favorite_count"), "favorite_count") or 0,
            reposts=count(tweet.get("retweet_count"), "retweet_count") or 0,
            replies=count(tweet.get("reply_count"), "reply_count") or 0,
            quotes=count(tweet.get("quote_count"), "quote_count") or 0,
            hashtags=hashtags,
        )
