#!/usr/bin/env python3
"""Benchmark native platform exports against canonical NDJSON (issue 5, Performance).

    uv run python bench/native_formats.py                        # 1,000,000 records
    uv run python bench/native_formats.py --posts 50000 --formats canonical,mastodon
    uv run python bench/native_formats.py --save bench/results/native-1M.json
    uv run --group bench pyinstrument bench/native_formats.py --read-only FILE   # profile

The same synthetic posts (bench/gen.py, seed 1, no duplicates, no malformed rows)
are written once as canonical NDJSON and once per native format, each record a
faithful native record: X v1.1 tweets (``created_at`` as ``Sat Mar 10 19:48:40
+0000 2018``, ``id_str``, ``full_text``, ``user``, ``entities.hashtags`` with
indices), X v2 tweets one a line (twarc's flattened form: ``author_id`` plus the
expanded ``author``) and X v2 response pages of 100 (``data`` + ``includes.users``),
Mastodon statuses (HTML ``content`` with hashtag and link anchors, ``tags[].name``,
``account.acct``, ``uri``), Bluesky Jetstream commit events (``#tag`` and link
facets at UTF-8 byte offsets, ``langs``) and Reddit Pushshift comments and
submissions (``created_utc``, ``subreddit``). Files are cached in bench/out/native/
by size and format; they are built with polars string expressions, batch by batch.

Ids are re-encoded per platform (X and Mastodon snowflakes, Bluesky TIDs, Reddit
base-36), derived from the post's time and row number, so they are unique; a
Bluesky author is a DID derived from the handle (one DID per handle). What a
platform does not carry is not invented: Jetstream events have no engagement
counts, Pushshift has no language and Reddit has no reposts.

For each file: ``hashtag-index build FILE`` in a child process (wall time, peak RSS
from wait4), then the checks (the manifest's posts + duplicates + rejected == read,
nothing rejected, the detected format, the same posts as the canonical build, and
the tag table's tag, display, posts, first/last seen equal to the canonical
build's), then the read stage alone (``indexer.ingest.read_batches`` over the file,
where native parsing lives) in another child. Prints a markdown table and writes
it to bench/results/<date>-native-<N>.md; ``--save`` also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "native"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

SEED = 1
TARGET_RATIO = 1.5
FORMATS = ("canonical", "x-v1", "x-v2", "x-v2-pages", "mastodon", "bluesky", "reddit")
DETECTED = {"canonical": "ndjson", "x-v2-pages": "x-v2"}
"""The format the build must detect for a file (the file's own name where not listed)."""
PAGE_SIZE = 100
"""Tweets per X v2 response page."""
TAG_COLUMNS = ["tag", "display", "posts", "first_seen", "last_seen"]
"""The tag table columns that must equal the canonical build's (authors may not: a
native file is one platform, so the same handle on two platforms is one author)."""

# --------------------------------------------------------------------------
# Tags and links in the generated texts
# --------------------------------------------------------------------------

_BODY = r"[\p{L}\p{M}\p{N}_\x{200C}]"
TAG_RE = rf"[#＃]{_BODY}*\p{{L}}{_BODY}*"
"""A generated hashtag, sign included (bench/gen.py: at the start or after a space;
letters, marks, digits, ``_``, ZWNJ with at least one letter; then a delimiter)."""
URL_RE = r"https?://\S+"
_TOKEN_RE = rf"(?s).*?(?:(?:^|\s){TAG_RE}|{URL_RE})"
"""Text up to and including the next tag or link: the cumulated lengths of these
pieces are the tokens' end offsets (characters, UTF-8 bytes)."""

SUBREDDITS = (
    "AskReddit", "worldnews", "technology", "programming", "Python", "soccer", "nba",
    "movies", "Music", "europe", "de", "france", "brasil", "mexico", "japan", "korea",
    "photography", "gaming", "science", "datascience",
)  # fmt: skip
_B32_SORT = "234567abcdefghijklmnopqrstuvwxyz"
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_TWITTER_EPOCH_MS = 1_288_834_974_657
_E = pl.element()

Piece = str | pl.Expr
J = list[Piece]
"""A JSON fragment: literal text and string expressions, concatenated in order."""


def _digits(v: pl.Expr, alphabet: str, width: int) -> pl.Expr:
    """Fixed-width rendering of a non-negative integer expression in ``len(alphabet)``."""
    base = len(alphabet)
    table = pl.lit(pl.Series(list(alphabet), dtype=pl.String()))
    v = v.cast(pl.UInt64())
    return pl.concat_str(
        [
            table.gather(((v // base ** (width - 1 - i)) % base).cast(pl.Int64()))
            for i in range(width)
        ]
    )


def _hash(col: str, seed: int) -> pl.Expr:
    return pl.col(col).hash(seed)


def enrich(frame: pl.DataFrame, offset: int) -> pl.DataFrame:
    """Canonical rows plus what the native records need: the global row number
    ``_row``, epoch seconds ``_s``, the tag and link spans ``_tags`` / ``_urls``
    (token with its sign, start/end in characters and in UTF-8 bytes)."""
    tok = _E.struct.field("tok")
    spans = (
        frame.with_columns(
            _row=pl.int_range(offset, offset + frame.height, dtype=pl.Int64()),
            _s=pl.col("created_at")
            .str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")
            .dt.epoch("s"),
            _spans=pl.col("text")
            .str.extract_all(_TOKEN_RE)
            .list.eval(
                pl.struct(
                    tok=_E.str.extract(rf"({TAG_RE}|{URL_RE})$", 1),
                    endc=_E.str.len_chars().cum_sum(),
                    endb=_E.str.len_bytes().cum_sum(),
                )
            ),
        )
        .with_columns(
            _spans=pl.col("_spans").list.eval(
                pl.struct(
                    tok=tok,
                    url=tok.str.starts_with("http"),
                    sc=_E.struct.field("endc") - tok.str.len_chars(),
                    ec=_E.struct.field("endc"),
                    sb=_E.struct.field("endb") - tok.str.len_bytes(),
                    eb=_E.struct.field("endb"),
                )
            )
        )
        .with_columns(
            _tags=pl.col("_spans").list.eval(_E.filter(~_E.struct.field("url"))),
            _urls=pl.col("_spans").list.eval(_E.filter(_E.struct.field("url"))),
            _nchars=pl.col("text").str.len_chars(),
        )
    )
    own = spans.filter(pl.col("hashtags").is_not_null())
    found = own.select(pl.col("_tags").list.eval(_E.struct.field("tok").str.slice(1)))
    if not found.to_series().equals(own["hashtags"], check_names=False):
        raise SystemExit("native_formats.py: TAG_RE disagrees with bench/gen.py's hashtags")
    return spans


# --------------------------------------------------------------------------
# JSON with polars string expressions
# --------------------------------------------------------------------------


def _expr(j: J) -> pl.Expr:
    """The fragment as one string expression (adjacent literals merged)."""
    merged: list[pl.Expr] = []
    pending = ""
    for piece in j:
        if isinstance(piece, str):
            pending += piece
            continue
        if pending:
            merged.append(pl.lit(pending))
            pending = ""
        merged.append(piece)
    if pending or not merged:
        merged.append(pl.lit(pending))
    return merged[0] if len(merged) == 1 else pl.concat_str(merged)


def _esc(e: pl.Expr) -> pl.Expr:
    """JSON string escaping (generated texts hold no control character but newlines)."""
    return (
        e.str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        .str.replace_all("\n", "\\n", literal=True)
        .str.replace_all("\t", "\\t", literal=True)
        .str.replace_all("\r", "\\r", literal=True)
    )


def s(e: pl.Expr) -> J:
    """A JSON string of a string expression that needs escaping (texts)."""
    return ['"', _esc(e), '"']


def k(e: pl.Expr) -> J:
    """A JSON string of a string expression that needs none (ids, handles, tags, langs:
    bench/gen.py's tables hold no quote, backslash or control character)."""
    return ['"', e, '"']


def n(e: pl.Expr) -> J:
    """A JSON number."""
    return [e.cast(pl.String())]


def c(value: Any) -> J:
    """A JSON constant."""
    return [json.dumps(value, ensure_ascii=False, separators=(",", ":"))]


def o(*members: tuple[str, J] | tuple[str, J, pl.Expr]) -> J:
    """A JSON object; a member with a third item is present only where it is true
    (never the first member)."""
    out: J = ["{"]
    for i, member in enumerate(members):
        key = ("," if i else "") + json.dumps(member[0]) + ":"
        if len(member) == 3:
            out.append(pl.when(member[2]).then(_expr([key, *member[1]])).otherwise(pl.lit("")))
        else:
            out += [key, *member[1]]
    out.append("}")
    return out


def arr(items: pl.Expr, item: J) -> J:
    """A JSON array of ``item`` (built from ``pl.element()``) over a list expression."""
    return ["[", items.list.eval(_expr(item)).list.join(","), "]"]


def span(field: str) -> pl.Expr:
    return _E.struct.field(field)


def _iso(seconds: pl.Expr, fmt: str = "%Y-%m-%dT%H:%M:%S.000Z") -> pl.Expr:
    return pl.from_epoch(seconds, time_unit="s").dt.strftime(fmt)


def _x_escape(e: pl.Expr) -> pl.Expr:
    """X and Reddit serve text with ``& < >`` HTML-escaped."""
    return (
        e.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


# --------------------------------------------------------------------------
# The native records
# --------------------------------------------------------------------------


def _handle() -> pl.Expr:
    """An X or Reddit username for a handle of any platform (``a.bsky.social`` ->
    ``a_bsky_social``, ``user@host`` -> ``user_host``)."""
    return pl.col("author").str.replace_all(r"\W", "_")


def _x_ids() -> dict[str, pl.Expr]:
    row = pl.col("_row")
    ms = pl.col("_s") * 1000 + row % 1000
    return {
        "_xid": ((ms - _TWITTER_EPOCH_MS) * (1 << 22) + (row // 1000) % (1 << 22)).cast(
            pl.String()
        ),
        "_uid": (_hash("author", 11) % 10**15 + 10**6).cast(pl.String()),
        "_handle": _handle(),
        "_text_x": _x_escape(pl.col("text")),
    }


def x_v1_lines(f: pl.DataFrame) -> pl.Series:
    f = f.with_columns(**_x_ids())
    uid = pl.col("_uid").cast(pl.Int64())
    indices = ["[", span("sc").cast(pl.String()), ",", span("ec").cast(pl.String()), "]"]
    user = o(
        ("id", n(uid)),
        ("id_str", k(pl.col("_uid"))),
        ("name", k(pl.col("author"))),
        ("screen_name", k(pl.col("_handle"))),
        ("location", c("")),
        ("description", c("")),
        ("url", c(None)),
        ("entities", c({"description": {"urls": []}})),
        ("protected", c(False)),
        ("followers_count", n(uid % 9973)),
        ("friends_count", n(uid % 1201)),
        ("listed_count", n(uid % 37)),
        ("created_at", c("Tue Mar 21 20:50:14 +0000 2017")),
        ("favourites_count", n(uid % 20011)),
        ("utc_offset", c(None)),
        ("time_zone", c(None)),
        ("geo_enabled", c(False)),
        ("verified", c(False)),
        ("statuses_count", n(uid % 50021)),
        ("lang", c(None)),
        ("profile_background_color", c("F5F8FA")),
        (
            "profile_image_url_https",
            ['"https://pbs.twimg.com/profile_images/', pl.col("_uid"), '/avatar_normal.jpg"'],
        ),
        ("default_profile", c(True)),
        ("default_profile_image", c(False)),
        ("following", c(None)),
        ("follow_request_sent", c(None)),
        ("notifications", c(None)),
    )
    tweet = o(
        ("created_at", k(_iso(pl.col("_s"), "%a %b %d %H:%M:%S +0000 %Y"))),
        ("id", n(pl.col("_xid"))),
        ("id_str", k(pl.col("_xid"))),
        ("full_text", s(pl.col("_text_x"))),
        ("truncated", c(False)),
        ("display_text_range", ["[0,", pl.col("_nchars").cast(pl.String()), "]"]),
        (
            "entities",
            o(
                (
                    "hashtags",
                    arr(
                        pl.col("_tags"),
                        o(("text", k(span("tok").str.slice(1))), ("indices", indices)),
                    ),
                ),
                ("symbols", c([])),
                ("user_mentions", c([])),
                (
                    "urls",
                    arr(
                        pl.col("_urls"),
                        o(
                            ("url", k(span("tok"))),
                            ("expanded_url", k(span("tok"))),
                            ("display_url", k(span("tok").str.replace(r"^https?://", ""))),
                            ("indices", indices),
                        ),
                    ),
                ),
            ),
        ),
        ("source", c('<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>')),
        ("in_reply_to_status_id", c(None)),
        ("in_reply_to_status_id_str", c(None)),
        ("in_reply_to_user_id", c(None)),
        ("in_reply_to_user_id_str", c(None)),
        ("in_reply_to_screen_name", c(None)),
        ("user", user),
        ("geo", c(None)),
        ("coordinates", c(None)),
        ("place", c(None)),
        ("contributors", c(None)),
        ("is_quote_status", c(False)),
        ("quote_count", n(pl.col("quotes"))),
        ("reply_count", n(pl.col("replies"))),
        ("retweet_count", n(pl.col("reposts"))),
        ("favorite_count", n(pl.col("likes"))),
        ("favorited", c(False)),
        ("retweeted", c(False)),
        ("possibly_sensitive", c(False)),
        ("lang", k(pl.col("lang"))),
    )
    return f.select(_expr(tweet))[:, 0]


def _x_v2_tweet(flat: bool) -> J:
    offsets = [
        '"start":', span("sc").cast(pl.String()), ',"end":', span("ec").cast(pl.String()),
    ]  # fmt: skip
    hashtags = arr(pl.col("_tags"), ["{", *offsets, ',"tag":"', span("tok").str.slice(1), '"}'])
    urls = arr(
        pl.col("_urls"),
        o(
            ("start", n(span("sc"))),
            ("end", n(span("ec"))),
            ("url", k(span("tok"))),
            ("expanded_url", k(span("tok"))),
            ("display_url", k(span("tok").str.replace(r"^https?://", ""))),
        ),
    )
    has_tags = pl.col("_tags").list.len() > 0
    has_urls = pl.col("_urls").list.len() > 0
    entities = _expr(
        [
            "{",
            pl.concat_str(
                pl.when(has_tags).then(_expr([',"hashtags":', *hashtags])).otherwise(pl.lit("")),
                pl.when(has_urls).then(_expr([',"urls":', *urls])).otherwise(pl.lit("")),
            ).str.slice(1),
            "}",
        ]
    )
    members: list[tuple[str, J] | tuple[str, J, pl.Expr]] = [
        ("id", k(pl.col("_xid"))),
        ("text", s(pl.col("_text_x"))),
        ("created_at", k(_iso(pl.col("_s")))),
        ("author_id", k(pl.col("_uid"))),
        ("conversation_id", k(pl.col("_xid"))),
        ("edit_history_tweet_ids", ['["', pl.col("_xid"), '"]']),
        ("lang", k(pl.col("lang"))),
        ("possibly_sensitive", c(False)),
        ("reply_settings", c("everyone")),
        (
            "public_metrics",
            o(
                ("retweet_count", n(pl.col("reposts"))),
                ("reply_count", n(pl.col("replies"))),
                ("like_count", n(pl.col("likes"))),
                ("quote_count", n(pl.col("quotes"))),
                ("bookmark_count", c(0)),
                ("impression_count", n(pl.col("likes") * 31 + pl.col("reposts") * 97 + 12)),
            ),
        ),
        ("entities", [entities], has_tags | has_urls),
    ]
    if flat:
        members += [
            ("author", _x_v2_user()),
            (
                "__twarc",
                o(
                    ("url", c("https://api.twitter.com/2/tweets/search/all")),
                    ("version", c("2.14.0")),
                    ("retrieved_at", k(_iso(pl.col("_s") + 3600))),
                ),
            ),
        ]
    return o(*members)


def _x_v2_user() -> J:
    uid = pl.col("_uid").cast(pl.Int64())
    return o(
        ("id", k(pl.col("_uid"))),
        ("name", k(pl.col("author"))),
        ("username", k(pl.col("_handle"))),
        ("created_at", c("2017-03-21T20:50:14.000Z")),
        ("description", c("")),
        ("protected", c(False)),
        ("verified", c(False)),
        (
            "public_metrics",
            o(
                ("followers_count", n(uid % 9973)),
                ("following_count", n(uid % 1201)),
                ("tweet_count", n(uid % 50021)),
                ("listed_count", n(uid % 37)),
            ),
        ),
    )


def x_v2_lines(f: pl.DataFrame) -> pl.Series:
    """twarc's flattened tweets: the tweet, ``author_id`` and the expanded ``author``."""
    return f.with_columns(**_x_ids()).select(_expr(_x_v2_tweet(flat=True)))[:, 0]


def x_v2_pages(f: pl.DataFrame) -> pl.Series:
    """Search responses of :data:`PAGE_SIZE` tweets, their authors in ``includes.users``."""
    tweets = f.with_columns(**_x_ids()).select(
        _page=pl.col("_row") // PAGE_SIZE,
        _id=pl.col("_xid"),
        _tweet=_expr(_x_v2_tweet(flat=False)),
        _user=_expr(_x_v2_user()),
    )
    pages = tweets.group_by("_page", maintain_order=True).agg(
        pl.col("_tweet"),
        pl.col("_user").unique(maintain_order=True),
        pl.col("_id").first().alias("_newest"),
        pl.col("_id").last().alias("_oldest"),
    )
    page = [
        '{"data":[', pl.col("_tweet").list.join(","),
        '],"includes":{"users":[', pl.col("_user").list.join(","),
        ']},"meta":{"newest_id":"', pl.col("_newest"),
        '","oldest_id":"', pl.col("_oldest"),
        '","result_count":', pl.col("_tweet").list.len().cast(pl.String()),
        ',"next_token":"', _digits(pl.col("_page").hash(5), _B36, 12), '"}}',
    ]  # fmt: skip
    return pages.select(_expr(page))[:, 0]


def _mastodon_html(text: pl.Expr) -> pl.Expr:
    """The status HTML Mastodon renders: escaped, links and hashtags as anchors,
    paragraphs as ``<p>``, line breaks as ``<br />``."""
    html = (
        text.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all('"', "&quot;", literal=True)
        .str.replace_all("'", "&#39;", literal=True)
        .str.replace_all(
            r"(https?://)(\S+)",
            '<a href="${1}${2}" target="_blank" rel="nofollow noopener noreferrer" '
            'translate="no"><span class="invisible">${1}</span><span class="">${2}</span>'
            '<span class="invisible"></span></a>',
        )
        .str.replace_all(
            rf"(^|\s)([#＃])({_BODY}*\p{{L}}{_BODY}*)",
            '${1}<a href="https://mastodon.social/tags/${3}" class="mention hashtag" '
            'rel="tag">${2}<span>${3}</span></a>',
        )
        .str.replace_all("\n\n", "</p><p>", literal=True)
        .str.replace_all("\n", "<br />", literal=True)
    )
    return pl.concat_str(pl.lit("<p>"), html, pl.lit("</p>"))


def mastodon_lines(f: pl.DataFrame) -> pl.Series:
    row = pl.col("_row")
    f = f.with_columns(
        _mid=((pl.col("_s") * 1000 + row % 1000) * 65536 + (row // 1000) % 65536).cast(pl.String()),
        _user=pl.col("author").str.split("@").list.first().str.replace_all(r"\W", "_"),
        _host=pl.when(pl.col("author").str.contains("@", literal=True))
        .then(pl.col("author").str.split("@").list.last())
        .otherwise(pl.lit("mastodon.social")),
        _acct=pl.when(pl.col("author").str.contains("@", literal=True))
        .then(pl.col("author"))
        .otherwise(pl.col("author").str.replace_all(r"\W", "_")),
        _aid=(_hash("author", 13) % 10**17).cast(pl.String()),
        _names=pl.col("_tags")
        .list.eval(span("tok").str.slice(1).str.to_lowercase())
        .list.unique(maintain_order=True),
    )
    aid = pl.col("_aid").cast(pl.Int64())
    home = ['"https://', pl.col("_host"), "/@", pl.col("_user")]
    account = o(
        ("id", k(pl.col("_aid"))),
        ("username", k(pl.col("_user"))),
        ("acct", k(pl.col("_acct"))),
        ("display_name", k(pl.col("_user"))),
        ("locked", c(False)),
        ("bot", c(False)),
        ("discoverable", c(True)),
        ("group", c(False)),
        ("created_at", c("2022-11-07T00:00:00.000Z")),
        ("note", c("<p></p>")),
        ("url", [*home, '"']),
        ("uri", ['"https://', pl.col("_host"), "/users/", pl.col("_user"), '"']),
        ("avatar", c("https://files.mastodon.social/accounts/avatars/missing.png")),
        ("avatar_static", c("https://files.mastodon.social/accounts/avatars/missing.png")),
        ("header", c("https://mastodon.social/headers/original/missing.png")),
        ("header_static", c("https://mastodon.social/headers/original/missing.png")),
        ("followers_count", n(aid % 9973)),
        ("following_count", n(aid % 1201)),
        ("statuses_count", n(aid % 50021)),
        ("last_status_at", k(_iso(pl.col("_s"), "%Y-%m-%d"))),
        ("emojis", c([])),
        ("fields", c([])),
    )
    status = o(
        ("id", k(pl.col("_mid"))),
        ("created_at", k(_iso(pl.col("_s")))),
        ("in_reply_to_id", c(None)),
        ("in_reply_to_account_id", c(None)),
        ("sensitive", c(False)),
        ("spoiler_text", c("")),
        ("visibility", c("public")),
        ("language", k(pl.col("lang"))),
        (
            "uri",
            [
                '"https://',
                pl.col("_host"),
                "/users/",
                pl.col("_user"),
                "/statuses/",
                pl.col("_mid"),
                '"',
            ],
        ),
        ("url", [*home, "/", pl.col("_mid"), '"']),
        ("replies_count", n(pl.col("replies"))),
        ("reblogs_count", n(pl.col("reposts"))),
        ("favourites_count", n(pl.col("likes"))),
        ("edited_at", c(None)),
        ("content", s(_mastodon_html(pl.col("text")))),
        ("reblog", c(None)),
        ("account", account),
        ("media_attachments", c([])),
        ("mentions", c([])),
        (
            "tags",
            arr(
                pl.col("_names"),
                ['{"name":"', _E, '","url":"https://mastodon.social/tags/', _E, '"}'],
            ),
        ),
        ("emojis", c([])),
        ("card", c(None)),
        ("poll", c(None)),
    )
    return f.select(_expr(status))[:, 0]


def bluesky_lines(f: pl.DataFrame) -> pl.Series:
    row = pl.col("_row")
    us = pl.col("_s") * 1_000_000 + row % 1_000_000
    f = f.with_columns(
        _us=us,
        _tid=_digits(us * 1024 + (row // 1_000_000) % 1024, _B32_SORT, 13),
        _did=pl.concat_str(
            pl.lit("did:plc:"),
            _digits(_hash("author", 17) % (1 << 60), _B32_SORT, 12),
            _digits(_hash("author", 19) % (1 << 60), _B32_SORT, 12),
        ),
        _cid=pl.concat_str(
            pl.lit("bafyrei"),
            *(_digits(pl.col("_row").hash(23 + i) % (1 << 60), _B32_SORT, 12) for i in range(4)),
            pl.lit("aaaa"),
        ),
    )
    feature = (
        pl.when(span("url"))
        .then(_expr(['{"$type":"app.bsky.richtext.facet#link","uri":"', span("tok"), '"}']))
        .otherwise(
            _expr(
                ['{"$type":"app.bsky.richtext.facet#tag","tag":"', span("tok").str.slice(1), '"}']
            )
        )
    )
    facet = [
        '{"$type":"app.bsky.richtext.facet","features":[', feature,
        '],"index":{"byteEnd":', span("eb").cast(pl.String()),
        ',"byteStart":', span("sb").cast(pl.String()), "}}",
    ]  # fmt: skip
    record = o(
        ("$type", c("app.bsky.feed.post")),
        ("createdAt", k(_iso(pl.col("_s")))),
        ("facets", arr(pl.col("_spans"), facet), pl.col("_spans").list.len() > 0),
        ("langs", ['["', pl.col("lang"), '"]']),
        ("text", s(pl.col("text"))),
    )
    event = o(
        ("did", k(pl.col("_did"))),
        ("time_us", n(pl.col("_us") + 250_000)),
        ("kind", c("commit")),
        (
            "commit",
            o(
                ("rev", k(pl.col("_tid"))),
                ("operation", c("create")),
                ("collection", c("app.bsky.feed.post")),
                ("rkey", k(pl.col("_tid"))),
                ("record", record),
                ("cid", k(pl.col("_cid"))),
            ),
        ),
    )
    return f.select(_expr(event))[:, 0]


def reddit_lines(f: pl.DataFrame) -> pl.Series:
    """Pushshift comments, and a submission (title + selftext) every fourth post."""
    row = pl.col("_row")
    parts = pl.col("text").str.splitn("\n\n", 2)
    f = f.with_columns(
        _rid=_digits(36**6 + row, _B36, 7),
        _link=_digits(_hash("id", 29) % 36**6 + 36**6, _B36, 7),
        _afn=_digits(_hash("author", 31) % 36**8, _B36, 8),
        _sub=pl.lit(pl.Series(SUBREDDITS)).gather(
            (_hash("author", 37) % len(SUBREDDITS)).cast(pl.Int64())
        ),
        _title=_x_escape(parts.struct.field("field_0")),
        _self=_x_escape(parts.struct.field("field_1").fill_null("")),
        _body=_x_escape(pl.col("text")),
    )
    common_head: list[tuple[str, J]] = [
        ("all_awardings", c([])),
        ("author", k(_handle())),
        ("author_flair_css_class", c(None)),
        ("author_flair_text", c(None)),
        ("author_fullname", ['"t2_', pl.col("_afn"), '"']),
    ]
    sub_id = ['"t5_', _digits(_hash("_sub", 41) % 36**5, _B36, 5), '"']
    comment = o(
        *common_head,
        ("body", s(pl.col("_body"))),
        ("controversiality", c(0)),
        ("created_utc", n(pl.col("_s"))),
        ("distinguished", c(None)),
        ("edited", c(False)),
        ("gilded", c(0)),
        ("id", k(pl.col("_rid"))),
        ("is_submitter", c(False)),
        ("link_id", ['"t3_', pl.col("_link"), '"']),
        ("locked", c(False)),
        ("name", ['"t1_', pl.col("_rid"), '"']),
        ("parent_id", ['"t3_', pl.col("_link"), '"']),
        (
            "permalink",
            ['"/r/', pl.col("_sub"), "/comments/", pl.col("_link"), "/_/", pl.col("_rid"), '/"'],
        ),
        ("retrieved_on", n(pl.col("_s") + 86_400)),
        ("score", n(pl.col("likes"))),
        ("send_replies", c(True)),
        ("stickied", c(False)),
        ("subreddit", k(pl.col("_sub"))),
        ("subreddit_id", sub_id),
        ("subreddit_name_prefixed", ['"r/', pl.col("_sub"), '"']),
        ("subreddit_type", c("public")),
        ("total_awards_received", c(0)),
    )
    permalink = ["/r/", pl.col("_sub"), "/comments/", pl.col("_rid"), "/post/"]
    submission = o(
        *common_head,
        ("created_utc", n(pl.col("_s"))),
        ("domain", ['"self.', pl.col("_sub"), '"']),
        ("edited", c(False)),
        ("gilded", c(0)),
        ("id", k(pl.col("_rid"))),
        ("is_self", c(True)),
        ("locked", c(False)),
        ("name", ['"t3_', pl.col("_rid"), '"']),
        ("num_comments", n(pl.col("replies"))),
        ("over_18", c(False)),
        ("permalink", ['"', *permalink, '"']),
        ("retrieved_on", n(pl.col("_s") + 86_400)),
        ("score", n(pl.col("likes"))),
        ("selftext", s(pl.col("_self"))),
        ("stickied", c(False)),
        ("subreddit", k(pl.col("_sub"))),
        ("subreddit_id", sub_id),
        ("subreddit_type", c("public")),
        ("title", s(pl.col("_title"))),
        ("upvote_ratio", c(1.0)),
        ("url", ['"https://www.reddit.com', *permalink, '"']),
    )
    return f.select(pl.when(row % 4 == 0).then(_expr(submission)).otherwise(_expr(comment)))[:, 0]


WRITERS = {
    "x-v1": x_v1_lines,
    "x-v2": x_v2_lines,
    "x-v2-pages": x_v2_pages,
    "mastodon": mastodon_lines,
    "bluesky": bluesky_lines,
    "reddit": reddit_lines,
}


def dump_path(n: int, fmt: str) -> Path:
    return OUT / f"{fmt}-{n}-s{SEED}.ndjson"


def _frames(n: int) -> Iterator[pl.DataFrame]:
    from bench.gen import generate

    offset = 0
    for frame in generate(n, seed=SEED):
        yield enrich(frame, offset)
        offset += frame.height


def ensure_files(n: int, formats: Sequence[str]) -> dict[str, float]:
    """Write the files of ``formats`` that are not cached yet; seconds per format."""
    from bench.gen import write_posts

    OUT.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    if "canonical" in formats and not dump_path(n, "canonical").exists():
        t0 = time.monotonic()
        tmp = dump_path(n, "canonical").with_suffix(".tmp.ndjson")
        write_posts(tmp, n, SEED)
        tmp.rename(dump_path(n, "canonical"))
        seconds["canonical"] = time.monotonic() - t0
    missing = [f for f in formats if f != "canonical" and not dump_path(n, f).exists()]
    if not missing:
        return seconds
    print(f"writing {n:,} records as {', '.join(missing)}", file=sys.stderr)
    files = {f: dump_path(n, f).with_suffix(".tmp.ndjson").open("wb") for f in missing}
    seconds.update(dict.fromkeys(missing, 0.0))
    seconds["_enrich"] = 0.0
    try:
        t0 = time.monotonic()
        for frame in _frames(n):
            seconds["_enrich"] += time.monotonic() - t0
            for fmt, out in files.items():
                t0 = time.monotonic()
                lines = WRITERS[fmt](frame)
                out.write("\n".join(lines.to_list()).encode() + b"\n")
                seconds[fmt] += time.monotonic() - t0
            t0 = time.monotonic()
    finally:
        for out in files.values():
            out.close()
    for fmt in missing:
        dump_path(n, fmt).with_suffix(".tmp.ndjson").rename(dump_path(n, fmt))
    return seconds


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


def run_measured(cmd: list[str]) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS (bytes) and standard output of a child process."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return seconds, usage.ru_maxrss * 1024, out


def read_only(path: Path) -> dict[str, Any]:
    """The read stage alone: detection, then every batch of ``read_batches``."""
    from indexer.formats import registry
    from indexer.formats.detect import detect_format
    from indexer.ingest import read_batches

    for entry in registry.FORMATS:  # the readers are imported on first use: not timed
        entry.reader()

    rows = rejects = 0
    with tempfile.TemporaryDirectory() as scratch:
        t0 = time.monotonic()
        fmt = detect_format(path)
        for batch in read_batches(path, fmt, Path(scratch)):
            rows += batch.rows.height
            rejects += len(batch.rejects)
        seconds = time.monotonic() - t0
    return {"format": fmt, "rows": rows, "rejects": rejects, "seconds": seconds}


def _self_cmd() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve())]


def hashtag_index(*args: str) -> list[str]:
    return [sys.executable, "-m", "hashtag_index", *args]


def bench_format(n: int, fmt: str, canonical_tags: pl.DataFrame | None) -> dict[str, Any]:
    path = dump_path(n, fmt)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        index = Path(tmp) / "index"
        seconds, rss, _ = run_measured(
            hashtag_index("build", str(path), "--index", str(index), "--quiet", "--keep", "1")
        )
        info = subprocess.run(
            hashtag_index("info", "--index", str(index), "--json"),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        manifest = json.loads(info.stdout)
        from indexer.globals import read_tags

        tags = read_tags((index / "current").resolve())
        tags = tags.select([*TAG_COLUMNS, "authors"]).sort("tag")
    read_s, read_rss, out = run_measured([*_self_cmd(), "--read-only", str(path)])
    read = json.loads(out)
    problems: list[str] = []
    expected = DETECTED.get(fmt, fmt)
    detected = [src["format"] for src in manifest["sources"]]
    if detected != [expected] or read["format"] != expected:
        problems.append(f"detected {detected} / {read['format']}, expected {expected}")
    accounted = manifest["posts"] + manifest["duplicates"] + manifest["rejected"]
    if accounted != manifest["read"]:
        problems.append(f"posts + duplicates + rejected = {accounted} != read {manifest['read']}")
    if manifest["rejected"] or manifest["duplicates"]:
        problems.append(f"{manifest['rejected']} rejected, {manifest['duplicates']} duplicates")
    if manifest["posts"] != n or read["rows"] != n or read["rejects"]:
        problems.append(
            f"posts {manifest['posts']}, read stage rows {read['rows']} "
            f"(rejects {read['rejects']}), expected {n}"
        )
    tag_diff = authors_diff = 0
    if canonical_tags is not None:
        mine, theirs = tags.select(TAG_COLUMNS), canonical_tags.select(TAG_COLUMNS)
        tag_diff = mine.join(theirs, on=TAG_COLUMNS, how="anti", nulls_equal=True).height
        tag_diff += theirs.join(mine, on=TAG_COLUMNS, how="anti", nulls_equal=True).height
        if tag_diff:
            problems.append(f"{tag_diff} tag rows differ from the canonical build's")
        both = tags.join(canonical_tags, on="tag", suffix="_c")
        authors_diff = both.filter(pl.col("authors") != pl.col("authors_c")).height
    return {
        "format": fmt,
        "detected": expected,
        "file_bytes": path.stat().st_size,
        "build_seconds": seconds,
        "peak_rss_mib": rss / 2**20,
        "read": manifest["read"],
        "posts": manifest["posts"],
        "duplicates": manifest["duplicates"],
        "rejected": manifest["rejected"],
        "tags": manifest["tags"],
        "posts_per_s": manifest["posts"] / seconds,
        "stage_seconds": manifest.get("stage_seconds", {}),
        "read_only_seconds": read["seconds"],
        "read_only_wall_seconds": read_s,
        "read_only_peak_rss_mib": read_rss / 2**20,
        "tag_rows_differing": tag_diff,
        "tags_with_other_author_counts": authors_diff,
        "problems": problems,
        "ok": not problems,
        "_tags": tags,
    }


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def machine() -> dict[str, Any]:
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    versions = {}
    for lib in ("polars", "tantivy", "msgspec", "zstandard"):
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = "?"
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(mem / 2**30, 1),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "bench_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }


def combine(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One result per format: the last round's, with the median build and read-only
    seconds of all rounds, and ``ratio`` / ``read_ratio``: the medians of each
    round's ratio to that round's canonical run (so a slow spell of the machine that
    hits one round moves both sides of its ratios)."""
    out = []
    for i, last in enumerate(rounds[-1]):
        runs = [r[i] for r in rounds]
        bases = [r[0] for r in rounds]
        combined = dict(last)
        combined["rounds"] = [
            {k: r[k] for k in ("build_seconds", "read_only_seconds", "peak_rss_mib")} for r in runs
        ]
        combined["build_seconds"] = statistics.median(r["build_seconds"] for r in runs)
        combined["read_only_seconds"] = statistics.median(r["read_only_seconds"] for r in runs)
        combined["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
        combined["posts_per_s"] = combined["posts"] / combined["build_seconds"]
        pairs = list(zip(runs, bases, strict=True))
        combined["ratio"] = statistics.median(
            r["build_seconds"] / b["build_seconds"] for r, b in pairs
        )
        combined["read_ratio"] = statistics.median(
            r["read_only_seconds"] / b["read_only_seconds"] for r, b in pairs
        )
        combined["problems"] = sorted({p for r in runs for p in r["problems"]})
        combined["ok"] = all(r["ok"] for r in runs)
        out.append(combined)
    return out


def table(results: list[dict[str, Any]]) -> str:
    base = next((r for r in results if r["format"] == "canonical"), None)
    lines = [
        "| format | file MB | build s | posts/s | ratio vs canonical | read-only s "
        "| read ratio | peak RSS MiB | check ok |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        ratio = f"{r['ratio']:.2f}" if base else "-"
        read_ratio = f"{r['read_ratio']:.2f}" if base else "-"
        if base and r is not base and r["ratio"] > TARGET_RATIO:
            ratio = f"**{ratio}**"
        ok = "yes" if r["ok"] else "NO: " + "; ".join(r["problems"])
        lines.append(
            f"| {r['format']} | {r['file_bytes'] / 1e6:,.0f} | {r['build_seconds']:.1f} "
            f"| {r['posts_per_s']:,.0f} | {ratio} | {r['read_only_seconds']:.1f} "
            f"| {read_ratio} | {r['peak_rss_mib']:,.0f} | {ok} |"
        )
    return "\n".join(lines)


def report(n: int, results: list[dict[str, Any]], env: dict[str, Any], rounds: int = 1) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    stages = "\n".join(f"- {r['format']}: {r['stage_seconds']}" for r in results)
    repeat = f" --repeat {rounds}" if rounds > 1 else ""
    how = (
        f"Each figure is the median of {rounds} rounds (every format in turn, canonical "
        "first); a ratio is the median of each round's ratio to that round's canonical "
        "build. Builds of the same file vary by 10-35% on this VM from run to run; the "
        "per-round figures are in the JSON (`--save`)."
        if rounds > 1
        else "One round: builds of the same file vary by 10-35% on this VM from run to "
        "run (use `--repeat`)."
    )
    return f"""# Native formats vs canonical NDJSON, {n:,} records

    uv run python bench/native_formats.py --posts {n}{repeat}

{how}

Machine: {env["cores"]} cores ({env["cpu"]}), {env["ram_gib"]} GiB RAM, load average
{env["load_avg"]} at the end; Python {env["python"]}, {libs}; commit {env["commit"]}.

The same {n:,} synthetic posts (bench/gen.py, seed {SEED}) in each format. *build s* is
`hashtag-index build FILE` in a child process (wall, detection included), *posts/s*
is indexed posts per build second, *ratio* is build seconds over the canonical
build's (target <= {TARGET_RATIO}). *read-only s* is the read stage alone
(`indexer.ingest.read_batches` over the file, where native parsing lives), *read
ratio* the same over canonical. *peak RSS* is the build's (wait4; never below this
script's own peak, {env["bench_peak_rss_mib"]} MiB, which a child inherits). *check ok*:
every record accounted for (posts + duplicates + rejected == read, none rejected,
posts == {n:,}), the expected format detected, and tag, display, posts, first/last
seen of every tag equal to the canonical build's.

{table(results)}

Build stages (s, from the manifest):

{stages}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posts", type=int, default=1_000_000, help="records per format")
    ap.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help=f"comma-separated subset of {', '.join(FORMATS)} (canonical is the baseline)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of every format, in turn (canonical first each round); the table "
        "gives the medians, and each ratio is the median of the ratios within a round",
    )
    ap.add_argument("--save", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--no-report", action="store_true", help="do not write bench/results/*.md")
    ap.add_argument("--generate-only", action="store_true", help="write the files, time nothing")
    ap.add_argument("--read-only", type=Path, metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.read_only is not None:  # the child that times the read stage
        print(json.dumps(read_only(args.read_only)))
        return 0
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        ap.error(f"unknown formats: {', '.join(unknown)}")
    if "canonical" not in formats:
        formats.insert(0, "canonical")
    n = args.posts
    if args.generate_only:
        gen_seconds = ensure_files(n, formats)
        print(json.dumps({k: round(v, 1) for k, v in gen_seconds.items()}))
        return 0
    gen_seconds = {}
    if not all(dump_path(n, f).exists() for f in formats):
        # In a child: a child's ru_maxrss includes its parent's peak RSS at the fork
        # (the image exec replaces), so this process must stay small.
        generated = subprocess.run(
            [*_self_cmd(), "--posts", str(n), "--formats", ",".join(formats), "--generate-only"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
        )
        gen_seconds = json.loads(generated.stdout)
        print(f"generation seconds: {gen_seconds}", file=sys.stderr)
    rounds: list[list[dict[str, Any]]] = []
    canonical_tags: pl.DataFrame | None = None
    for k in range(max(1, args.repeat)):
        runs: list[dict[str, Any]] = []
        for fmt in formats:
            print(f"round {k + 1}: {fmt}: build + read stage", file=sys.stderr)
            r = bench_format(n, fmt, canonical_tags)
            if fmt == "canonical":
                canonical_tags = r["_tags"]
            del r["_tags"]
            runs.append(r)
        rounds.append(runs)
    results = combine(rounds)
    env = machine()
    text = report(n, results, env, len(rounds))
    print(text)
    if not args.no_report:
        RESULTS.mkdir(parents=True, exist_ok=True)
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        out = RESULTS / f"{day}-native-{size_label(n)}.md"
        out.write_text(text)
        print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        payload = {"posts": n, "machine": env, "generation_seconds": gen_seconds}
        payload["results"] = {r["format"]: r for r in results}
        args.save.write_text(json.dumps(payload, indent=2) + "\n")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
