"""Reddit comments and submissions as Pushshift-style dumps (one JSON object a line)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from indexer.native.common import (
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

WHAT = "Reddit item"
_NO_CONTEXT: Context = {}
NEGATIVE_SCORE = "reddit negative score counted as 0 likes"
"""The note counted (in :attr:`NativeBatch.notes`) for each negative score."""


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


class Reddit:
    """Mapper for Reddit (see :class:`indexer.native.common.Mapper`).

    The id is Reddit's fullname (``t1_`` comment, ``t3_`` submission): comment and
    submission ids are separate sequences and can be equal.
    """

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
        if is_comment:
            text = opt_str(item.get("body"))
        else:
            title = opt_str(item.get("title"))
            selftext = opt_str(item.get("selftext")) or ""
            text = title + "\n\n" + selftext if title and selftext else (title or selftext)
        if text is None:
            raise RecordError(f"{WHAT} has no 'body' or 'title'")
        score = count(item.get("score"), "score") or 0
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
            _note=NEGATIVE_SCORE if score < 0 else None,
        )
