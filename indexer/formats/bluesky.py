"""Bluesky posts: Jetstream events, firehose-style records and AppView post views.

- **Jetstream** (``{"did", "time_us", "kind": "commit", "commit": {"operation",
  "collection", "rkey", "record", "cid"}}``): a ``create`` or ``update`` of an
  ``app.bsky.feed.post`` is a post (an update is a later copy of the same post, so
  it replaces the earlier one); a ``delete`` of one is a :class:`Delete` of
  ``bluesky:at://<did>/app.bsky.feed.post/<rkey>``, the very id its create had.
  ``identity``/``account`` events and other collections (likes, follows...) are
  skipped, counted by kind.
- **Firehose** (``com.atproto.sync.subscribeRepos#commit`` as JSON, ``{"repo",
  "time", "ops": [{"action", "path", "cid", "record"}]}``, with each op's record
  decoded from the commit's CAR ``blocks``): the same rules per op. A create op
  without a decoded record is rejected (the CAR blocks were not decoded). Also
  one record per line: ``{"repo", "path", "record"}`` (optionally ``"action"``).
- **AppView** post views (``{"uri", "author", "record", "likeCount"...}``, bare or
  in a ``posts``/``feed`` page). A feed item reposted by someone is the original
  post by its author (its own id, so two copies are one post).

Tags are the record's ``#tag`` facets (``app.bsky.richtext.facet#tag``, the tag
without ``#``; the facet's ``byteStart``/``byteEnd`` are UTF-8 offsets into the
text, not needed since the feature carries the tag), then its ``tags`` (the
lexicon's extra hashtags, not shown in the text). A record with neither
``facets`` nor ``tags`` falls back to the text's tags.

Reposts (``app.bsky.feed.repost`` records) hold only the subject's URI, no text:
the original's tags are unknown, so every repost is skipped (counted as
:data:`REPOST_SKIPPED`) under either repost policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

from indexer.formats.common import (
    Context,
    Delete,
    RecordError,
    Row,
    Skip,
    count,
    get_path,
    need_str,
    obj,
    opt_str,
    row,
)
from indexer.formats.native import Mapper

WHAT = "Bluesky post"
POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
REPOST_SKIPPED = "bluesky repost (a record without text: the original's tags are unknown)"
"""The skip reason of every Bluesky repost, under either repost policy."""
FIREHOSE = "com.atproto.sync.subscribeRepos#"
TAG_FEATURE = "app.bsky.richtext.facet#tag"
_NO_CONTEXT: Context = {}


def facet_tags(record: dict[str, Any]) -> list[str] | None:
    """The ``#tag`` facets of a post record, in order, then its extra ``tags``.

    None when the record has neither ``facets`` nor ``tags`` (a client that does not
    write facets): then the text's tags count, as for any post without a tag list.
    """
    facets = record.get("facets")
    extra = record.get("tags")
    if facets is None and extra is None:
        return None
    out: list[str] = []
    for facet in facets if isinstance(facets, list) else ():
        features = facet.get("features") if isinstance(facet, dict) else None
        if not isinstance(features, list):
            continue
        for feature in features:
            if isinstance(feature, dict) and feature.get("$type") == TAG_FEATURE:
                tag = feature.get("tag")
                if isinstance(tag, str):
                    out.append(tag)
    out.extend(t for t in (extra if isinstance(extra, list) else []) if isinstance(t, str))
    return out


_Found = tuple[str, str, dict[str, Any], str | int | None]
"""(post URI, author DID, post record, fallback time) of a record that is a post; the
fallback time of a Jetstream event is its ``time_us`` (microseconds), formatted only
when the record has no ``createdAt`` (:func:`_fallback_time`)."""


def _fallback_time(fallback: str | int | None) -> str | None:
    """The time of a post without ``createdAt``: a Jetstream ``time_us`` as seconds."""
    return f"{fallback / 1e6:.6f}" if isinstance(fallback, int) else fallback


def post_uri(did: str, rkey: str) -> str:
    """The AT-URI of a post: its id here, for creates and deletes alike."""
    return f"at://{did}/{POST}/{rkey}"


def _event(value: dict[str, Any]) -> _Found | Skip | Delete:
    """A Jetstream event's post, the post it deletes, or why it is skipped."""
    kind = value.get("kind", "commit")
    commit = value.get("commit")
    if kind != "commit" or not isinstance(commit, dict):
        return Skip(f"bluesky '{kind}' event")
    collection = commit.get("collection")
    operation = commit.get("operation", "create")
    if collection == REPOST:
        return Skip(REPOST_SKIPPED)
    if collection != POST:
        return Skip(f"bluesky {collection} {operation}")
    did = need_str(value.get("did"), "did", WHAT)
    rkey = need_str(commit.get("rkey"), "commit.rkey", WHAT)
    if operation == "delete":
        return Delete("bluesky", post_uri(did, rkey))
    if operation not in ("create", "update"):
        return Skip(f"bluesky post {operation}")
    record = obj(commit.get("record"), f"{WHAT} 'commit.record'")
    time_us = value.get("time_us")
    return post_uri(did, rkey), did, record, time_us if isinstance(time_us, int) else None


def _op(op: dict[str, Any], ctx: Context) -> _Found | Skip | Delete:
    """One op of a firehose (``com.atproto.sync.subscribeRepos#commit``) event whose
    records were decoded from its CAR ``blocks`` into the op's ``record``."""
    repo = need_str(ctx.get("repo"), "repo", WHAT)
    action = op.get("action")
    path = need_str(op.get("path"), "ops.path", WHAT)
    collection, _, rkey = path.partition("/")
    if collection == REPOST:
        return Skip(REPOST_SKIPPED)
    if collection != POST:
        return Skip(f"bluesky {collection} {action}")
    if not rkey:
        raise RecordError(f"{WHAT}: 'ops.path' has no record key: {path!r}")
    if action == "delete":
        return Delete("bluesky", post_uri(repo, rkey))
    if action not in ("create", "update"):
        return Skip(f"bluesky post {action}")
    record = op.get("record")
    if not isinstance(record, dict):
        raise RecordError(
            f"{WHAT}: firehose op has no decoded 'record' (decode the commit's CAR blocks)"
        )
    return post_uri(repo, rkey), repo, record, opt_str(ctx.get("time"))


def _deleted(value: dict[str, Any]) -> Delete | Skip:
    """The post a firehose-style ``{"repo", "path", "action": "delete"}`` line deletes."""
    repo = need_str(value.get("repo") or value.get("did"), "repo", WHAT)
    found = opt_str(value.get("uri"))
    if found is not None:
        return Delete("bluesky", found)
    collection, _, rkey = need_str(value.get("path"), "path", WHAT).rpartition("/")
    if collection != POST or not rkey:
        return Skip(f"bluesky {collection} delete")
    return Delete("bluesky", post_uri(repo, rkey))


def _view(value: dict[str, Any]) -> _Found | Skip | Delete:
    """A post view (AppView ``getPosts``/``searchPosts``) or a firehose-style record
    (``repo`` + ``path`` + ``record``, with an optional ``action``)."""
    kind = opt_str(value.get("$type"))
    if kind and kind.startswith(FIREHOSE):
        return Skip(f"bluesky firehose '{kind.removeprefix(FIREHOSE)}' event")
    action = value.get("action", value.get("operation"))
    if action == "delete":
        return _deleted(value)
    record = obj(value.get("record"), f"{WHAT} 'record'")
    if record.get("$type", POST) == REPOST:
        return Skip(REPOST_SKIPPED)
    if record.get("$type", POST) != POST:
        return Skip(f"bluesky {record.get('$type')} record")
    author = value.get("author")
    did = (
        opt_str(get_path(author, "did"))
        or opt_str(author)
        or opt_str(value.get("did"))
        or opt_str(value.get("repo"))
    )
    uri = opt_str(value.get("uri"))
    if uri is None and did:
        path = opt_str(value.get("path"))
        rkey = opt_str(value.get("rkey")) or (path.rsplit("/", 1)[-1] if path else None)
        uri = post_uri(did, rkey) if rkey else None
    if did is None and uri and uri.startswith("at://"):
        did = uri[5:].split("/", 1)[0]
    uri = need_str(uri, "uri", WHAT)
    return uri, need_str(did, "author.did", WHAT), record, opt_str(value.get("indexedAt"))


_FeatureKeys = TypedDict("_FeatureKeys", {"$type": Any, "tag": Any}, total=False)


class _FacetKeys(TypedDict, total=False):
    features: list[_FeatureKeys] | None


_PostKeys = TypedDict(
    "_PostKeys",
    {
        "$type": Any,
        "text": Any,
        "createdAt": Any,
        "langs": Any,
        "facets": list[_FacetKeys] | None,
        "tags": Any,
    },
    total=False,
)
"""A post record's keys :class:`Bluesky` reads (not its ``embed``, ``reply``, a facet's
``index`` or a link's ``uri``...)."""


class _CommitKeys(TypedDict, total=False):
    collection: Any
    operation: Any
    rkey: Any
    record: _PostKeys


_LineKeys = TypedDict(
    "_LineKeys",
    {
        # a Jetstream event
        "kind": Any,
        "did": Any,
        "time_us": Any,
        "commit": _CommitKeys,
        # a firehose commit or record, an AppView view or page
        "repo": Any,
        "time": Any,
        "ops": Any,
        "posts": Any,
        "feed": Any,
        "$type": Any,
        "action": Any,
        "operation": Any,
        "record": _PostKeys,
        "author": Any,
        "uri": Any,
        "path": Any,
        "rkey": Any,
        "indexedAt": Any,
        "likeCount": Any,
        "repostCount": Any,
        "replyCount": Any,
        "quoteCount": Any,
    },
    total=False,
)
"""Every key :class:`Bluesky` reads of a line, whatever its shape; the post record's
with just its keys read (:data:`_PostKeys`)."""


class Bluesky(Mapper):
    """Mapper for Bluesky (see :class:`indexer.formats.native.Mapper`).

    The id is the post's ``at://`` URI, the author its DID (handles change; DIDs do not).
    Events other than a post's creation, update or deletion are skipped, not rejected.
    """

    line_keys = _LineKeys
    """A line is decoded with just these keys (the rest skipped unread), into a dict
    the mapping reads as it reads the whole one; a line whose ``commit`` or ``record``
    is not an object, or whose facets are not objects, is decoded whole."""

    def sniff_record(self, record: dict[Any, Any]) -> bool:
        commit = record.get("commit")
        jetstream = "time_us" in record or isinstance(commit, dict)
        if "did" in record and jetstream and "kind" in record:
            return True  # a Jetstream event, of any kind
        if isinstance(commit, dict) and commit.get("collection") == "app.bsky.feed.post":
            return True
        post = record.get("record")
        if isinstance(post, dict) and post.get("$type") == "app.bsky.feed.post":
            return True
        kind = record.get("$type")
        # a firehose event (as JSON), of any kind
        return isinstance(kind, str) and kind.startswith("com.atproto.sync.subscribeRepos#")

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        if isinstance(value, list):
            for item in value:
                yield from self.records(item)
        elif isinstance(value, dict) and isinstance(value.get("ops"), list) and "repo" in value:
            ctx: Context = {"repo": value["repo"], "time": value.get("time")}
            for op in value["ops"]:
                yield op, ctx
        elif isinstance(value, dict) and isinstance(value.get("posts"), list):
            for item in value["posts"]:
                yield item, _NO_CONTEXT
        elif isinstance(value, dict) and isinstance(value.get("feed"), list):
            for item in value["feed"]:
                yield (item.get("post") if isinstance(item, dict) else item), _NO_CONTEXT
        else:
            yield value, _NO_CONTEXT

    def to_row(self, record: Any, ctx: Context) -> Row | Skip | Delete:
        value = obj(record, WHAT)
        found: _Found | Skip | Delete
        if "repo" in ctx:
            found = _op(value, ctx)
        elif "commit" in value or "kind" in value:
            found = _event(value)
        else:
            found = _view(value)
        if isinstance(found, (Skip, Delete)):
            return found
        uri, did, post, fallback_time = found
        text = post.get("text")
        if not isinstance(text, str):
            raise RecordError(f"{WHAT} has no 'text'")
        langs = post.get("langs")
        lang = langs[0] if isinstance(langs, list) and langs else None
        created = opt_str(post.get("createdAt")) or _fallback_time(fallback_time)
        if created is None:
            raise RecordError(f"{WHAT} has no 'createdAt'")
        return row(
            id=uri,
            created_at=created,
            author=did,
            text=text,
            platform="bluesky",
            lang=opt_str(lang),
            likes=count(value.get("likeCount"), "likeCount") or 0,
            reposts=count(value.get("repostCount"), "repostCount") or 0,
            replies=count(value.get("replyCount"), "replyCount") or 0,
            quotes=count(value.get("quoteCount"), "quoteCount") or 0,
            hashtags=facet_tags(post),
        )
