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
  :func:`indexer.native.read_native`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from indexer.extract import extract_hashtags, extract_hashtags_batch
from indexer.native.common import (
    Context,
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
)
from indexer.native.html_text import html_to_text

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
    if "@" in acct:
        return acct
    host = _host(opt_str(account.get("url")) or "")
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


_BATCH_MIN = 64
"""Fewer pending rows than this are spelled one by one (polars has a cost per call)."""


def as_written_columns(cols: dict[str, list[Any]], pending: list[int]) -> None:
    """:func:`as_written` for the rows ``pending`` of the columns ``cols`` (their
    ``hashtags`` the platform's names), in place, with the text's tags of all of them
    extracted at once (:func:`indexer.extract.extract_hashtags_batch`, which equals
    ``extract_hashtags``)."""
    tags, texts = cols["hashtags"], cols["text"]
    if len(pending) < _BATCH_MIN:
        found = [extract_hashtags(texts[i]) for i in pending]
    else:
        batch = pl.Series([texts[i] for i in pending], dtype=pl.String)
        found = extract_hashtags_batch(batch).to_list()
    for i, text_tags in zip(pending, found, strict=True):
        tags[i] = _spelled(tags[i], text_tags)


class Mastodon:
    """Mapper for Mastodon statuses (see :class:`indexer.native.common.Mapper`).

    Identity is the status ``uri`` (global; the same post fetched from two servers has
    two local ``id`` but one ``uri``), falling back to ``id``. A reblog is a post by the
    reblogger with the reblogged text and tags, as an X retweet is (flagged).
    """

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        return listed(value)

    def to_row(self, record: Any, ctx: Context) -> Row | Skip:
        out = self.to_row_pending(record, ctx)
        if isinstance(out, dict) and out.pop("_pending", False):
            out["hashtags"] = as_written(out["hashtags"], out["text"])
        return out

    def to_row_pending(self, record: Any, ctx: Context) -> Row | Skip:
        """:meth:`to_row` but for the spelling of the tags (:func:`as_written`), left to
        :meth:`finish_rows` (a row with tags is marked ``_pending``)."""
        status = obj(record, WHAT)
        ident = need_str(status.get("uri") or status.get("id"), "uri", WHAT)
        account = obj(status.get("account"), f"{WHAT} 'account'")
        boost = isinstance(status.get("reblog"), dict)
        shown = status["reblog"] if boost else status
        content = get_path(shown, "content")
        if not isinstance(content, str):
            raise RecordError(f"{WHAT} has no 'content'")
        text = html_to_text(content)
        tags = get_path(shown, "tags")
        created = status.get("created_at")
        if not isinstance(created, str):
            raise RecordError(f"{WHAT} has no 'created_at'")
        names = tag_list(tags, "name") if isinstance(tags, list) else None
        out = row(
            id=ident,
            created_at=created,
            author=full_acct(account),
            text=text,
            platform="mastodon",
            lang=opt_str(get_path(shown, "language")),
            likes=count(status.get("favourites_count"), "favourites_count") or 0,
            reposts=count(status.get("reblogs_count"), "reblogs_count") or 0,
            replies=count(status.get("replies_count"), "replies_count") or 0,
            quotes=0,
            hashtags=names,
            _repost="mastodon boost" if boost else None,
        )
        if names:
            out["_pending"] = True
        return out

    def finish_rows(self, cols: dict[str, list[Any]], pending: list[int]) -> None:
        """Spell the tags of the ``pending`` rows :meth:`to_row_pending` made, at once."""
        as_written_columns(cols, pending)
