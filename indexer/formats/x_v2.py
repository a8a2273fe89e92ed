"""X API v2 tweets: response pages (``data[]`` + ``includes``), single tweets, twarc flat.

- **Text**: ``note_tweet.text`` (a long post) over ``text``; X's ``&amp; &lt; &gt;``
  undone. A truncated text (a retweet's ``RT @user: ...…``) is indexed as given.
- **Author**: the username from ``author.username`` (twarc flat) or the page's
  ``includes.users``, else the ``author_id``.
- **Tags**: ``note_tweet.entities.hashtags`` over ``entities.hashtags`` (X's list
  never holds a tag cut off in the text); no ``entities`` at all: the text's tags.
- **Retweets** (``referenced_tweets`` of type ``retweeted``): the retweeter's post
  (own id, author, time, text as given) with the original's tags when the original
  is at hand (the page's ``includes.tweets``, or twarc's expanded reference), else
  the retweet's own (cut) entities, and no engagement (``public_metrics`` of a
  retweet are the original's), flagged ``"x-v2 retweet"`` for the repost policy
  (see :meth:`indexer.formats.native.Mapper.read`). Quote tweets and replies are the
  author's own posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

from indexer.formats.common import (
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
from indexer.formats.native import Mapper

WHAT = "X v2 tweet"
_NO_CONTEXT: Context = {"users": {}, "tweets": {}}


_SAMPLE = 20
"""How many tweets of a page :meth:`XV2.sniff_page` looks at."""


def _usernames(page: dict[str, Any]) -> dict[str, str]:
    users = get_path(page, "includes", "users")
    if not isinstance(users, list):
        return {}
    return {
        str(u["id"]): u["username"]
        for u in users
        if isinstance(u, dict) and "id" in u and isinstance(u.get("username"), str)
    }


def _included_tweets(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tweets = get_path(page, "includes", "tweets")
    if not isinstance(tweets, list):
        return {}
    return {str(t["id"]): t for t in tweets if isinstance(t, dict) and "id" in t}


def _tags(tweet: dict[str, Any]) -> list[str] | None:
    """``note_tweet`` entities over ``entities``; None when the tweet has neither."""
    entities = get_path(tweet, "note_tweet", "entities")
    if not isinstance(entities, dict):
        entities = tweet.get("entities")
    return tag_list(entities.get("hashtags"), "tag") if isinstance(entities, dict) else None


def _retweeted(tweet: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    """The ``retweeted`` reference of a retweet (expanded if the page includes it)."""
    refs = tweet.get("referenced_tweets")
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, dict) and ref.get("type") == "retweeted":
            included = (ctx.get("tweets") or {}).get(str(ref.get("id")))
            return included if isinstance(included, dict) else ref
    return None


class _Entities(TypedDict, total=False):
    hashtags: Any


class _Note(TypedDict, total=False):
    text: Any
    entities: _Entities


class _Author(TypedDict, total=False):
    username: Any


class _Read(TypedDict, total=False):
    """The keys of a tweet (or of a response page) :class:`XV2` reads; nested objects
    with just the keys read of them."""

    data: Any
    includes: Any
    id: Any
    text: Any
    note_tweet: _Note
    author_id: Any
    author: _Author
    created_at: Any
    public_metrics: Any
    lang: Any
    entities: _Entities
    referenced_tweets: Any


class XV2(Mapper):
    """Mapper for X v2 (see :class:`indexer.formats.native.Mapper`).

    Only a page's ``data`` are posts; ``includes.tweets`` (referenced tweets) are not.
    """

    def sniff_record(self, record: dict[Any, Any]) -> bool:
        author = record.get("author")
        return (
            "author_id" in record
            and "text" in record
            and "id" in record
            and (author is None or isinstance(author, dict))
        )

    def sniff_page(self, value: dict[Any, Any]) -> bool:
        """A response page: ``data`` (a tweet or a list of them) and ``includes``."""
        data = value.get("data")
        if isinstance(value.get("statuses"), list):
            return False  # an X v1.1 search response, whatever its statuses are
        if not isinstance(data, (list, dict)) or "text" in value:
            return False
        tweets = data if isinstance(data, list) else [data]
        return any(
            isinstance(t, dict) and ("author_id" in t or "edit_history_tweet_ids" in t)
            for t in tweets[:_SAMPLE]
        )

    line_keys = _Read
    """A line is decoded with just these keys (the rest skipped unread), into a dict
    the mapping reads as it reads the whole one; a line whose ``note_tweet``,
    ``author`` or ``entities`` is not an object is decoded whole."""

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        if isinstance(value, list):
            for item in value:
                yield from self.records(item)
        elif isinstance(value, dict) and "data" in value and "text" not in value:
            ctx: Context = {"users": _usernames(value), "tweets": _included_tweets(value)}
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
        hashtags = _tags(tweet)
        original = _retweeted(tweet, ctx)
        if original is not None:
            from_original = _tags(original)
            hashtags = from_original if from_original is not None else hashtags
        created = tweet.get("created_at")
        if not isinstance(created, str):
            raise RecordError(f"{WHAT} has no 'created_at'")
        metrics = tweet.get("public_metrics")
        metrics = metrics if isinstance(metrics, dict) and original is None else {}
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
            _repost=None if original is None else "x-v2 retweet",
        )
