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

import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from indexer.extract import extract_hashtags
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
)
from indexer.native.html_text import html_to_text

WHAT = "Mastodon status"
_NO_CONTEXT: Context = {}


def _key(tag: str) -> str:
    return unicodedata.normalize("NFKC", tag).casefold()


def full_acct(account: dict[str, Any]) -> str:
    """``user@server`` for every account (a local account's ``acct`` lacks the server)."""
    acct = need_str(account.get("acct"), "account.acct", WHAT)
    if "@" in acct:
        return acct
    host = urlsplit(opt_str(account.get("url")) or "").hostname
    return f"{acct}@{host}" if host else acct


def as_written(tags: list[str], text: str) -> list[str]:
    """Mastodon's tag names, spelled as in the text where the text has them."""
    if not tags:
        return tags
    written = {_key(t): t for t in reversed(extract_hashtags(text))}
    return [written.get(_key(t), t) for t in tags]


class Mastodon:
    """Mapper for Mastodon statuses (see :class:`indexer.native.common.Mapper`).

    Identity is the status ``uri`` (global; the same post fetched from two servers has
    two local ``id`` but one ``uri``), falling back to ``id``. A reblog is a post by the
    reblogger with the reblogged text and tags, as an X retweet is (flagged).
    """

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        if isinstance(value, list):
            for item in value:
                yield item, _NO_CONTEXT
        else:
            yield value, _NO_CONTEXT

    def to_row(self, record: Any, ctx: Context) -> Row | Skip:
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
        return row(
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
            hashtags=as_written(tag_list(tags, "name"), text) if isinstance(tags, list) else None,
            _repost="mastodon boost" if boost else None,
        )
