"""Turn raw canonical rows into typed posts, or rejects with a reason. Vectorised.

Input: a frame with the canonical columns as read (any may be missing or
null; counts as integers or strings; ``hashtags`` as a list or, from CSV, a
string), plus ``_line`` (the row's line in its source).
Output: the accepted posts (:data:`POST_SCHEMA`), and the rejected rows as
``_line, reason, _raw`` where ``_raw`` is the row's canonical fields as JSON
(the caller may replace it with the line as read).
"""

from __future__ import annotations

import polars as pl

from indexer.formats.base import CANONICAL_FIELDS, REQUIRED
from indexer.schema import COUNT_FIELDS, UNKNOWN_LANG

POST_SCHEMA: dict[str, pl.DataType] = {
    "uid": pl.String(),
    "id": pl.String(),
    "platform": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
    "author": pl.String(),
    "text": pl.String(),
    "lang": pl.String(),
    "community": pl.String(),
    "likes": pl.Int64(),
    "reposts": pl.Int64(),
    "replies": pl.Int64(),
    "quotes": pl.Int64(),
    "engagement": pl.Int64(),
    "hashtags": pl.List(pl.String()),
}
"""The typed post. ``hashtags`` is the row's own tag list as written (null: extract from
text). ``community`` is where the post was made (Reddit's subreddit) as written, trimmed;
null when the platform has none (an empty value is none)."""

_EPOCH = r"^\s*-?\d{1,12}(\.\d+)?\s*$"
_HAS_ZONE = r"(?i)(z|[+-]\d{2}:?\d{2})\s*$"
_DATETIME_START = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}|\s*$)"
_PLATFORM = r"^[a-z0-9][a-z0-9_.-]*$"
_TAG_TOKEN = r"[^\s,;#＃\"'\[\]]+"


def _reject_if(reasons: list[pl.Expr], cond: pl.Expr, reason: pl.Expr | str) -> None:
    expr = reason if isinstance(reason, pl.Expr) else pl.lit(reason)
    reasons.append(pl.when(cond).then(expr))


def validate(raw: pl.DataFrame, default_platform: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the accepted posts, :data:`POST_SCHEMA`; the rejected rows: ``_line, reason,
    _raw``) of a raw batch's rows."""
    df = _typed(_with_every_field(raw), default_platform)
    df = df.with_columns(reason=pl.coalesce(_reasons()))
    rejected = df.filter(pl.col("reason").is_not_null()).select(
        pl.col("_line").cast(pl.Int64()),
        "reason",
        _raw=pl.col("_orig_row").struct.json_encode(),
    )
    return _accepted(df.filter(pl.col("reason").is_null())), rejected


def _with_every_field(raw: pl.DataFrame) -> pl.DataFrame:
    """Every canonical field (missing ones null), and the row as read (its canonical
    fields, ``_orig_row``) to explain a rejection."""
    df = raw
    for name in CANONICAL_FIELDS:
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.String()).alias(name))
    present = [c for c in raw.columns if c in CANONICAL_FIELDS]
    return df.with_columns(_orig_row=pl.struct(present))


def _typed(df: pl.DataFrame, default_platform: str) -> pl.DataFrame:
    """Types normalised (strings, integer counts, the time as ``_ts``), keeping the
    originals where a failure must be explained (``_orig_<count>``), and the platform,
    language and community normalised."""
    stringy = [c for c in CANONICAL_FIELDS if c not in COUNT_FIELDS and c != "hashtags"]
    df = df.with_columns(
        [pl.col(c).cast(pl.String(), strict=False).alias(c) for c in stringy]
        + [pl.col(c).alias(f"_orig_{c}") for c in COUNT_FIELDS]
        + [
            pl.col(c)
            .cast(pl.String(), strict=False)
            .str.strip_chars()
            .cast(pl.Int64(), strict=False)
            .alias(c)
            if df.schema[c] == pl.String()
            else pl.col(c).cast(pl.Int64(), strict=False).alias(c)
            for c in COUNT_FIELDS
        ]
    )
    ts_text = pl.col("created_at").str.strip_chars()
    is_epoch = ts_text.str.contains(_EPOCH)
    epoch_us = (ts_text.cast(pl.Float64(), strict=False) * 1_000_000).round().cast(pl.Int64())
    parsed = ts_text.str.to_datetime("%+", time_zone="UTC", strict=False, time_unit="us")
    return df.with_columns(
        _ts=pl.when(is_epoch).then(epoch_us.cast(pl.Datetime("us", "UTC"))).otherwise(parsed),
        _is_epoch=is_epoch,
        _naive=ts_text.str.contains(_DATETIME_START) & ~ts_text.str.contains(_HAS_ZONE),
        platform=pl.col("platform").str.strip_chars().str.to_lowercase(),
        lang=pl.col("lang").str.strip_chars().str.to_lowercase(),
        community=pl.col("community").str.strip_chars(),
    ).with_columns(
        platform=pl.when(pl.col("platform").is_null() | (pl.col("platform") == ""))
        .then(pl.lit(default_platform))
        .otherwise(pl.col("platform")),
        lang=pl.when(pl.col("lang").is_null() | (pl.col("lang") == ""))
        .then(pl.lit(UNKNOWN_LANG))
        .otherwise(pl.col("lang")),
        community=pl.when(pl.col("community") != "").then(pl.col("community")),
    )


def _reasons() -> list[pl.Expr]:
    """A row's reject reasons, in the order they are told (the first one is)."""
    reasons: list[pl.Expr] = []
    for name in REQUIRED:
        _reject_if(reasons, pl.col(name).is_null(), f"missing required field '{name}'")
    _reject_if(reasons, pl.col("id").str.strip_chars() == "", "empty 'id'")
    _reject_if(reasons, pl.col("author").str.strip_chars() == "", "empty 'author'")
    _reject_if(
        reasons,
        pl.col("_naive"),
        pl.format("timestamp without time zone in 'created_at': {}", pl.col("created_at")),
    )
    _reject_if(
        reasons,
        pl.col("_ts").is_null(),
        pl.format("bad timestamp in 'created_at': {}", pl.col("created_at")),
    )
    for c in COUNT_FIELDS:
        orig = pl.col(f"_orig_{c}")
        _reject_if(
            reasons,
            orig.is_not_null() & pl.col(c).is_null(),
            pl.format(f"'{c}' is not an integer: {{}}", orig.cast(pl.String(), strict=False)),
        )
        _reject_if(reasons, pl.col(c) < 0, f"'{c}' is negative")
    _reject_if(
        reasons,
        ~pl.col("platform").str.contains(_PLATFORM),
        pl.format("bad 'platform': {}", pl.col("platform")),
    )
    return reasons


def _accepted(ok: pl.DataFrame) -> pl.DataFrame:
    """The typed posts of the rows not rejected."""
    hashtags = pl.col("hashtags")
    if ok.schema["hashtags"] == pl.String():
        hashtags = (
            pl.when(hashtags.is_null() | (hashtags.str.strip_chars() == ""))
            .then(None)
            .otherwise(hashtags.str.extract_all(_TAG_TOKEN))
        )
    elif ok.schema["hashtags"] == pl.Null():
        hashtags = hashtags.cast(pl.List(pl.String()))
    else:
        hashtags = hashtags.cast(pl.List(pl.String())).list.eval(
            pl.element().str.strip_chars_start("#＃")
        )
    counts = [pl.col(c).fill_null(0) for c in COUNT_FIELDS]
    accepted = ok.select(
        uid=pl.col("platform") + pl.lit(":") + pl.col("id").str.strip_chars(),
        id=pl.col("id").str.strip_chars(),
        platform=pl.col("platform"),
        created_at=pl.col("_ts"),
        author=pl.col("author").str.strip_chars(),
        text=pl.col("text"),
        lang=pl.col("lang"),
        community=pl.col("community"),
        **{c: e for c, e in zip(COUNT_FIELDS, counts, strict=True)},
        engagement=pl.sum_horizontal(counts),
        hashtags=hashtags,
    )
    return accepted.cast(POST_SCHEMA)  # type: ignore[arg-type]
