"""Tantivy indexes made apart, joined into one without re-indexing a document.

A tantivy index is a list of immutable segments (``meta.json``) and the files
of each (``<segment id>.<ext>``, plus ``<segment id>.<opstamp>.del`` once a
document of it is deleted). Segments do not refer to one another: an index
whose ``meta.json`` lists the segments of several indexes of one schema is an
index of all their documents. So the parts that Ray tasks index side by side
(indexer/distributed/) become the generation's index by linking their files
into one directory and writing the union of their segment lists; the commit
that follows (deletes of replaced copies) lets tantivy merge them as it would
its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from indexer.errors import IndexerError
from indexer.splits import link_file

META = "meta.json"
MANAGED = ".managed.json"


def combine_indexes(parts: list[Path], target: Path) -> int:
    """Make ``target`` (a new directory) the index of every document of ``parts`` (tantivy
    index directories of the same schema, committed, none open for writing). Their files
    are linked, not copied. Returns the number of segments."""
    target.mkdir()
    metas: list[dict[str, Any]] = []
    managed: set[str] = {META}
    for part in parts:
        meta = json.loads((part / META).read_text())
        if metas and meta["schema"] != metas[0]["schema"]:
            raise IndexerError(f"internal error: {part} has another schema than {parts[0]}")
        metas.append(meta)
        for path in sorted(part.iterdir()):
            if path.name == META or path.name.startswith("."):
                continue  # meta.json is rewritten; lock files and .managed.json are not data
            if (target / path.name).exists():
                raise IndexerError(f"internal error: two parts hold {path.name}")
            link_file(path, target / path.name)
            managed.add(path.name)
    if not metas:
        raise IndexerError("internal error: no index parts to combine")
    meta = dict(metas[0])
    meta["segments"] = [segment for m in metas for segment in m["segments"]]
    meta["opstamp"] = max(m["opstamp"] for m in metas)
    (target / META).write_text(json.dumps(meta, indent=2))
    (target / MANAGED).write_text(json.dumps(sorted(managed)))
    return len(meta["segments"])
