"""Native social-media exports: detect the format of a file and read it as canonical rows.

- :func:`detect` / :func:`detect_file`: ``"x-v1"``, ``"x-v2"``, ``"mastodon"``,
  ``"mastodon-outbox"``, ``"bluesky"``, ``"reddit"`` or None (canonical input),
  from the content.
- :func:`read_native`: :class:`~indexer.ingest.RawBatch` frames (a
  :class:`NativeBatch`, which also counts skipped records) with the canonical
  columns and ``_line``, like :func:`indexer.ingest.read_batches`, and the delete
  events read (``deletes``: ``(line, "platform:id")``, e.g. Bluesky post deletes).
"""

from indexer.native.detect import HEAD_BYTES, NATIVE_FORMATS, detect, detect_file
from indexer.native.reader import NativeBatch, read_native

__all__ = [
    "HEAD_BYTES",
    "NATIVE_FORMATS",
    "NativeBatch",
    "detect",
    "detect_file",
    "read_native",
]
