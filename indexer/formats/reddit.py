"""Reddit comments and submissions as Pushshift-style dumps (one JSON object a line).

The monthly ``RC_YYYY-MM`` (comments) and ``RS_YYYY-MM`` (submissions) dumps, usually
``.zst``, and the Reddit API's ``{"kind": "t1"|"t3", "data": {...}}`` wrappers:

- **Id**: the fullname (``name``, else ``t1_``/``t3_`` + ``id``): comment and
  submission ids are separate sequences and can be equal.
- **Time**: ``created_utc``, epoch seconds as an integer (newer dumps), a string
  (the 2015-era dumps: ``"1192450643"``) or a float.
- **Text**: a comment's ``body``; a submission's ``title``, a blank line and its
  ``selftext`` (empty for link posts). Reddit's ``&amp; &lt; &gt;`` are undone. The
  placeholders ``[deleted]`` and ``[removed]`` are not text: such a body or
  selftext counts as empty (noted as :data:`TEXT_GONE`); the post itself stays.
- **Author**: as given; ``[deleted]`` (a deleted account) stays ``[deleted]``, one
  author for all of them, so deleted accounts can never inflate distinct authors.
- **Tags**: Reddit has no tag list: the text's.
- **Counts**: ``score`` as likes (a negative score as 0, noted as
  :data:`NEGATIVE_SCORE`), ``num_comments`` as a submission's replies.
- **Community**: ``subreddit`` as written (``Python``), without the ``r/`` of
  ``subreddit_name_prefixed`` (used when ``subreddit`` is missing); none if neither is
  there. Comments and submissions both carry it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

from indexer.formats.common import (
    Context,
    RecordError,
    Row,
    Skip,
    count,
    need_str,
    obj,
    opt_str,
    row,
    unescape_x,
)
from indexer.formats.native import Mapper

WHAT = "Reddit item"
_NO_CONTEXT: Context = {}
NEGATIVE_SCORE = "reddit negative score counted as 0 likes"
"""The note counted (in :attr:`NativeBatch.notes`) for each negative score."""
TEXT_GONE = "reddit [deleted] or [removed] text indexed as empty"
"""The note counted for each body or selftext that is only Reddit's placeholder."""
_GONE = ("[deleted]", "[removed]")


def _subreddit(item: dict[str, Any]) -> str | None:
    name = opt_str(item.get("subreddit")) or opt_str(item.get("subreddit_name_prefixed"))
    if name is None:
        return None
    name = name.strip()
    if name.startswith(("/r/", "r/")):
        name = name.partition("r/")[2].strip()
    return name or None


def _created(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise RecordError(f"{WHAT} has no 'created_utc'")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    raise RecordError(f"bad timestamp in 'created_utc': {value!r}")


class _Read(TypedDict, total=False):
    """The keys of an item (or of a ``{kind, data}`` wrapper) :class:`Reddit` reads."""

    kind: Any
    data: Any
    id: Any
    name: Any
    body: Any
    title: Any
    selftext: Any
    score: Any
    created_utc: Any
    author: Any
    lang: Any
    num_comments: Any
    subreddit: Any
    subreddit_name_prefixed: Any


class Reddit(Mapper):
    """Mapper for Reddit (see :class:`indexer.formats.native.Mapper`).

    The id is Reddit's fullname (``t1_`` comment, ``t3_`` submission): comment and
    submission ids are separate sequences and can be equal.
    """

    line_keys = _Read
    """A Pushshift item has some 50 fields; a line is decoded with just these (the
    rest skipped unread), into a dict the mapping reads as it reads the whole one."""

    def sniff_record(self, record: dict[Any, Any]) -> bool:
        return (
            "subreddit" in record
            and ("body" in record or "selftext" in record)
            and "author" in record
            and "created_utc" in record
        )

    def unwrap_record(self, record: dict[Any, Any]) -> Any:
        """The ``data`` of an API listing's ``{"kind": "t1", "data": {...}}``."""
        if record.get("kind") in ("t1", "t3") and isinstance(record.get("data"), dict):
            return record["data"]
        return None

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        if isinstance(value, list):
            for item in value:
                yield item, _NO_CONTEXT
        elif isinstance(value, dict) and value.get("kind") in ("t1", "t3"):
            yield value.get("data"), _NO_CONTEXT  # the Reddit API's {kind, data} wrapper
        else:
            yield value, _NO_CONTEXT

    def to_row(self, record: Any, ctx: Context) -> Row | Skip:
        item = obj(record, WHAT)
        is_comment = "body" in item
        ident = need_str(item.get("id"), "id", WHAT)
        name = opt_str(item.get("name"))
        if not (name and name.startswith(("t1_", "t3_"))):
            name = ("t1_" if is_comment else "t3_") + ident.removeprefix("t1_").removeprefix("t3_")
        gone = False
        if is_comment:
            text = opt_str(item.get("body"))
            if text in _GONE:
                text, gone = "", True
        else:
            title = opt_str(item.get("title"))
            selftext = opt_str(item.get("selftext")) or ""
            if selftext in _GONE:
                selftext, gone = "", True
            text = title + "\n\n" + selftext if title and selftext else (title or selftext)
        if text is None:
            raise RecordError(f"{WHAT} has no 'body' or 'title'")
        score = count(item.get("score"), "score") or 0
        notes = [n for n, due in ((NEGATIVE_SCORE, score < 0), (TEXT_GONE, gone)) if due]
        return row(
            id=name,
            created_at=_created(item.get("created_utc")),
            author=need_str(item.get("author"), "author", WHAT),
            text=unescape_x(text),
            platform="reddit",
            lang=opt_str(item.get("lang")),
            likes=max(score, 0),
            reposts=0,
            replies=0 if is_comment else count(item.get("num_comments"), "num_comments") or 0,
            quotes=0,
            hashtags=None,
            community=_subreddit(item),
            _note=notes,
        )
