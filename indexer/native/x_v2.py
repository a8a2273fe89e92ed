"""X API v2 tweets: response pages (``data[]`` + ``includes``), single tweets, twarc flat."""

from __future__ import annotations

from collections.abc import Iterator
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

WHAT = "X v2 tweet"
_NO_CONTEXT: Context = {"users": {}}


def _usernames(page: dict[str, Any]) -> dict[str, str]:
    users = get_path(page, "includes", "users")
    if not isinstance(users, list):
        return {}
    return {
        str(u["id"]): u["username"]
        for u in users
        if isinstance(u, dict) and "id" in u and isinstance(u.get("username"), str)
    }


class XV2:
    """Mapper for X v2 (see :class:`indexer.native.common.Mapper`).

    Only a page's ``data`` are posts; ``includes.tweets`` (referenced tweets) are not.
    """

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        if isinstance(value, list):
            for item in value:
                yield from self.records(item)
        elif isinstance(value, dict) and "data" in value and "text" not in value:
            ctx: Context = {"users": _usernames(value)}
            data = value["data"]
            for item in data if isinstance(data, list) else [data]:
                yield item, ctx
        else:
            yield value, _NO_CONTEXT

    def to_row(self, record: Any, ctx: Context) -> Row | Skip:
        tweet = obj(record, WHAT)
        ident = need_str(tweet.get("id"), "id", WHAT)
        note = tweet.get("note_tweet")
        note = note if isinstance(note, dict) else None
        text = opt_str(get_path(note, "text")) or opt_str(tweet.get("text"))
        if text is None:
            raise RecordError(f"{WHAT} has no 'text'")
        author_id = tweet.get("author_id")
        users = ctx.get("users") or {}
        author = (
            opt_str(get_path(tweet, "author", "username"))
            or (users.get(str(author_id)) if author_id is not None else None)
            or author_id
        )
        author = need_str(author, "author_id", WHAT)
        entities = get_path(note, "entities") if note else None
        if not isinstance(entities, dict):
            entities = tweet.get("entities")
        hashtags = tag_list(entities.get("hashtags"), "tag") if isinstance(entities, dict) else None
        created = tweet.get("created_at")
        if not isinstance(created, str):
            raise RecordError(f"{WHAT} has no 'created_at'")
        metrics = tweet.get("public_metrics")
        metrics = metrics if isinstance(metrics, dict) else {}
        return row(
            id=ident,
            created_at=created,
            author=author,
            text=unescape_x(text),
            platform="x",
            lang=opt_str(tweet.get("lang")),
            likes=count(metrics.get("like_count"), "like_count") or 0,
            reposts=count(metrics.get("retweet_count"), "retweet_count") or 0,
            replies=count(metrics.get("reply_count"), "reply_count") or 0,
            quotes=count(metrics.get("quote_count"), "quote_count") or 0,
            hashtags=hashtags,
        )
