"""The input formats: one registry, one module per format.

- :mod:`~indexer.formats.registry`: every format (name, help, reader), in detection
  order; light to import (readers load on first use).
- :mod:`~indexer.formats.base`: the canonical fields, :class:`RawBatch` (what every
  reader yields) and :class:`InputFormat` (the reader interface, detection hooks
  included).
- :mod:`~indexer.formats.detect`: a file's format, from its first bytes.
- Canonical rows: :mod:`~indexer.formats.ndjson`, :mod:`~indexer.formats.tabular`
  (CSV and Parquet, and other tools' exports read through a column map).
- Native exports: :mod:`~indexer.formats.native` (the :class:`Mapper` interface and
  the reader of its files) and one module per platform: :mod:`~indexer.formats.x_v1`,
  :mod:`~indexer.formats.x_v2`, :mod:`~indexer.formats.mastodon`,
  :mod:`~indexer.formats.mastodon_outbox`, :mod:`~indexer.formats.bluesky`,
  :mod:`~indexer.formats.reddit`; their shared pieces in :mod:`~indexer.formats.common`,
  :mod:`~indexer.formats.html_text` and :mod:`~indexer.formats.jsonscan`.

Adding a format is one module and one registry line: see CONTRIBUTING.md.
"""
