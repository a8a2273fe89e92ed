"""Bluesky posts: Jetstream events, firehose-style records and AppView post views."""

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
)

WHAT = "Bluesky post"
POST = "app.bsky.feed.post"
TAG_FEATURE = "app.bsky.richtext.facet#tag"
_NO_CONTEXT: Context = {}


def facet_tags(record: dict[str, Any]) -> list[str]:
    """The ``#tag`` facets of a post record, in order, then its extra ``tags``."""
    out: list[str] = []
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else []:
        features = get_path(facet, "features")
        for feature in features if isinstance(features, list) else []:
            if get_path(feature, "$type") == TAG_FEATURE and isinstance(feature.get("tag"), str):
                out.append(feature["tag"])
    extra = record.get("tags")
    out.extend(t for t in (extra if isinstance(extra, list) else []) if isinstance(t, str))
    return out


def _event(value: dict[str, Any]) -> tuple[str, str, dict[str, Any], str | None] | Skip:
    """(uri, author did, record, fallback time) of a Jetstream event, or why it is skipped."""
    kind = value.get("kind", "commit")
    commit = value.get("commit")
    if kind != "commit" or not isinstance(commit, dict):
        return Skip(f"bluesky '{kind}' event")
    collection = commit.get("collection")
    if collection != POST:
        return Skip(f"bluesky {collection} {commit.get('operation')}")
    if commit.get("operation", "create") != "create":
        return Skip(f"bluesky post {commit.get('operation')}")
    did = need_str(value.get("did"), "did", WHAT)
    rkey = need_str(commit.get("rkey"), "commit.rkey", WHAT)
    record = obj(commit.get("record"), f"{WHAT} 'commit.record'")
    time_us = value.get("time_us")
    fallback = f"{time_us / 1e6:.6f}" if isinstance(time_us, int) else None
    return f"at://{did}/{POST}/{rkey}", did, record, fallback


def _view(value: dict[str, Any]) -> tuple[str, str, dict[str, Any], str | None] | Skip:
    """(uri, author did, record, fallback time) of a post view or firehose-style record."""
    record = obj(value.get("record"), f"{WHAT} 'record'")
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
        uri = f"at://{did}/{POST}/{rkey}" if rkey else None
    if did is None and uri and uri.startswith("at://"):
        did = uri[5:].split("/", 1)[0]
    uri = need_str(uri, "uri", WHAT)
    return uri, need_str(did, "author.did", WHAT), record, opt_str(value.get("indexedAt"))


class Bluesky:
    """Mapper for Bluesky (see :class:`indexer.native.common.Mapper`).

    The id is the post's ``at://`` URI, the author its DID (handles change; DIDs do not).
    Events other than a post's creation are skipped, not rejected.
    """

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        if isinstance(value, list):
            for item in value:
                yield from self.records(item)
        elif isinstance(value, dict) and isinstance(value.get("posts"), list):
            for item in value["posts"]:
                yield item, _NO_CONTEXT
        elif isinstance(value, dict) and isinstance(value.get("feed"), list):
            for item in value["feed"]:
                yield (item.get("post") if isinstance(item, dict) else item), _NO_CONTEXT
        else:
            yield value, _NO_CONTEXT

    def to_row(self, record: Any, ctx: Context) -> Row | Skip:
        value = obj(record, WHAT)
        found = _event(value) if "commit" in value or "kind" in value else _view(value)
        if isinstance(found, Skip):
            return found
        uri, did, post, fallback_time = found
        text = post.get("text")
        if not isinstance(text, str):
            raise RecordError(f"{WHAT} has no 'text'")
        langs = post.get("langs")
        lang = langs[0] if isinstance(langs, list) and langs else None
        created = opt_str(post.get("createdAt")) or fallback_time
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
