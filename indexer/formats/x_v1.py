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
  ``"x-v1 retweet"`` for the repost policy (see :meth:`indexer.formats.native.Mapper.read`).
  A quote tweet is the quoter's own post.
- **Deletes**: a stream ``delete`` notice is a :class:`~indexer.formats.common.Delete`
  of its tweet (``x:<id_str>``), applied as a Bluesky delete is; the other stream
  notices (``limit``, ``scrub_geo``...) are skipped, counted.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TypedDict

import msgspec

from indexer.formats.common import (
    Context,
    Delete,
    RecordError,
    Row,
    Skip,
    count,
    count_column,
    get_path,
    joined,
    listed,
    need_str,
    obj,
    opt_str,
    plain_strings,
    row,
    tag_list,
    unescape_x,
)
from indexer.formats.native import Mapper

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
        when = datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except (ValueError, OverflowError):  # not X's form, or out of range once in UTC
        raise RecordError(f"bad timestamp in 'created_at': {value}") from None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


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


class _HashtagKeys(TypedDict, total=False):
    text: Any


class _EntitiesKeys(TypedDict, total=False):
    hashtags: list[_HashtagKeys] | None


class _ExtendedKeys(TypedDict, total=False):
    full_text: str | None
    entities: _EntitiesKeys | None


class _UserKeys(TypedDict, total=False):
    screen_name: Any


class _OriginalKeys(TypedDict, total=False):
    entities: _EntitiesKeys | None
    extended_tweet: _ExtendedKeys | None


class _TweetKeys(_OriginalKeys, total=False):
    """:class:`_Tweet` as a TypedDict (the same keys, nested the same way): a line is
    decoded into it when its block is read the generic way, so it skips what the
    block path skips (:func:`indexer.formats.native._keys_first`)."""

    id: Any
    id_str: Any
    created_at: Any
    full_text: Any
    text: Any
    user: _UserKeys | None
    retweeted_status: _OriginalKeys | None
    lang: Any
    favorite_count: Any
    retweet_count: Any
    reply_count: Any
    quote_count: Any
    statuses: Any
    delete: Any
    limit: Any
    scrub_geo: Any
    status_withheld: Any
    user_withheld: Any
    disconnect: Any
    warning: Any
    friends: Any
    event: Any


class XV1(Mapper):
    """Mapper for X v1.1 (see :class:`indexer.formats.native.Mapper`)."""

    line_keys = _TweetKeys

    def sniff_record(self, record: dict[Any, Any]) -> bool:
        has_text = "text" in record or "full_text" in record
        if "id_str" in record and "user" in record and has_text:
            return True
        # before id_str (2007-era API)
        return (
            "id" in record and has_text and isinstance(get_path(record, "user", "screen_name"), str)
        )

    def sniff_page(self, value: dict[Any, Any]) -> bool:
        """A search response whose ``statuses`` do not tell (e.g. none)."""
        return isinstance(value.get("statuses"), list) and "search_metadata" in value

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

    def fast_block(self, lines: list[bytes]) -> dict[str, list[Any]] | None:
        """The columns of :meth:`to_row` for a block of lines holding a tweet each,
        made a column at a time from tweets decoded straight into :class:`_Tweet` (a
        tweet is about 1.5 KB, most of it the user object); None unless every line is
        such a tweet with every field plainly valid, for the caller to read the block
        the generic way, which gives the same rows (tested), and the rejects and
        stream notices."""
        try:
            tweets = [_decode_tweet(line) for line in lines]
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        ids = [t.id_str or t.id for t in tweets]
        if not all((type(i) is str and i.strip()) or type(i) is int for i in ids):
            return None
        texts = [
            (t.extended_tweet.full_text if t.extended_tweet is not None else None)
            or (t.full_text if type(t.full_text) is str else None)
            or (t.text if type(t.text) is str else None)
            for t in tweets
        ]
        authors = [None if t.user is None else t.user.screen_name for t in tweets]
        if not (
            plain_strings(texts, blank=True)
            and plain_strings(authors)
            and plain_strings([t.created_at for t in tweets], blank=True)
        ):
            return None
        retweets = [t.retweeted_status is not None for t in tweets]
        counts = {}
        for name, field in _COUNTS:
            values = [
                None if rt else getattr(t, field) for t, rt in zip(tweets, retweets, strict=True)
            ]
            column = count_column(values)
            if column is None:
                return None
            counts[name] = column
        try:
            created = [x_time(t.created_at) for t in tweets]
        except RecordError:
            return None
        n = len(tweets)
        return {
            "id": [i if type(i) is str else str(i) for i in ids],
            "created_at": created,
            "author": authors,
            "text": [unescape_x(x) for x in texts],  # type: ignore[arg-type]
            "platform": ["x"] * n,
            "lang": [t.lang if type(t.lang) is str else None for t in tweets],
            **counts,
            "hashtags": [_fast_tags(t) for t in tweets],
            "community": [None] * n,
            "_repost": ["x-v1 retweet" if rt else None for rt in retweets],
        }


class _Hashtag(msgspec.Struct, gc=False):
    text: Any = None


class _Entities(msgspec.Struct, gc=False):
    hashtags: list[_Hashtag] | None = None


class _Extended(msgspec.Struct, gc=False):
    full_text: str | None = None
    entities: _Entities | None = None


class _User(msgspec.Struct, gc=False):
    screen_name: Any = None


class _Original(msgspec.Struct, gc=False):
    """A retweet's original: only its tags are read."""

    entities: _Entities | None = None
    extended_tweet: _Extended | None = None


class _Tweet(_Original):
    """The fields of a tweet :class:`XV1` reads; the rest is skipped unread. Scalars are
    ``Any`` (checked as the generic way checks them) but for the extended text (a
    string or null, else the tweet goes the generic way)."""

    id: Any = None
    id_str: Any = None
    created_at: Any = None
    full_text: Any = None
    text: Any = None
    user: _User | None = None
    retweeted_status: _Original | None = None
    lang: Any = None
    favorite_count: Any = None
    retweet_count: Any = None
    reply_count: Any = None
    quote_count: Any = None
    statuses: Any = None
    delete: Any = None
    limit: Any = None
    scrub_geo: Any = None
    status_withheld: Any = None
    user_withheld: Any = None
    disconnect: Any = None
    warning: Any = None
    friends: Any = None
    event: Any = None


_decode_tweet = msgspec.json.Decoder(_Tweet).decode


_COUNTS = (
    ("likes", "favorite_count"),
    ("reposts", "retweet_count"),
    ("replies", "reply_count"),
    ("quotes", "quote_count"),
)


def _fast_entities(tweet: _Original) -> _Entities | None:
    """:func:`_entities` of a decoded tweet."""
    extended = tweet.extended_tweet
    if extended is not None and extended.entities is not None:
        return extended.entities
    return tweet.entities


def _fast_tag_list(entities: _Entities | None) -> list[str] | None:
    """:func:`_tags` of decoded entities."""
    if entities is None:
        return None
    if entities.hashtags is None:
        return []
    return [h.text for h in entities.hashtags if type(h.text) is str]


def _fast_tags(tweet: _Tweet) -> str | None:
    """The tweet's tags (the original's, for a retweet that has them), joined."""
    tags = _fast_tag_list(_fast_entities(tweet))
    if tweet.retweeted_status is not None:
        original = _fast_tag_list(_fast_entities(tweet.retweeted_status))
        tags = original if original is not None else tags
    return None if tags is None else joined(tags)
