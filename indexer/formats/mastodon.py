"""Mastodon status JSON (the REST API's Status entity), one a line or arrays.

- **Id**: the status ``uri`` (the ActivityPub id, global), else ``id``.
- **Author**: ``account.acct`` as ``user@server`` (a local account's ``acct`` has no
  server: it is taken from ``account.url``).
- **Text**: the HTML ``content`` as plain text (:func:`html_to_text`). Mastodon
  never truncates it; a content warning (``spoiler_text``) is not part of it.
- **Tags**: ``tags[].name`` (without ``#``; often lowercase), spelled as written in
  the text where the text has them; no ``tags`` at all: the text's tags.
- **Boosts** (``reblog``): the booster's post (the boost's own ``uri``, author and
  time) with the boosted status's text, tags and language, and the boost's own
  (zero) counts, flagged ``"mastodon boost"`` for the repost policy (see
  :meth:`indexer.formats.native.Mapper.read`).

A block of lines holding one status each is first decoded into :class:`_Status`, a
msgspec struct of just the fields above, and mapped a column at a time
(:meth:`Mastodon.fast_block`): a REST status is about 1.6 KB, and
decoding all of it into dicts was the largest cost of reading one. Whatever that typed
decode refuses (another shape, another type) goes the generic way, so the rows and
the rejects are the same either way (tested).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, TypedDict
from urllib.parse import urlsplit

import msgspec
import polars as pl

from indexer.extract import extract_hashtags, extract_hashtags_batch, replace_rows, tag_keys
from indexer.formats.common import (
    Context,
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
    split_joined,
    tag_list,
)
from indexer.formats.html_text import html_to_text, html_to_text_batch
from indexer.formats.native import Mapper

WHAT = "Mastodon status"


@lru_cache(maxsize=1 << 16)
def _key(tag: str) -> str:
    return unicodedata.normalize("NFKC", tag).casefold()


_PLAIN_HOST_RE = re.compile(r"https?://([a-z0-9.-]+)(?:[/?#]|\Z)")
"""An ``http(s)`` URL whose host is plain (lowercase letters, digits, dots, hyphens; no
user, port or brackets): that is exactly what ``urlsplit(url).hostname`` returns."""


@lru_cache(maxsize=1 << 16)
def _host(url: str) -> str | None:
    """``urlsplit(url).hostname``, without urlsplit for the usual plain URL."""
    m = _PLAIN_HOST_RE.match(url)
    return m.group(1) if m is not None else urlsplit(url).hostname


def full_acct(account: dict[str, Any]) -> str:
    """``user@server`` for every account (a local account's ``acct`` lacks the server)."""
    acct = need_str(account.get("acct"), "account.acct", WHAT)
    return acct if "@" in acct else _with_host(acct, account.get("url"))


def _plain_urls(urls: list[Any]) -> bool:
    """Whether ``urls`` (None, or a local account's ``url``) are all None or strings
    urlsplit takes (it refuses only netlocs with a bracket or non-ASCII letters): a
    :meth:`Mastodon.fast_block` condition, checked in C-level loops."""
    if not set(map(type, urls)) <= _STR_OR_NONE:
        return False
    every = "".join(filter(None, urls))
    return every.isascii() and "[" not in every and "]" not in every


_STR_OR_NONE = {str, type(None)}
_PLAIN_HOST = r"^https?://([a-z0-9.-]+)(?:[/?#]|$)"
""":data:`_PLAIN_HOST_RE` for polars (its ``$`` is the end of the string, as ``\\Z``)."""


def with_hosts(authors: pl.Series, urls: pl.Series) -> pl.Series:
    """``authors`` with each local ``acct`` (a row with a ``url``) made ``acct@server``
    as :func:`_with_host` makes it: polars takes the server of a plain URL, Python the
    few others. A Python call per status cost about 1.7 s of reading 1M statuses
    whose 200k account URLs are too many for :func:`_host`'s cache (bench/)."""
    hosts = urls.str.extract(_PLAIN_HOST, 1)
    others = (urls.is_not_null() & hosts.is_null()).arg_true()
    if others.len():
        found = [_host(url) or None for url in urls.gather(others).to_list()]
        hosts = hosts.scatter(others, pl.Series(found, dtype=pl.String))
    return (
        pl.select(pl.when(hosts.is_null()).then(authors).otherwise(authors + "@" + hosts))
        .to_series()
        .alias("author")
    )


def _with_host(acct: str, url: Any) -> str:
    """A local account's ``acct`` with its server, from the account's ``url``."""
    host = _host(opt_str(url) or "")
    return f"{acct}@{host}" if host else acct


def as_written(tags: list[str], text: str) -> list[str]:
    """Mastodon's tag names, spelled as in the text where the text has them."""
    if not tags:
        return tags
    return _spelled(tags, extract_hashtags(text))


def _spelled(tags: list[str], text_tags: list[str]) -> list[str]:
    """``tags`` spelled as the first of ``text_tags`` with the same key, if any."""
    if not text_tags:
        return tags
    written = {_key(t): t for t in reversed(text_tags)}
    return [written.get(_key(t), t) for t in tags]


def spell_as_written(names: pl.Series, texts: pl.Series) -> pl.Series:
    """:func:`as_written` row by row (``names`` a ``List[String]`` of tag names, null
    where a status has no ``tags``; ``texts`` the statuses' text), a batch at once: the
    texts' tags are extracted together (:func:`indexer.extract.extract_hashtags_batch`,
    which equals ``extract_hashtags``) and matched to the names by key with a join."""
    rows = (names.list.len().fill_null(0) > 0).arg_true()
    if rows.len() == 0:
        return names
    found = pl.DataFrame({"r": rows, "t": extract_hashtags_batch(texts.gather(rows))})
    found = found.explode("t").drop_nulls("t")
    found = found.with_columns(k=tag_keys(found["t"], _key)).unique(
        ["r", "k"], keep="first", maintain_order=True
    )
    named = pl.DataFrame({"r": rows, "name": names.gather(rows)}).explode("name")
    named = named.with_columns(k=tag_keys(named["name"], _key))
    spelled = (
        named.join(found, on=["r", "k"], how="left", maintain_order="left")
        .group_by("r", maintain_order=True)
        .agg(pl.coalesce("t", "name"))
        .to_series(1)
    )
    return replace_rows(names, rows, spelled)


class _TagKeys(TypedDict, total=False):
    name: Any


class _AccountKeys(TypedDict, total=False):
    acct: Any
    url: Any


class _ShownKeys(TypedDict, total=False):
    content: Any
    tags: list[_TagKeys] | None
    language: Any


class _StatusKeys(_ShownKeys, total=False):
    """:class:`_Status` as a TypedDict (the same keys, nested the same way): a line is
    decoded into it when its block is read the generic way, so it skips what the
    block path skips (:func:`indexer.formats.native._keys_first`)."""

    id: Any
    uri: Any
    created_at: Any
    account: _AccountKeys | None
    reblog: _ShownKeys | None
    favourites_count: Any
    reblogs_count: Any
    replies_count: Any


class Mastodon(Mapper):
    """Mapper for Mastodon statuses (see :class:`indexer.formats.native.Mapper`).

    Identity is the status ``uri`` (global; the same post fetched from two servers has
    two local ``id`` but one ``uri``), falling back to ``id``. A reblog is a post by the
    reblogger with the reblogged text and tags, as an X retweet is (flagged).
    """

    line_keys = _StatusKeys
    extra_columns = ("_account_url",)
    """A local account's ``url`` in a row of :meth:`fast_block` (its ``author`` then the
    bare ``acct``), for :meth:`finish_rows` to add the server; None in the others."""
    partial_rows = True

    def sniff_record(self, record: dict[Any, Any]) -> bool:
        return "content" in record and isinstance(record.get("account"), dict) and "uri" in record

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        return listed(value)

    def to_row(self, record: Any, ctx: Context) -> Row | Skip:
        out = self.partial_row(record, ctx)
        if isinstance(out, dict):
            out["text"] = html_to_text(out["text"])
            if out["hashtags"]:
                out["hashtags"] = as_written(out["hashtags"], out["text"])
        return out

    def partial_row(self, record: Any, ctx: Context) -> Row | Skip:
        """:meth:`to_row` but with the status's HTML as ``text`` and the tags as named,
        left for :meth:`finish_rows` to make text of and spell as written."""
        status = obj(record, WHAT)
        ident = need_str(status.get("uri") or status.get("id"), "uri", WHAT)
        account = obj(status.get("account"), f"{WHAT} 'account'")
        boost = isinstance(status.get("reblog"), dict)
        shown = status["reblog"] if boost else status
        tags = get_path(shown, "tags")
        return _row(
            ident,
            status.get("created_at"),
            full_acct(account),
            get_path(shown, "content"),
            tag_list(tags, "name") if isinstance(tags, list) else None,
            get_path(shown, "language"),
            status.get("favourites_count"),
            status.get("reblogs_count"),
            status.get("replies_count"),
            boost,
        )

    def fast_block(self, lines: list[bytes]) -> dict[str, list[Any]] | None:
        """The columns (the canonical fields, tags :func:`joined`, and ``_repost``)
        of :meth:`partial_row` for a block of lines holding a status each, made a column
        at a time from statuses decoded straight into :class:`_Status`; None unless every
        line is such a status with every field plainly valid (a string id, an integer
        or missing count...), for the caller to read the block the generic way, which
        gives the same rows, and the rejects."""
        try:
            statuses = [_decode_status(line) for line in lines]
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        accounts = [s.account for s in statuses]
        shown = [s if s.reblog is None else s.reblog for s in statuses]
        ids = [s.uri or s.id for s in statuses]
        created = [s.created_at for s in statuses]
        content = [s.content for s in shown]
        if not (
            plain_strings(ids)
            and plain_strings(created, blank=True)
            and plain_strings(content, blank=True)
        ):
            return None
        if not set(map(type, accounts)) <= {_Account}:  # none missing
            return None
        accts = [a.acct for a in accounts]  # type: ignore[union-attr]
        if not plain_strings(accts):
            return None
        counts = {}
        for name, field in _COUNTS:
            values = [getattr(s, field) for s in statuses]
            column = count_column(values)
            if column is None:
                return None
            counts[name] = column
        urls = [
            None if "@" in a else account.url  # type: ignore[union-attr]
            for a, account in zip(accts, accounts, strict=True)
        ]
        if not _plain_urls(urls):
            return None
        n = len(statuses)
        return {
            "id": ids,
            "created_at": created,
            "author": accts,
            "text": content,
            "platform": ["mastodon"] * n,
            "lang": [x.language if type(x.language) is str else None for x in shown],
            **counts,
            "quotes": [0] * n,
            "hashtags": [
                None if x.tags is None else joined([t.name for t in x.tags if type(t.name) is str])
                for x in shown
            ],
            "community": [None] * n,
            "_repost": [None if s.reblog is None else "mastodon boost" for s in statuses],
            "_account_url": urls,
        }

    def finish_rows(self, cols: dict[str, Any]) -> None:
        """What :meth:`to_row` does after :meth:`partial_row`, for a batch of its rows
        at once: ``text`` (HTML) becomes text (:func:`html_to_text_batch`) and
        ``hashtags`` (tags as named, joined as the reader joins them) are spelled as
        written (:func:`spell_as_written`), and a local ``acct`` of :meth:`fast_block`
        gets its server (:func:`with_hosts`). The three become series."""
        cols["author"] = with_hosts(
            pl.Series(cols["author"], dtype=pl.String),
            pl.Series(cols["_account_url"], dtype=pl.String),
        )
        texts = html_to_text_batch(pl.Series(cols["text"], dtype=pl.String))
        names = split_joined(pl.Series(cols["hashtags"], dtype=pl.String))
        cols["text"] = texts
        cols["hashtags"] = spell_as_written(names, texts)


def _row(
    ident: str,
    created: Any,
    author: str,
    content: Any,
    names: list[str] | None,
    language: Any,
    likes: Any,
    reblogs: Any,
    replies: Any,
    boost: bool,
) -> Row:
    """The row of a status from its fields as read (the checks both ways share), its
    ``text`` the HTML and its tags as named (see :meth:`Mastodon.partial_row`)."""
    if not isinstance(content, str):
        raise RecordError(f"{WHAT} has no 'content'")
    if not isinstance(created, str):
        raise RecordError(f"{WHAT} has no 'created_at'")
    return {  # every canonical column (common.row, spelled out: millions are made)
        "id": ident,
        "created_at": created,
        "author": author,
        "text": content,
        "platform": "mastodon",
        "lang": language if isinstance(language, str) else None,
        "likes": count(likes, "favourites_count") or 0,
        "reposts": count(reblogs, "reblogs_count") or 0,
        "replies": count(replies, "replies_count") or 0,
        "quotes": 0,
        "hashtags": names,
        "community": None,
        "_repost": "mastodon boost" if boost else None,
        "_account_url": None,
    }


class _Tag(msgspec.Struct, gc=False):
    name: Any = None


class _Account(msgspec.Struct, gc=False):
    acct: Any = None
    url: Any = None


class _Shown(msgspec.Struct, gc=False):
    """What a status shows: its own, or (a boost) the boosted status's."""

    content: Any = None
    tags: list[_Tag] | None = None
    language: Any = None


class _Status(_Shown):
    """The fields of a REST status :class:`Mastodon` reads; the rest is skipped unread.
    Scalars are ``Any``, so they arrive as the generic decode gives them and get the
    same checks; the nested ones must be objects (a list of objects for ``tags``),
    else the decode fails and the status goes the generic way."""

    id: Any = None
    uri: Any = None
    created_at: Any = None
    account: _Account | None = None
    reblog: _Shown | None = None
    favourites_count: Any = None
    reblogs_count: Any = None
    replies_count: Any = None


_decode_status = msgspec.json.Decoder(_Status).decode


_COUNTS = (
    ("likes", "favourites_count"),
    ("reposts", "reblogs_count"),
    ("replies", "replies_count"),
)
