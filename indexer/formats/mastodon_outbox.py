"""A Mastodon account archive's ``outbox.json``: ActivityPub activities of one account.

The archive (Settings > Import and export > Request your archive) holds
``outbox.json``, an ActivityStreams ``OrderedCollection`` (written on one line)
whose ``orderedItems`` are the account's activities, oldest first:

- ``Create`` with an ``object`` ``Note`` (or ``Question``, a poll): a post. Its id
  is the Note's ``id`` URI, the same as the REST API's status ``uri`` (so a post in
  an archive and in a timeline dump is one post); its time ``published``; its
  author the ``attributedTo`` actor as ``user@server`` (``https://host/users/alice``
  -> ``alice@host``, like the REST reader's ``acct``; the URI itself when it has no
  ``/users/<name>`` or ``/@<name>`` path); its text the HTML ``content`` as plain
  text; its language the key of ``contentMap``; its tags the ``Hashtag`` entries of
  ``tag`` (``"name": "#tag"``), spelled as in the text where the text has them (no
  ``tag`` at all: the text's tags); likes and reposts the ``likes``/``shares``
  collections' ``totalItems`` (replies are not counted there: 0).
- Only public and unlisted posts are indexed (the public collection in ``to`` or
  ``cc``); followers-only and direct posts are skipped, counted, as a timeline
  dump would not hold them either.
- ``Announce`` (a boost) carries only the boosted post's URI, no text or tags, so
  it is skipped (counted as :data:`BOOST_SKIPPED`) under either repost policy.
- ``Delete`` of a post (its ``object`` a ``Tombstone`` or the post's URI) is a
  :class:`~indexer.formats.common.Delete` of it, applied as a Bluesky delete is (a
  post's id is the same URI in an outbox and in a REST dump).
- Any other activity is skipped, counted by type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from indexer.formats.common import (
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
)
from indexer.formats.html_text import html_to_text
from indexer.formats.mastodon import as_written
from indexer.formats.native import Mapper

WHAT = "Mastodon outbox activity"
PUBLIC = (
    "https://www.w3.org/ns/activitystreams#Public",
    "as:Public",
    "Public",
)
"""The public collection, as ActivityPub allows it to be written."""
POST_TYPES = ("Note", "Question", "Article", "Page")
BOOST_SKIPPED = "mastodon-outbox boost (Announce: the boosted post's URI only, no text)"
"""The skip reason of every ``Announce`` in an outbox, under either repost policy."""
NOT_PUBLIC = "mastodon-outbox followers-only or direct post"
_ACTOR_PATH = re.compile(r"^/(?:users/|@)([^/@]+)/?$")


def actor_acct(uri: str) -> str:
    """``user@host`` of an actor URI (``https://host/users/user`` or ``https://host/@user``),
    else the URI as given."""
    parts = urlsplit(uri)
    found = _ACTOR_PATH.match(parts.path)
    if parts.hostname and found:
        return f"{found.group(1)}@{parts.hostname}"
    return uri


def _as_list(value: Any) -> list[Any]:
    """An ActivityStreams property as a list (a single value may stand alone)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _hashtags(tags: Any) -> list[str]:
    out: list[str] = []
    for tag in _as_list(tags):
        name = get_path(tag, "name")
        if get_path(tag, "type") == "Hashtag" and isinstance(name, str):
            name = name.removeprefix("#").removeprefix("＃")
            if name:
                out.append(name)
    return out


def _total(collection: Any, field: str) -> int:
    return count(get_path(collection, "totalItems"), f"{field}.totalItems") or 0


def _deleted(activity: dict[str, Any]) -> Delete | Skip:
    """The post a ``Delete`` activity deletes: its ``object``'s ``id`` (or the object
    itself, a URI). One of an account (the actor itself, or a ``Person``) or without an
    id is skipped, counted."""
    target = activity.get("object")
    if target is not None and target == activity.get("actor"):
        return Skip("mastodon-outbox Delete of an account")
    if isinstance(target, dict):
        if target.get("type") not in ("Tombstone", *POST_TYPES):
            return Skip(f"mastodon-outbox Delete of a '{target.get('type')}'")
        target = target.get("id")
    if not isinstance(target, str) or not target.strip():
        return Skip("mastodon-outbox Delete without an object id")
    return Delete("mastodon", target)


class MastodonOutbox(Mapper):
    """Mapper for an account archive's outbox (see :class:`indexer.formats.native.Mapper`)."""

    def sniff_record(self, record: dict[Any, Any]) -> bool:
        """An ActivityPub activity (an archive's outbox item)."""
        return (
            record.get("type") in ("Create", "Announce")
            and "actor" in record
            and "object" in record
        )

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        return listed(value, "orderedItems")

    def to_row(self, record: Any, ctx: Context) -> Row | Skip | Delete:
        activity = obj(record, WHAT)
        kind = activity.get("type")
        if kind == "Announce":
            return Skip(BOOST_SKIPPED)
        if kind == "Delete":
            return _deleted(activity)
        if kind != "Create":
            return Skip(f"mastodon-outbox '{kind}' activity")
        note = obj(activity.get("object"), f"{WHAT} 'object'")
        if note.get("type") not in POST_TYPES:
            return Skip(f"mastodon-outbox Create of a '{note.get('type')}'")
        ident = need_str(note.get("id"), "object.id", WHAT)
        audience = _as_list(note.get("to", activity.get("to")))
        audience += _as_list(note.get("cc", activity.get("cc")))
        if not any(a in PUBLIC for a in audience):
            return Skip(NOT_PUBLIC)
        content = note.get("content")
        if not isinstance(content, str):
            raise RecordError(f"{WHAT} has no 'object.content'")
        text = html_to_text(content)
        created = opt_str(note.get("published")) or opt_str(activity.get("published"))
        if created is None:
            raise RecordError(f"{WHAT} has no 'object.published'")
        actor = opt_str(note.get("attributedTo")) or opt_str(get_path(note, "attributedTo", "id"))
        actor = need_str(actor or activity.get("actor"), "object.attributedTo", WHAT)
        languages = note.get("contentMap")
        lang = next(iter(languages), None) if isinstance(languages, dict) else None
        return row(
            id=ident,
            created_at=created,
            author=actor_acct(actor),
            text=text,
            platform="mastodon",
            lang=lang,
            likes=_total(note.get("likes"), "likes"),
            reposts=_total(note.get("shares"), "shares"),
            replies=0,
            quotes=0,
            hashtags=as_written(_hashtags(note["tag"]), text) if "tag" in note else None,
        )
