"""Which format a file is in, from its first bytes: the registry's formats asked in order."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import zstandard

from indexer.errors import InputError
from indexer.formats.base import SAMPLE_VALUES, Head, InputFormat
from indexer.formats.jsonscan import parse_prefix
from indexer.formats.registry import FORMATS, names
from indexer.inputs import format_from_name
from indexer.sources import open_decompressed

HEAD_BYTES = 64 << 10
"""How much of a file (decompressed) detection reads."""


def detect(path: Path, data: bytes, named: str | None) -> str:
    """The format of the file at ``path`` whose first :data:`HEAD_BYTES` (decompressed) are
    ``data``, and whose name suggests the format ``named`` (or None): the first format of
    the registry whose reader recognises it (:meth:`InputFormat.sniff`). A file that none
    recognises is an :class:`InputError` naming the file and the formats tried."""
    readers = [f.reader() for f in FORMATS]
    head = Head(path, data, named, lambda h: _first_reader(h, readers))
    for fmt, reader in zip(FORMATS, readers, strict=True):
        if reader.sniff(head):
            return fmt.name
    raise unknown_format(path, _why(head))


def unknown_format(path: Path, why: str) -> InputError:
    return InputError(
        f"{path}: unknown format ({why}); tried {', '.join(names())}; name one with --format"
    )


def _why(head: Head) -> str:
    if head.binary:
        return "binary content"
    if head.json:
        shown = ", ".join(head.keys[:8]) + (", ..." if len(head.keys) > 8 else "")
        return f"JSON records of no known format (keys: {shown})"
    return "neither JSON nor CSV"


def _first_reader(head: Head, readers: Sequence[InputFormat]) -> InputFormat | None:
    """The reader of the first JSON value at the start of ``head`` that one recognises:
    JSON objects one a line, a JSON array, or a response page (X v1.1 search
    ``statuses``, X v2 ``data`` + ``includes``, Bluesky ``posts``/``feed``, an
    ActivityPub ``OrderedCollection`` such as a Mastodon archive's ``outbox.json``)."""
    text = head.data.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return None
    for value in _values(text):
        found = _classify_value(value, readers)
        if found is not None:
            return found
    return None


def _classify_record(rec: Any, readers: Sequence[InputFormat]) -> InputFormat | None:
    """The reader of one record, tried in registry order; None if none recognises it."""
    if not isinstance(rec, dict):
        return None
    for reader in readers:
        if reader.sniff_record(rec):
            return reader
        inner = reader.unwrap_record(rec)
        if inner is not None:
            return _classify_record(inner, readers)
    return None


def _page(value: dict[Any, Any], readers: Sequence[InputFormat]) -> InputFormat | None:
    return next((r for r in readers if r.sniff_page(value)), None)


def _classify_value(value: Any, readers: Sequence[InputFormat]) -> InputFormat | None:
    """The reader of one JSON value: a record, an array of them or a response page."""
    if isinstance(value, list):
        for item in value[:SAMPLE_VALUES]:
            found = _classify_value(item, readers)
            if found is not None:
                return found
        return None
    if not isinstance(value, dict):
        return None
    statuses = value.get("statuses")
    if isinstance(statuses, list):  # a search response: its statuses, else its shape
        return _classify_value(statuses, readers) or _page(value, readers)
    found = _page(value, readers)
    if found is not None:
        return found
    items = value.get("orderedItems")
    if isinstance(items, list) and value.get("type") in ("OrderedCollection", None):
        found = _classify_value(items, readers)
        if found is not None:
            return found
    for key in ("posts", "feed"):
        items = value.get(key)
        if isinstance(items, list):
            inner = [i.get("post", i) if isinstance(i, dict) else i for i in items]
            found = _classify_value(inner, readers)
            if found is not None:
                return found
    if "delete" in value or "limit" in value:
        return None  # a stream notice (X v1.1): look further
    return _classify_record(value, readers)


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
        if len(values) >= SAMPLE_VALUES:
            break
    if not values:
        partial = parse_prefix(text)
        if partial is not None:
            values.append(partial)
    return values


def detect_format(path: Path) -> str:
    """The format of a file, from its content (the name is only a tie-breaker): the first
    format of :mod:`indexer.formats.registry` that recognises it (a native platform
    export, or canonical NDJSON, CSV or Parquet). A file that is none of them (binary
    content, JSON records of no known shape, text that is neither CSV nor JSON) is an
    :class:`InputError` naming the file and the formats tried."""
    try:
        with open_decompressed(path) as f:
            head = f.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    return detect(path, head, format_from_name(path))
