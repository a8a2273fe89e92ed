"""Which native format a file is in, from its first bytes (keys, not names)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import zstandard

from indexer.errors import InputError
from indexer.native.common import get_path
from indexer.native.jsonscan import parse_prefix
from indexer.sources import open_decompressed

HEAD_BYTES = 64 << 10
"""How much of a file :func:`detect_file` reads."""
NATIVE_FORMATS = ("x-v1", "x-v2", "mastodon", "mastodon-outbox", "bluesky", "reddit")
CANONICAL = "canonical"
_SAMPLE = 20


def _classify_record(rec: Any) -> str | None:
    """The format of one record: a native format, CANONICAL, or None (cannot tell)."""
    if not isinstance(rec, dict):
        return None
    has_text = "text" in rec or "full_text" in rec
    if "id_str" in rec and "user" in rec and has_text:
        return "x-v1"
    if "id" in rec and has_text and isinstance(get_path(rec, "user", "screen_name"), str):
        return "x-v1"  # before id_str (2007-era API)
    author = rec.get("author")
    if (
        "author_id" in rec
        and "text" in rec
        and "id" in rec
        and (author is None or isinstance(author, dict))
    ):
        return "x-v2"
    if "content" in rec and isinstance(rec.get("account"), dict) and "uri" in rec:
        return "mastodon"
    if rec.get("type") in ("Create", "Announce") and "actor" in rec and "object" in rec:
        return "mastodon-outbox"  # an ActivityPub activity (an archive's outbox item)
    commit = rec.get("commit")
    if "did" in rec and ("time_us" in rec or isinstance(commit, dict)) and "kind" in rec:
        return "bluesky"  # a Jetstream event, of any kind
    if isinstance(commit, dict) and commit.get("collection") == "app.bsky.feed.post":
        return "bluesky"
    record = rec.get("record")
    if isinstance(record, dict) and record.get("$type") == "app.bsky.feed.post":
        return "bluesky"
    kind = rec.get("$type")
    if isinstance(kind, str) and kind.startswith("com.atproto.sync.subscribeRepos#"):
        return "bluesky"  # a firehose event (as JSON), of any kind
    if (
        "subreddit" in rec
        and ("body" in rec or "selftext" in rec)
        and "author" in rec
        and "created_utc" in rec
    ):
        return "reddit"
    if rec.get("kind") in ("t1", "t3") and isinstance(rec.get("data"), dict):
        return _classify_record(rec["data"])
    if all(k in rec for k in ("id", "created_at", "author", "text")):
        return CANONICAL
    return None


def _classify_value(value: Any) -> str | None:
    """The format of one JSON value: a record, an array of them or a response page."""
    if isinstance(value, list):
        for item in value[:_SAMPLE]:
            found = _classify_value(item)
            if found is not None:
                return found
        return None
    if not isinstance(value, dict):
        return None
    statuses = value.get("statuses")
    if isinstance(statuses, list):
        return _classify_value(statuses) or ("x-v1" if "search_metadata" in value else None)
    data = value.get("data")
    if isinstance(data, (list, dict)) and "text" not in value:
        tweets = data if isinstance(data, list) else [data]
        if any(
            isinstance(t, dict) and ("author_id" in t or "edit_history_tweet_ids" in t)
            for t in tweets[:_SAMPLE]
        ):
            return "x-v2"
    items = value.get("orderedItems")
    if isinstance(items, list) and value.get("type") in ("OrderedCollection", None):
        found = _classify_value(items)
        if found is not None:
            return found
    for key in ("posts", "feed"):
        items = value.get(key)
        if isinstance(items, list):
            inner = [i.get("post", i) if isinstance(i, dict) else i for i in items]
            found = _classify_value(inner)
            if found is not None:
                return found
    if "delete" in value or "limit" in value:
        return None  # an X v1.1 stream notice: look further
    return _classify_record(value)


def _values(text: str) -> list[Any]:
    """The JSON values at the start of ``text``: its first complete lines, else a prefix."""
    values: list[Any] = []
    lines = text.split("\n")
    for line in lines[:-1] if len(lines) > 1 else lines:
        line = line.strip()
        if not line:
            continue
        try:
            values.append(json.loads(line))
        except json.JSONDecodeError:
            break
        if len(values) >= _SAMPLE:
            break
    if not values:
        partial = parse_prefix(text)
        if partial is not None:
            values.append(partial)
    return values


def detect(head: bytes) -> str | None:
    """The native format of a file from its first bytes (decompressed), None if canonical.

    One of :data:`NATIVE_FORMATS` when the content is clearly that format: JSON
    objects one a line, a JSON array, or a response page (X v1.1 search
    ``statuses``, X v2 ``data`` + ``includes``, Bluesky ``posts``/``feed``, an
    ActivityPub ``OrderedCollection`` such as a Mastodon archive's ``outbox.json``).
    Anything else (canonical NDJSON, CSV, Parquet, unknown JSON) is None.
    """
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return None
    for value in _values(text):
        found = _classify_value(value)
        if found is not None:
            return None if found == CANONICAL else found
    return None


def detect_file(path: Path) -> str | None:
    """:func:`detect` on the first :data:`HEAD_BYTES` of ``path`` (decompressed)."""
    try:
        with open_decompressed(path) as f:
            head = f.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    return detect(head)
