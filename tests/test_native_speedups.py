"""The native readers' fast paths give exactly what their reference paths give.

Each fast path (Mastodon's HTML subset, X's usual UTC time, a plain account URL's
host, the batch-wide spelling of Mastodon tags) is checked against the path it
stands in for: on every fixture, and as a Hypothesis property.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from indexer.formats.base import CANONICAL_FIELDS
from indexer.formats.bluesky import Bluesky
from indexer.formats.common import (
    COUNT_MAX,
    COUNT_MIN,
    RecordError,
    count_column,
    joined,
    repost_excluded,
)
from indexer.formats.html_text import (
    _in_polars,
    _subset_to_text,
    html_to_text,
    html_to_text_batch,
    html_to_text_parser,
)
from indexer.formats.mastodon import (
    Mastodon,
    _host,
    _plain_urls,
    _with_host,
    as_written,
    spell_as_written,
    with_hosts,
)
from indexer.formats.native import _keys_first, iter_units
from indexer.formats.reddit import Reddit
from indexer.formats.x_v1 import XV1, x_time
from indexer.formats.x_v2 import XV2
from tests.conftest import read_native

FIXTURES = Path(__file__).parent / "fixtures"


def _json_values(path: Path) -> list[Any]:
    return [value for _, _, value, error in iter_units(path) if error is None]


def _walk(value: Any) -> list[Any]:
    """Every value nested in ``value`` (itself included)."""
    out = [value]
    if isinstance(value, dict):
        for v in value.values():
            out += _walk(v)
    elif isinstance(value, list):
        for v in value:
            out += _walk(v)
    return out


def _fixture_strings(key: str) -> list[str]:
    found: list[str] = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".ndjson", ".jsonl"):
            for value in _json_values(path):
                for v in _walk(value):
                    if isinstance(v, dict) and isinstance(v.get(key), str):
                        found.append(v[key])
    return found


# --------------------------------------------------------------------------
# Mastodon HTML


def _reference_html_to_text(html: str) -> str:
    return html_to_text_parser(html)


def test_html_fast_path_equals_parser_on_fixtures() -> None:
    contents = _fixture_strings("content")
    assert contents, "no Mastodon content in the fixtures"
    fast = 0
    for html in contents:
        assert html_to_text(html) == _reference_html_to_text(html), html
        fast += _subset_to_text(html) is not None
    assert fast, "the fast path took none of the fixtures"


MASTODON_SAMPLE = (
    '<p>Can&#39;t stop <a href="https://mastodon.social/tags/GreenFest" class="mention '
    'hashtag" rel="tag">#<span>GreenFest</span></a> <a href="https://example.com/?a=1&amp;b=2"'
    ' target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">'
    'https://</span><span class="">example.com/</span><span class="invisible"></span></a></p>'
    "<p>second<br>line<br />third</p>"
)


def test_html_fast_path_takes_mastodon_markup() -> None:
    assert _subset_to_text(MASTODON_SAMPLE) is not None
    assert html_to_text(MASTODON_SAMPLE) == _reference_html_to_text(MASTODON_SAMPLE)
    assert html_to_text(MASTODON_SAMPLE) == (
        "Can't stop #GreenFest https://example.com/\n\nsecond\nline\nthird"
    )


@pytest.mark.parametrize(
    "html",
    [
        "<div>x</div>",  # another tag
        "a < b",  # a bare <
        "<P>x</P>",  # upper case
        "<p class='x'>y</p>",  # single quotes
        "<a href=x>y</a>",  # unquoted value
        "</br>",
        "</p >",
        "<!-- c --><p>x</p>",
        "<p>\x00</p>",
    ],
)
def test_html_fast_path_declines_what_it_does_not_know(html: str) -> None:
    assert _subset_to_text(html) is None
    assert html_to_text(html) == _reference_html_to_text(html)


_FRAGMENTS = [
    "<p>",
    "</p>",
    "<p/>",
    '<p class="x">',
    "<br>",
    "<br/>",
    "<br />",
    '<br\nclass="a">',
    '<a href="https://e.org/?q=1&amp;r=2" rel="tag">',
    '<a href="https://e.org/?q=1&r=2">',
    "</a>",
    "<span>",
    '<span class="invisible">',
    "</span>",
    "<a download>",
    "<a/>",
    "<span/>",
    # not in the subset
    "<div>",
    "</div>",
    "<li>",
    "</li>",
    "<ul>",
    "<script>",
    "</script>",
    "<style>",
    "<b>",
    "</br>",
    "<P>",
    "<!-- x -->",
    "<![CDATA[x]]>",
    "<a href='x'>",
    "<a href=x>",
    "< p>",
    "<",
    ">",
    "</",
    "<p",
    # text and references
    "#tag",
    "text",
    " ",
    "\n",
    "\r\n",
    "\t",
    "&",
    "&amp;",
    "&amp",
    "&am",
    "p;",
    "&#39;",
    "&#39",
    "&#3",
    "9;",
    "&#x27;",
    "&#x2",
    "&#1;",
    "&#0;",
    "&#10;",
    "&lt;",
    "&lt;p&gt;",
    "&notit;",
    "&notin;",
    "&NotANamedRef;",
    ";",
    "#",
    "é",
    "👍",
    "\x00",
    "\x01",
    "\x02",
    '<span class="invisible">',
    '<a href="https://x.example/?a=1&b=2&amp;c">',
    '<a href="<br>">',
]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=24))
@example(["&#1;", "<p>", "\n", "<br>", "x"])
@example(["&am", "<span>", "p;"])
@example(["<p>", "</p>", "<p>", "x", "<br>", "<br>", "<br>", "</p>", "y"])
def test_html_to_text_equals_parser(fragments: list[str]) -> None:
    html = "".join(fragments)
    assert html_to_text(html) == _reference_html_to_text(html)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from('<>/&#;pbrans "=x\n\t1'), max_size=40))
def test_html_to_text_equals_parser_on_noise(html: str) -> None:
    assert html_to_text(html) == _reference_html_to_text(html)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_FRAGMENTS), max_size=24).map("".join), max_size=40))
@example(["<p>a</p><p>b</p>", "a &amp;lt; b", "<p>x<br>\n</p>\n<p>y</p>", "&#39;", ""])
@example(["&am<span></span>p;", "<p></p><p>\n\n</p>x", "\n<p>\n<p>x<br><br><br><p>y"])
@example(["<<span>a>", "<sp<a>an>", '<a href="<span>">', '<a href="<br>">x', "<p\x01>"])
def test_html_to_text_batch_equals_html_to_text(htmls: list[str]) -> None:
    got = html_to_text_batch(pl.Series(htmls, dtype=pl.String)).to_list()
    assert got == [html_to_text(h) for h in htmls]


def batch_simple(html: str) -> bool:
    """Whether :func:`html_to_text_batch` does ``html`` in polars."""
    return bool(_in_polars(pl.Series([html], dtype=pl.String))["simple"].item())


def test_html_to_text_batch_takes_mastodon_markup_in_polars() -> None:
    """The sample is in what polars does (the Python fallback is not what is timed)."""
    assert batch_simple(MASTODON_SAMPLE)
    assert html_to_text_batch(pl.Series([MASTODON_SAMPLE])).to_list() == [
        html_to_text(MASTODON_SAMPLE)
    ]


# --------------------------------------------------------------------------
# X v1.1 time


def _reference_x_time(value: str) -> str:
    try:
        when = datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except (ValueError, OverflowError):  # not X's form, or before 0001 or after 9999 in UTC
        raise RecordError(f"bad timestamp in 'created_at': {value}") from None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _outcome(f: Any, value: str) -> tuple[str, Any]:
    try:
        return "ok", f(value)
    except (RecordError, ValueError) as e:
        return type(e).__name__, str(e)


def _same_x_time(value: str) -> None:
    assert _outcome(x_time, value) == _outcome(_reference_x_time, value)


def test_x_time_equals_strptime_on_fixtures() -> None:
    times = [t for t in _fixture_strings("created_at") if "+0000" in t or "-0" in t]
    assert times
    for value in times:
        _same_x_time(value)


_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "mon", "Xyz"]
_MONTHS = [*calendar.month_abbr[1:], "JAN", "Foo"]


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(_DAYS),
    st.sampled_from(_MONTHS),
    st.sampled_from([f"{d:02d}" for d in range(33)] + ["1", "7"]),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["+0000", "-0000", "+0100", "-0530", "+000", "Z"]),
    st.sampled_from(["2018", "2020", "2100", "2000", "1900", "0999", "1000", "9999", "201"]),
    st.sampled_from(["", " ", "\n"]),
)
@example("Sat", "Feb", "29", 0, 0, 0, "+0000", "2020", "")
@example("Sat", "Feb", "29", 0, 0, 0, "+0000", "2100", "")
@example("Sat", "Apr", "31", 0, 0, 0, "+0000", "2018", "")
@example("Sat", "Mar", "10", 23, 59, 60, "+0000", "2018", "")
@example("Fri", "Dec", "31", 23, 0, 0, "-0530", "9999", "")  # after 9999 in UTC
@example("Mon", "Jan", "01", 0, 0, 0, "+0100", "0001", "")  # before 0001 in UTC
def test_x_time_equals_strptime(
    day: str, month: str, dom: str, h: int, m: int, s: int, tz: str, year: str, pad: str
) -> None:
    _same_x_time(f"{pad}{day} {month} {dom} {h:02d}:{m:02d}:{s:02d} {tz} {year}{pad}")


@given(st.text(max_size=40))
def test_x_time_equals_strptime_on_noise(value: str) -> None:
    _same_x_time(value)


# --------------------------------------------------------------------------
# Mastodon account host


def _reference_host(url: str) -> str | None:
    return urlsplit(url).hostname


@settings(max_examples=2000, deadline=None)
@given(
    st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "", " https://", "https:"]),
    st.text(alphabet=st.sampled_from("abcXYZ019.-_:@[]% \t\n"), max_size=16),
    st.sampled_from(["", "/", "/@user", "?q", "#f", "\n", ":8080/x"]),
)
@example("https://", "mastodon.social", "/@user")
@example("https://", "", "/@user")
def test_host_equals_urlsplit(scheme: str, host: str, rest: str) -> None:
    url = scheme + host + rest
    assert _outcome(_host, url) == _outcome(_reference_host, url)


_URLS = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "", " https://", "https:"]),
        st.text(alphabet=st.sampled_from("abcXYZ019.-_:@[]% \té"), max_size=16),
        st.sampled_from(["", "/", "/@user", "?q", "#f", "\n", ":8080/x"]),
    ),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b_c"]), st.none() | _URLS), max_size=20))
@example([("a", "https://m.example/@a"), ("a", "https://M.example/@a"), ("b_c", None)])
def test_with_hosts_equals_with_host(accounts: list[tuple[str, str | None]]) -> None:
    """For the URLs a fast block passes on (the others send it the generic way), the
    batch adds the server _with_host adds, and _with_host cannot refuse them."""
    accounts = [(a, u) for a, u in accounts if _plain_urls([u])]
    want = [_with_host(a, u) for a, u in accounts]
    got = with_hosts(
        pl.Series([a for a, _ in accounts], dtype=pl.String),
        pl.Series([u for _, u in accounts], dtype=pl.String),
    )
    assert got.to_list() == want


# --------------------------------------------------------------------------
# Mastodon tags spelled as written, a batch at once


_TEXTS = st.lists(
    st.sampled_from(
        [
            "#Tag",
            "#tag",
            "#TAG",
            "#\uff54\uff41\uff47",
            "#other",
            "#Other",
            "example.com/#tag",
            "x#tag",
            "#tag#x",
            "&#tag",
            "#1",
            "https://e.org/#Tag",
            " ",
            "\n",
            "word",
            "#Straße",
            "#strasse",
        ]
    ),
    max_size=8,
).map(" ".join)
_NAMES = st.lists(
    st.sampled_from(["tag", "Tag", "other", "straße", "strasse", "missing", "\uff54\uff41\uff47"]),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.none() | _NAMES, _TEXTS), min_size=1, max_size=80))
def test_spell_as_written_equals_as_written(rows: list[tuple[list[str] | None, str]]) -> None:
    names = pl.Series([names for names, _ in rows], dtype=pl.List(pl.String))
    texts = pl.Series([text for _, text in rows], dtype=pl.String)
    got = spell_as_written(names, texts).to_list()
    assert got == [None if n is None else as_written(n, text) for n, text in rows]


@pytest.mark.parametrize("batch_rows", [1, 63, 64, 100_000])
def test_mastodon_batch_rows_equal_record_rows(tmp_path: Path, batch_rows: int) -> None:
    """read_native (tags spelled per batch, one by one under 64 rows, else with polars)
    gives the rows Mastodon("mastodon").to_row gives record by record."""
    statuses = []
    for i in range(150):
        tags = [{"name": n, "url": "u"} for n in (["greenfest", "ai"] if i % 3 else [])]
        body = f"#GreenFest #Ai item {i} https://example.com/#greenfest" if i % 2 else "#AI"
        statuses.append(
            {
                "id": str(i),
                "uri": f"https://m.example/users/a/statuses/{i}",
                "created_at": "2024-01-01T00:00:00.000Z",
                "content": f"<p>{body}</p>",
                "tags": tags,
                "account": {"acct": "a", "url": "https://m.example/@a"},
            }
        )
    path = tmp_path / "statuses.ndjson"
    path.write_bytes(b"\n".join(msgspec.json.encode(s) for s in statuses) + b"\n")
    got = [r for b in read_native(path, "mastodon", batch_rows) for r in b.rows.to_dicts()]
    mapper = Mastodon("mastodon")
    want = []
    for line, status in enumerate(statuses, 1):
        row = mapper.to_row(status, {})
        assert isinstance(row, dict)
        want.append({"_line": line, **{k: row[k] for k in got[0] if k != "_line"}})
    assert got == want
    assert any(r["hashtags"] == ["GreenFest", "Ai"] for r in got)


def test_joined_keeps_every_tag() -> None:
    sep = "\x1f"
    assert joined([]) == ""
    assert joined(["a", "b"]) == f"{sep}a{sep}b"
    assert joined(["a", f"b{sep}c", ""]) == f"{sep}a{sep}bc{sep}"


# --------------------------------------------------------------------------
# Mastodon statuses decoded straight into a struct

_ANY_SCALAR = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.just("")
_HTML = st.lists(st.sampled_from(_FRAGMENTS), max_size=6).map("".join)
_TAG = st.fixed_dictionaries(
    {}, optional={"name": st.sampled_from(["tag", "Tag", "straße", ""]) | _ANY_SCALAR}
)
_TAGS = st.lists(_TAG | st.just("tag") | st.none(), max_size=3) | _ANY_SCALAR | st.just({})
_SHOWN = {
    "content": _HTML | _ANY_SCALAR,
    "tags": _TAGS,
    "language": st.sampled_from(["en", "de"]) | _ANY_SCALAR,
}
_ACCOUNT = st.fixed_dictionaries(
    {},
    optional={
        "acct": st.sampled_from(["a", "a@m.example", " "]) | _ANY_SCALAR,
        "url": st.sampled_from(
            [
                "https://m.example/@a",
                "https://[::1/@a",
                "https://[::1]/@a",
                "x",
                "HTTPS://M.example/@a",
                "https://u@m.example:8080/@a",
                "https://m.éxample/@a",
                "",
            ]
        )
        | _ANY_SCALAR,
    },
)
_COUNT = st.integers(-2, 5) | st.sampled_from(["3", " 4 ", "-1", "x", 2.0, 2.5]) | _ANY_SCALAR
_STATUS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["1", 2]) | _ANY_SCALAR | st.just({}),
        "uri": st.sampled_from(["https://m.example/s/1", " "]) | _ANY_SCALAR,
        "created_at": st.just("2024-01-01T00:00:00.000Z") | _ANY_SCALAR,
        "account": _ACCOUNT | _ANY_SCALAR | st.just([]),
        "reblog": st.fixed_dictionaries({}, optional=_SHOWN) | _ANY_SCALAR | st.just([]),
        "favourites_count": _COUNT,
        "reblogs_count": _COUNT,
        "replies_count": _COUNT,
        "other": st.just({"nested": [1, {"x": None}]}),
        **_SHOWN,
    },
)
_FULL_STATUS = {
    "id": "1",
    "uri": "https://m.example/s/1",
    "created_at": "2024-01-01T00:00:00.000Z",
    "account": {"acct": "a", "url": "https://m.example/@a"},
    "content": "<p>#Tag x</p>",
    "tags": [{"name": "tag"}],
}


def _assert_block_equals_generic(mapper: Any, to_row: Any, values: list[Any]) -> None:
    """``mapper.fast_block`` of the values' lines declines (None) or gives, row for row,
    what ``to_row`` gives each decoded line (which then must not raise or skip)."""
    lines = [msgspec.json.encode(v) for v in values]
    cols = mapper.fast_block(lines)
    if cols is None:
        return
    want = []
    for line in lines:
        row = to_row(msgspec.json.decode(line), {})
        assert isinstance(row, dict)
        tags = row["hashtags"]
        want.append({**row, "hashtags": None if tags is None else joined(tags)})
    extras = mapper.extra_columns
    got = _block_rows(cols, extras)
    if "_account_url" in extras:  # Mastodon's finish_rows adds a local account's server
        got, want = _with_servers(got), _with_servers(want)
    assert got == want


def _block_rows(cols: dict[str, list[Any]], extras: Sequence[str] = ()) -> list[dict[str, Any]]:
    names = [*CANONICAL_FIELDS, "_repost", *extras]
    return [
        dict(zip(names, values, strict=True))
        for values in zip(*(cols[n] for n in names), strict=True)
    ]


def _with_servers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as :meth:`Mastodon.finish_rows` makes their ``author`` (and without
    ``_account_url``)."""
    authors = with_hosts(
        pl.Series([r["author"] for r in rows], dtype=pl.String),
        pl.Series([r.pop("_account_url") for r in rows], dtype=pl.String),
    )
    return [{**r, "author": a} for r, a in zip(rows, authors.to_list(), strict=True)]


@settings(max_examples=2000, deadline=None)
@given(st.lists(_STATUS | st.lists(_STATUS, max_size=2), min_size=1, max_size=3))
@example([_FULL_STATUS])
@example([_FULL_STATUS, {**_FULL_STATUS, "reblog": {"content": "<p>#A</p>", "tags": []}}])
@example([_FULL_STATUS, {**_FULL_STATUS, "tags": [{"name": "tag"}, {"name": 3}]}])
@example([{**_FULL_STATUS, "account": {"acct": "b", "url": "https://[::1/@b"}}])
def test_fast_block_equals_generic_rows(statuses: list[Any]) -> None:
    """A block the typed decode maps gives the generic rows, line by line; one it does
    not is left to the generic way (None), whatever that makes of it."""
    mapper = Mastodon("mastodon")
    _assert_block_equals_generic(mapper, mapper.partial_row, statuses)


def test_fast_block_maps_the_usual_statuses(tmp_path: Path) -> None:
    boost = {
        **_FULL_STATUS,
        "uri": "b",
        "reblog": {"content": "<p>#A b</p>", "tags": [{"name": "a"}]},
    }
    cols = Mastodon("mastodon").fast_block([msgspec.json.encode(s) for s in (_FULL_STATUS, boost)])
    assert cols is not None
    assert cols["author"] == ["a"] * 2  # a local account: its server is added later
    assert cols["_account_url"] == ["https://m.example/@a"] * 2
    assert cols["text"] == ["<p>#Tag x</p>", "<p>#A b</p>"]
    assert cols["_repost"] == [None, "mastodon boost"]
    path = tmp_path / "s.ndjson"
    path.write_bytes(b"\n".join(msgspec.json.encode(s) for s in (_FULL_STATUS, boost)) + b"\n")
    (batch,) = read_native(path, "mastodon", 10)
    assert batch.rows.select("_line", "author", "text", "hashtags").rows() == [
        (1, "a@m.example", "#Tag x", ["Tag"]),
        (2, "a@m.example", "#A b", ["A"]),
    ]
    (batch,) = read_native(path, "mastodon", 10, reposts="exclude")
    assert batch.rows["_line"].to_list() == [1]
    assert dict(batch.skipped) == {repost_excluded("mastodon boost"): 1}


# --------------------------------------------------------------------------
# X v1.1 tweets decoded straight into a struct

_HASHTAGS = st.lists(
    st.fixed_dictionaries({}, optional={"text": st.sampled_from(["Tag", "tag", ""]) | _ANY_SCALAR})
    | st.just("Tag"),
    max_size=3,
)
_ENTITIES = st.fixed_dictionaries({}, optional={"hashtags": _HASHTAGS | _ANY_SCALAR}) | _ANY_SCALAR
_EXTENDED = (
    st.fixed_dictionaries(
        {},
        optional={
            "full_text": st.sampled_from(["long #Tag text", ""]) | _ANY_SCALAR,
            "entities": _ENTITIES,
        },
    )
    | _ANY_SCALAR
)
_TWEET_TIME = st.sampled_from(
    ["Sat Mar 10 19:48:40 +0000 2018", "Sat Mar 10 19:48:40 +0100 2018", "yesterday"]
)
_TWEET = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(0, 3) | _ANY_SCALAR,
        "id_str": st.sampled_from(["1", " ", ""]) | _ANY_SCALAR,
        "created_at": _TWEET_TIME | _ANY_SCALAR,
        "full_text": st.sampled_from(["a &amp; #Tag", ""]) | _ANY_SCALAR,
        "text": st.sampled_from(["short #Tag…", ""]) | _ANY_SCALAR,
        "extended_tweet": _EXTENDED,
        "entities": _ENTITIES,
        "user": st.fixed_dictionaries(
            {}, optional={"screen_name": st.sampled_from(["ann", " "]) | _ANY_SCALAR}
        )
        | _ANY_SCALAR,
        "retweeted_status": st.fixed_dictionaries(
            {}, optional={"entities": _ENTITIES, "extended_tweet": _EXTENDED}
        )
        | _ANY_SCALAR,
        "lang": st.just("en") | _ANY_SCALAR,
        "favorite_count": _COUNT,
        "retweet_count": _COUNT,
        "reply_count": _COUNT,
        "quote_count": _COUNT,
        "limit": st.just({"track": 3}),
    },
)
_FULL_TWEET = {
    "id": 7,
    "id_str": "7",
    "created_at": "Sat Mar 10 19:48:40 +0000 2018",
    "full_text": "a &amp; #Tag",
    "entities": {"hashtags": [{"text": "Tag", "indices": [8, 12]}]},
    "user": {"screen_name": "ann", "followers_count": 3},
    "lang": "en",
    "favorite_count": 2,
}


@settings(max_examples=2000, deadline=None)
@given(st.lists(_TWEET | st.lists(_TWEET, max_size=2), min_size=1, max_size=3))
@example([_FULL_TWEET])
@example([_FULL_TWEET, {**_FULL_TWEET, "retweeted_status": {"entities": {"hashtags": []}}}])
@example([{**_FULL_TWEET, "extended_tweet": {"full_text": "x #Long", "entities": {}}}])
@example([{**_FULL_TWEET, "id_str": ""}])
def test_x_v1_fast_block_equals_generic_rows(tweets: list[Any]) -> None:
    """A block the typed decode maps gives the generic rows, line by line; one it does
    not is left to the generic way (None)."""
    mapper = XV1("x-v1")
    _assert_block_equals_generic(mapper, mapper.to_row, tweets)


def test_x_v1_fast_block_maps_the_usual_tweets() -> None:
    retweet = {**_FULL_TWEET, "id_str": "8", "retweeted_status": {"entities": {"hashtags": []}}}
    cols = XV1("x-v1").fast_block([msgspec.json.encode(t) for t in (_FULL_TWEET, retweet)])
    assert cols is not None
    assert cols["text"] == ["a & #Tag"] * 2
    assert cols["created_at"] == ["2018-03-10T19:48:40Z"] * 2
    assert cols["likes"] == [2, 0]
    assert cols["hashtags"] == [joined(["Tag"]), joined([])]
    assert cols["_repost"] == [None, "x-v1 retweet"]
    assert XV1("x-v1").fast_block([msgspec.json.encode({"limit": {"track": 1}})]) is None


# --------------------------------------------------------------------------
# Reddit items decoded with the keys the mapping reads

_REDDIT_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["abc", " ", ""]) | _ANY_SCALAR,
        "name": st.sampled_from(["t1_abc", "t3_abc", "x_abc"]) | _ANY_SCALAR,
        "body": st.sampled_from(["a #Tag &amp; b", "[deleted]", "[removed]", ""]) | _ANY_SCALAR,
        "title": st.sampled_from(["Title #T", ""]) | _ANY_SCALAR,
        "selftext": st.sampled_from(["self", "[removed]", ""]) | _ANY_SCALAR,
        "score": _COUNT,
        "created_utc": st.sampled_from([1192450643, "1192450643", 1.5]) | _ANY_SCALAR,
        "author": st.sampled_from(["ann", "[deleted]", " "]) | _ANY_SCALAR,
        "num_comments": _COUNT,
        "subreddit": st.sampled_from(["Python", "r/rust", " "]) | _ANY_SCALAR,
        "subreddit_name_prefixed": st.sampled_from(["r/Python"]) | _ANY_SCALAR,
        "lang": st.just("en") | _ANY_SCALAR,
        "gilded": st.integers(0, 2),
        "all_awardings": st.just([{"name": "x", "count": 1}]),
    },
)
_REDDIT_VALUE = (
    _REDDIT_ITEM
    | st.fixed_dictionaries(
        {"kind": st.sampled_from(["t1", "t3", "t5"]), "data": _REDDIT_ITEM | _ANY_SCALAR}
    )
    | st.lists(_REDDIT_ITEM, max_size=2)
    | _ANY_SCALAR
)


def _outcomes(mapper: Any, value: Any) -> list[tuple[str, Any]]:
    """What ``mapper`` makes of each record of a decoded line: a row or a reject."""
    out: list[tuple[str, Any]] = []
    for record, ctx in mapper.records(value):
        try:
            out.append(("row", mapper.to_row(record, ctx)))
        except (RecordError, TypeError, ValueError, AttributeError, KeyError) as e:
            out.append(("reject", str(e)))
    return out


def _assert_line_keys_map_as_whole(mapper: Any, value: Any) -> None:
    """A line decoded with just ``mapper.line_keys`` maps to what the whole line maps to."""
    raw = msgspec.json.encode(value)
    generic = msgspec.json.Decoder().decode
    keyed = _keys_first(msgspec.json.Decoder(mapper.line_keys).decode, generic)
    assert _outcomes(mapper, keyed(raw)) == _outcomes(mapper, generic(raw))


@settings(max_examples=2000, deadline=None)
@given(_REDDIT_VALUE)
def test_reddit_line_keys_map_as_the_whole_line(value: Any) -> None:
    _assert_line_keys_map_as_whole(Reddit("reddit"), value)


# --------------------------------------------------------------------------
# X v2 tweets decoded with the keys the mapping reads

_V2_ENTITIES = (
    st.fixed_dictionaries(
        {},
        optional={
            "hashtags": st.lists(
                st.fixed_dictionaries({}, optional={"tag": st.just("Tag") | _ANY_SCALAR}),
                max_size=2,
            )
            | _ANY_SCALAR,
            "urls": st.just([{"url": "u"}]),
        },
    )
    | _ANY_SCALAR
)
_V2_TWEET = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["1", " "]) | _ANY_SCALAR,
        "text": st.sampled_from(["a &amp; #Tag", ""]) | _ANY_SCALAR,
        "note_tweet": st.fixed_dictionaries(
            {}, optional={"text": st.just("long #Tag") | _ANY_SCALAR, "entities": _V2_ENTITIES}
        )
        | _ANY_SCALAR,
        "author_id": st.sampled_from(["9", 9]) | _ANY_SCALAR,
        "author": st.fixed_dictionaries(
            {}, optional={"username": st.just("ann") | _ANY_SCALAR, "name": st.just("Ann")}
        )
        | _ANY_SCALAR,
        "created_at": st.just("2024-01-01T00:00:00.000Z") | _ANY_SCALAR,
        "public_metrics": st.fixed_dictionaries({}, optional={"like_count": _COUNT}) | _ANY_SCALAR,
        "lang": st.just("en") | _ANY_SCALAR,
        "entities": _V2_ENTITIES,
        "referenced_tweets": st.lists(
            st.fixed_dictionaries(
                {}, optional={"type": st.sampled_from(["retweeted", "quoted"]), "id": st.just("5")}
            ),
            max_size=2,
        )
        | _ANY_SCALAR,
        "__twarc": st.just({"version": "2"}),
    },
)
_V2_VALUE = (
    _V2_TWEET
    | st.fixed_dictionaries(
        {"data": st.lists(_V2_TWEET, max_size=2) | _V2_TWEET},
        optional={
            "includes": st.fixed_dictionaries(
                {},
                optional={
                    "users": st.just([{"id": "9", "username": "bob"}]),
                    "tweets": st.just([{"id": "5", "entities": {"hashtags": [{"tag": "RT"}]}}]),
                },
            )
        },
    )
    | st.lists(_V2_TWEET, max_size=2)
    | _ANY_SCALAR
)


@settings(max_examples=2000, deadline=None)
@given(_V2_VALUE)
def test_x_v2_line_keys_map_as_the_whole_line(value: Any) -> None:
    _assert_line_keys_map_as_whole(XV2("x-v2"), value)


# --------------------------------------------------------------------------
# Bluesky lines decoded with the keys the mapping reads

_POST = "app.bsky.feed.post"


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` three times in four, else any scalar (so most records map to rows)."""
    return st.integers(0, 3).flatmap(lambda i: valid if i else _ANY_SCALAR)


_BSKY_FEATURE = st.fixed_dictionaries(
    {
        "$type": _mostly(
            st.sampled_from(["app.bsky.richtext.facet#tag", "app.bsky.richtext.facet#link"])
        ),
        "tag": _mostly(st.sampled_from(["Tag", "straße", ""])),
    },
    optional={"uri": st.just("https://example.com/")},
)
_BSKY_FACETS = st.lists(
    _mostly(
        st.fixed_dictionaries(
            {"features": _mostly(st.lists(_mostly(_BSKY_FEATURE), max_size=2))},
            optional={"index": st.just({"byteStart": 0, "byteEnd": 4})},
        )
    ),
    max_size=2,
)
_BSKY_RECORD = st.fixed_dictionaries(
    {
        "text": _mostly(st.sampled_from(["hi #Tag", ""])),
        "createdAt": _mostly(st.just("2024-01-01T00:00:00.000Z")),
        "facets": _mostly(_BSKY_FACETS),
    },
    optional={
        "$type": _mostly(st.sampled_from([_POST, _POST, _POST, "app.bsky.feed.repost"])),
        "langs": _mostly(st.lists(_mostly(st.sampled_from(["en", "de"])), max_size=2)),
        "tags": _mostly(st.lists(_mostly(st.just("Extra")), max_size=2)),
        "embed": st.just({"$type": "app.bsky.embed.external", "external": {"uri": "u"}}),
        "reply": st.just({"root": {"uri": "at://x", "cid": "c"}}),
    },
)
_BSKY_EVENT = st.fixed_dictionaries(
    {
        "did": _mostly(st.sampled_from(["did:plc:a", " "])),
        "commit": _mostly(
            st.fixed_dictionaries(
                {
                    "collection": _mostly(
                        st.sampled_from([_POST, _POST, _POST, "app.bsky.feed.like"])
                    ),
                    "rkey": _mostly(st.just("3kabc")),
                    "record": _mostly(_BSKY_RECORD),
                },
                optional={
                    "rev": st.just("3k"),
                    "operation": _mostly(st.sampled_from(["create", "create", "update", "delete"])),
                    "cid": st.just("bafy"),
                },
            )
        ),
    },
    optional={
        "time_us": _mostly(st.just(1_700_000_000_000_000)),
        "kind": _mostly(st.sampled_from(["commit", "commit", "commit", "identity"])),
    },
)
_BSKY_VIEW = st.fixed_dictionaries(
    {
        "record": _mostly(_BSKY_RECORD),
        "uri": _mostly(st.just("at://did:plc:a/app.bsky.feed.post/3k")),
    },
    optional={
        "cid": st.just("bafy"),
        "author": _mostly(
            st.fixed_dictionaries({}, optional={"did": _mostly(st.just("did:plc:a"))})
            | st.just("did:plc:b")
        ),
        "repo": _mostly(st.just("did:plc:c")),
        "path": _mostly(st.just("app.bsky.feed.post/3k")),
        "action": _mostly(st.sampled_from(["create", "create", "delete"])),
        "indexedAt": _mostly(st.just("2024-01-02T00:00:00.000Z")),
        "likeCount": _COUNT,
        "repostCount": _COUNT,
        "replyCount": _COUNT,
        "quoteCount": _COUNT,
    },
)
_BSKY_OP = st.fixed_dictionaries(
    {
        "path": _mostly(st.sampled_from(["app.bsky.feed.post/3k", "app.bsky.feed.post/"])),
        "record": _mostly(_BSKY_RECORD),
    },
    optional={"action": _mostly(st.sampled_from(["create", "create", "delete"]))},
)
_BSKY_VALUE = (
    _BSKY_EVENT
    | _BSKY_VIEW
    | st.fixed_dictionaries({"posts": st.lists(_BSKY_VIEW, max_size=2) | _ANY_SCALAR})
    | st.fixed_dictionaries(
        {"repo": st.just("did:plc:a"), "ops": st.lists(_BSKY_OP, max_size=2)},
        optional={"time": st.just("2024-01-01T00:00:00Z") | _ANY_SCALAR},
    )
    | st.lists(_BSKY_EVENT, max_size=2)
    | _ANY_SCALAR
)


@settings(max_examples=3000, deadline=None)
@given(_BSKY_VALUE)
def test_bluesky_line_keys_map_as_the_whole_line(value: Any) -> None:
    _assert_line_keys_map_as_whole(Bluesky("bluesky"), value)


# --------------------------------------------------------------------------
# What the fast paths skip unread, and what they must not let through

_ONE_LINE = {
    "mastodon": msgspec.json.encode(_FULL_STATUS),
    "x-v1": msgspec.json.encode(_FULL_TWEET),
    "reddit": b'{"id":"abc","body":"hi #x","score":1,"created_utc":1192450643,"author":"ann"}',
    "x-v2": b'{"id":"1","text":"hi #x","author_id":"9","created_at":"2024-01-01T00:00:00Z"}',
    "bluesky": b'{"did":"did:plc:a","kind":"commit","commit":{"operation":"create",'
    b'"collection":"app.bsky.feed.post","rkey":"3k","record":{"text":"hi #x",'
    b'"createdAt":"2024-01-01T00:00:00Z"}}}',
}
_DECLINED = {  # a line the block path declines (so its whole block goes the generic way)
    "mastodon": msgspec.json.encode({**_FULL_STATUS, "tags": [{"name": "tag"}, "junk"]}),
    "x-v1": msgspec.json.encode({"limit": {"track": 1}}),
    "reddit": b"[]",
    "x-v2": b"[]",
    "bluesky": b"[]",
}


def _with_field(line: bytes, field: bytes) -> bytes:
    return line[:-1] + b"," + field + b"}"


def _rows_and_rejects(path: Path, fmt: str) -> tuple[list[dict[str, Any]], list[Any]]:
    batches = list(read_native(path, fmt, 100))
    rows = [r for b in batches for r in b.rows.to_dicts()]
    return rows, [(n, reason) for b in batches for n, reason, _ in b.rejects]


@pytest.mark.parametrize("fmt", sorted(_ONE_LINE))
@pytest.mark.parametrize("field", [b'"zz":1e400', b'"zz":"\xff"', b'"zz":{"a":[-1e999]}'])
def test_an_unread_field_out_of_range_or_not_utf8_is_skipped_either_way(
    tmp_path: Path, fmt: str, field: bytes
) -> None:
    """Such a line is read as a post, whether its block takes the fast path or not
    (one declined line sends the whole block the generic way)."""
    line = _with_field(_ONE_LINE[fmt], field)
    alone, declined = tmp_path / "alone.jsonl", tmp_path / "declined.jsonl"
    alone.write_bytes(_ONE_LINE[fmt] + b"\n" + line + b"\n")
    declined.write_bytes(_DECLINED[fmt] + b"\n" + _ONE_LINE[fmt] + b"\n" + line + b"\n")
    rows, rejects = _rows_and_rejects(alone, fmt)
    assert ([r["_line"] for r in rows], rejects) == ([1, 2], [])
    rows_declined, rejects_declined = _rows_and_rejects(declined, fmt)
    assert [r["_line"] for r in rows_declined][-2:] == [2, 3]
    assert rejects_declined == []
    strip = [{k: v for k, v in r.items() if k != "_line"} for r in rows]
    assert [{k: v for k, v in r.items() if k != "_line"} for r in rows_declined][-2:] == strip


@pytest.mark.parametrize("fmt", sorted(_ONE_LINE))
def test_invalid_utf8_in_a_read_field_is_a_reject_not_a_crash(tmp_path: Path, fmt: str) -> None:
    good = _ONE_LINE[fmt]
    bad = good.replace(b"#", b"#\xff", 1)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(good + b"\n" + bad + b"\n")
    rows, rejects = _rows_and_rejects(path, fmt)
    assert [r["_line"] for r in rows] == [1]
    assert len(rejects) == 1
    line, reason = rejects[0]
    assert line == 2
    assert reason.startswith("bad JSON: invalid UTF-8"), reason


@pytest.mark.parametrize("reposts", ["count", "exclude"])
@pytest.mark.parametrize("batch_rows", [1, 2, 3, 100])
def test_block_counts_reposts_in_the_batch_that_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reposts: str, batch_rows: int
) -> None:
    """Notes and skips land in the same batches as when each line is read by itself."""
    boost = {**_FULL_STATUS, "reblog": {"content": "<p>#A</p>", "tags": []}}
    statuses = [_FULL_STATUS, boost, _FULL_STATUS, boost, boost, _FULL_STATUS, boost]
    path = tmp_path / "s.jsonl"
    path.write_bytes(
        b"".join(msgspec.json.encode({**s, "uri": f"u{i}"}) + b"\n" for i, s in enumerate(statuses))
    )

    def per_batch() -> list[tuple[list[int], dict[str, int], dict[str, int]]]:
        return [
            (b.rows["_line"].to_list(), dict(b.notes), dict(b.skipped))
            for b in read_native(path, "mastodon", batch_rows, reposts=reposts)
        ]

    fast = per_batch()
    monkeypatch.setattr(Mastodon, "fast_block", lambda self, lines: None)
    assert fast == per_batch()


@pytest.mark.parametrize("reposts", ["count", "exclude"])
@pytest.mark.parametrize("batch_rows", [1, 3, 100])
def test_block_rows_show_their_lines_as_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reposts: str, batch_rows: int
) -> None:
    """A reject found later (by validation) shows the line as read, whichever way its
    block was read and wherever the batches split it."""
    boost = {**_FULL_STATUS, "reblog": {"content": "<p>#A</p>", "tags": []}}
    statuses = [_FULL_STATUS, boost, _FULL_STATUS, _FULL_STATUS, boost, _FULL_STATUS]
    lines = [msgspec.json.encode({**s, "uri": f"u{i}"}) for i, s in enumerate(statuses)]
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    def shown() -> list[tuple[int, str | None]]:
        return [
            (n, b.raw(n))
            for b in read_native(path, "mastodon", batch_rows, reposts=reposts)
            for n in b.rows["_line"].to_list()
        ]

    fast = shown()
    kept = [1, 3, 4, 6] if reposts == "exclude" else [1, 2, 3, 4, 5, 6]
    assert fast == [(n, lines[n - 1].decode()) for n in kept]
    monkeypatch.setattr(Mastodon, "fast_block", lambda self, lines: None)
    assert fast == shown()


def test_count_column_takes_only_counts_as_they_are() -> None:
    """A fast block's counts: integers in range, a missing one as 0; anything else
    (out of range, a bool, a float, a string) sends the block the generic way."""
    assert count_column([1, 0, COUNT_MAX, COUNT_MIN]) == [1, 0, COUNT_MAX, COUNT_MIN]
    assert count_column([1, None, 2]) == [1, 0, 2]
    assert count_column([]) == []
    for bad in (COUNT_MAX + 1, COUNT_MIN - 1, True, 1.0, "1"):
        assert count_column([1, None, bad]) is None
        assert count_column([bad]) is None


@pytest.mark.parametrize("fast", [True, False])
def test_out_of_range_times_and_counts_are_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:
        monkeypatch.setattr(XV1, "fast_block", lambda self, lines: None)
    tweets = [
        _FULL_TWEET,
        {**_FULL_TWEET, "created_at": "Mon Jan 01 00:30:00 +0100 0001"},
        {**_FULL_TWEET, "favorite_count": 1 << 63},
    ]
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"".join(msgspec.json.encode(t) + b"\n" for t in tweets))
    rows, rejects = _rows_and_rejects(path, "x-v1")
    assert [r["_line"] for r in rows] == [1]
    assert rejects == [
        (2, "bad timestamp in 'created_at': Mon Jan 01 00:30:00 +0100 0001"),
        (3, f"'favorite_count' is out of range: {1 << 63}"),
    ]
