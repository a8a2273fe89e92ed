"""service.search: full-text post search over real generations built from literal data."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import tantivy
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.build import BuildOptions, build
from indexer.schema import open_posts_index
from service import search
from service.edits import osa_distance
from service.query_errors import InvalidParameter
from service.search import (
    MAX_LIMIT,
    MAX_Q_CHARS,
    PostItem,
    PostsPage,
    SearchParams,
    search_posts,
)
from tests.conftest import NOW, post, write_ndjson

LONG = "Intro words here. " * 20 + "The needle is in the middle. " + "Outro words here. " * 20

CORPUS = [
    post("fox1", "The quick brown fox jumps over the lazy dog", author="alice", platform="x",
         lang="en", likes=5, created_at="2026-10-01T00:00:00Z", hashtags=["Animals"]),
    post("fox2", "A fox that is brown, not quick at all", author="bob", platform="mastodon",
         lang="en", likes=1, reposts=1, created_at="2026-10-02T00:00:00Z"),
    post("cafe", "Café crème à Montréal #CaféQuébec", author="chloé", platform="bluesky",
         lang="fr", replies=9, created_at="2026-10-02T23:59:59Z"),
    post("cafe2", "cafe and CREME without accents", author="alice", platform="x", lang="en",
         created_at="2026-10-03T00:00:00Z"),
    post("py1", "I love python and #Python loves me", author="dana", platform="x", lang="en",
         quotes=3, created_at="2026-10-04T10:00:00Z", hashtags=["python"]),
    post("py2", "I love pythn, sorry for the typo", author="erin", platform="x", lang="en",
         created_at="2026-10-04T11:00:00Z"),
    post("mail", "send me an e-mail please", author="erin", platform="reddit", lang="en",
         created_at="2026-10-05T00:00:00Z"),
    post("xss", "<script>alert('x')</script> & friends say hello", author="mallory",
         platform="x", lang="en", created_at="2026-10-05T01:00:00Z"),
    post("long", LONG, author="frank", platform="x", lang="en",
         created_at="2026-10-05T02:00:00Z"),
    post("num", "order 12345 shipped", author="gus", platform="x", lang="en",
         created_at="2026-10-05T03:00:00Z"),
    post("tagonly", "<i>nothing to see</i> #Rust", author="hana", platform="x", lang="en",
         created_at="2026-10-05T04:00:00Z"),
    post("cjk", "東京タワー 日本語 テスト 🎉", author="ito", platform="x", lang="ja",
         created_at="2026-10-05T05:00:00Z"),
]  # fmt: skip

PAGED = 250


def paged_rows() -> list[dict[str, Any]]:
    """250 posts with many ties in every sort key (engagement, second, score)."""
    rows = []
    for i in range(PAGED):
        words = " ".join(["common"] * (1 + i % 3))
        rows.append(
            post(
                f"p{i:03d}",
                f"{words} item {i} #Bulk",
                author=f"author{i % 5}",
                platform=("x", "bluesky")[i % 2],
                likes=i % 7,
                reposts=i % 2,
                created_at=f"2026-10-{1 + i % 4:02d}T12:00:{i % 9:02d}Z",
            )
        )
    rows.append(post("other", "unrelated words entirely"))
    return rows


@dataclass(frozen=True)
class Ix:
    index: tantivy.Index
    searcher: tantivy.Searcher


def build_index(root: Path, rows: list[dict[str, Any]]) -> Ix:
    dump = write_ndjson(root / "dump.ndjson", rows)
    result = build([str(dump)], BuildOptions(index_dir=root / "index"), now=NOW)
    index = open_posts_index(result.generation_dir)
    return Ix(index, index.searcher())


@pytest.fixture(scope="module")
def ix(tmp_path_factory: pytest.TempPathFactory) -> Ix:
    return build_index(tmp_path_factory.mktemp("corpus"), CORPUS)


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> Ix:
    return build_index(tmp_path_factory.mktemp("paged"), paged_rows())


def run(ix: Ix, **params: Any) -> PostsPage:
    return search_posts(ix.index, ix.searcher, SearchParams(**params))


def ids(ix: Ix, **params: Any) -> list[str]:
    return [item.id for item in run(ix, limit=MAX_LIMIT, **params).items]


def found(ix: Ix, **params: Any) -> set[str]:
    return set(ids(ix, **params))


def all_pages(
    ix: Ix, cursor: str | None = None, **params: Any
) -> tuple[list[PostItem], list[PostsPage]]:
    """Every item from ``cursor`` on, following cursors to the end."""
    items: list[PostItem] = []
    pages: list[PostsPage] = []
    while True:
        page = run(ix, cursor=cursor, **params)
        pages.append(page)
        items += page.items
        if page.next_cursor is None:
            return items, pages
        assert len(pages) <= 1000, "pagination does not end"
        cursor = page.next_cursor


def bad(parameter: str, ix: Ix, **params: Any) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        run(ix, **params)
    assert caught.value.parameter == parameter
    return caught.value


# ------------------------------------------------------------------ words


def test_all_words_must_match(ix: Ix) -> None:
    assert found(ix, q="quick fox") == {"fox1", "fox2"}
    assert found(ix, q="quick fox lazy") == {"fox1"}
    assert found(ix, q="quick giraffe") == set()


def test_and_is_the_default_or_and_minus_are_operators(ix: Ix) -> None:
    assert found(ix, q="quick AND lazy") == found(ix, q="quick lazy") == {"fox1"}
    assert found(ix, q="lazy OR montreal") == {"fox1", "cafe"}
    assert found(ix, q="fox -lazy") == {"fox2"}
    assert found(ix, q='fox -"lazy dog"') == {"fox2"}
    assert found(ix, q="-fox -cafe -python -pythn") == found(ix) - {
        "fox1", "fox2", "cafe", "cafe2", "py1", "py2",
    }  # fmt: skip
    assert found(ix, q="AND") == {"cafe2", "py1"}  # alone, an operator is a word
    assert found(ix, q="OR") == set()


def test_phrase_versus_words(ix: Ix) -> None:
    assert found(ix, q="brown fox") == {"fox1", "fox2"}
    assert found(ix, q='"brown fox"') == {"fox1"}
    assert found(ix, q='"fox brown"') == set()
    assert found(ix, q='"brown fox') == {"fox1"}  # an unterminated quote runs to the end


def test_a_word_that_splits_is_a_phrase(ix: Ix) -> None:
    assert found(ix, q="e-mail") == {"mail"}
    assert found(ix, q="me-mail") == set()  # "me mail" is not adjacent


def test_typos_are_tolerated_and_rank_below_exact_matches(ix: Ix) -> None:
    assert ids(ix, q="python") == ["py1", "py2"]  # py2 says "pythn"
    assert found(ix, q="pyhton") == {"py1"}  # a transposition is 1 edit; "pythn" is 2 away
    assert found(ix, q="pythin") == {"py1", "py2"}
    assert found(ix, q="montrael") == {"cafe"}
    assert found(ix, q="qiuck borwn") == {"fox1", "fox2"}  # 5 letters: 1 edit each


def test_no_typos_for_short_words_digits_or_quotes(ix: Ix) -> None:
    assert found(ix, q="dgo") == set()  # 3 letters: exact only
    assert found(ix, q="12346") == set()  # digits: exact only
    assert found(ix, q="12345") == {"num"}
    assert found(ix, q='"pyhton"') == set()


def test_case_and_accents_fold(ix: Ix) -> None:
    assert found(ix, q="cafe creme") == {"cafe", "cafe2"}
    assert found(ix, q="CAFÉ Crème") == {"cafe", "cafe2"}
    assert found(ix, q="montreal") == {"cafe"}
    assert found(ix, q="東京タワー") == {"cjk"}


# ---------------------------------------------------------------- filters


def test_each_filter(ix: Ix) -> None:
    assert found(ix, tag="python") == {"py1"}
    assert found(ix, tag="caféquébec") == {"cafe"}
    assert found(ix, tag="animals") == {"fox1"}
    assert found(ix, author="alice") == {"fox1", "cafe2"}
    assert found(ix, author="Alice") == set()
    assert found(ix, platform="mastodon") == {"fox2"}
    assert found(ix, lang="fr") == {"cafe"}
    assert found(ix, q="fox", platform="x") == {"fox1"}
    assert found(ix, q="love", author="erin", lang="en", platform="x") == {"py2"}
    assert found(ix, tag="nosuchtag") == set()
    assert found(ix, author="") == found(ix)  # an empty value is no filter


def test_date_range_from_inclusive_to_exclusive(ix: Ix) -> None:
    day = found(ix, from_=datetime(2026, 10, 2, tzinfo=UTC), to=datetime(2026, 10, 3, tzinfo=UTC))
    assert day == {"fox2", "cafe"}
    assert found(ix, to=datetime(2026, 10, 2, tzinfo=UTC)) == {"fox1"}
    assert "cafe2" in found(ix, from_=datetime(2026, 10, 3, tzinfo=UTC))
    assert found(ix, from_=datetime(2026, 10, 2, 23, 59, 59, tzinfo=UTC), to=None) >= {"cafe"}
    assert found(ix, q="fox", from_=datetime(2026, 10, 2, tzinfo=UTC)) == {"fox2"}
    empty = datetime(2026, 10, 2, tzinfo=UTC)
    assert found(ix, from_=empty, to=empty) == set()
    assert found(ix, from_=datetime(1, 1, 1, tzinfo=UTC), to=datetime(9999, 1, 1, tzinfo=UTC)) == (
        found(ix)
    )
    bad("from", ix, from_=datetime(2026, 10, 3, tzinfo=UTC), to=datetime(2026, 10, 2, tzinfo=UTC))


# ------------------------------------------------------------------ sorts


def test_sorts(ix: Ix) -> None:
    recent = run(ix, sort="recent", limit=MAX_LIMIT).items
    assert [i.created_at for i in recent] == sorted((i.created_at for i in recent), reverse=True)
    assert recent[0].id == "cjk"
    engaged = run(ix, sort="engagement", limit=MAX_LIMIT).items
    scores = [(i.likes + i.reposts + i.replies + i.quotes, i.created_at) for i in engaged]
    assert scores == sorted(scores, reverse=True)  # equal engagement: most recent first
    assert [i.id for i in engaged[:3]] == ["cafe", "fox1", "py1"]
    # relevance: BM25; fox1 matches both OR groups, so it scores higher
    assert ids(ix, q="brown fox lazy OR fox") == ["fox1", "fox2"]
    # without q there is nothing to rank by: relevance lists the most recent first
    assert ids(ix) == ids(ix, sort="recent")
    assert ids(ix, q="-fox") == ids(ix, q="-fox", sort="recent")


def test_a_page_holds_the_contract_fields(ix: Ix) -> None:
    page = run(ix, q="python", limit=1)
    (item,) = page.items
    assert msgspec.to_builtins(page) == {
        "total": 2,
        "items": [
            {
                "id": "py1",
                "platform": "x",
                "community": None,
                "created_at": "2026-10-04T10:00:00Z",
                "author": "dana",
                "text": "I love python and #Python loves me",
                "snippet": "I love <b>python</b> and #<b>Python</b> loves me",
                "hashtags": ["python"],
                "likes": 0,
                "reposts": 0,
                "replies": 0,
                "quotes": 3,
            }
        ],
        "next_cursor": page.next_cursor,
    }
    assert item.created_at.tzinfo is not None
    assert page.next_cursor is not None


# -------------------------------------------------------------- pagination


def oracle(p: Ix, query: tantivy.Query, sort: str) -> list[str]:
    """Every match of ``query`` from one big search, ordered in Python from stored values:
    relevance by (score desc), recent by (second desc), engagement by (engagement desc,
    second desc); ties by document address."""
    keyed = []
    for score, address in p.searcher.search(query, 10_000).hits:
        doc = p.searcher.doc(address).to_dict()
        second = int(doc["created_at"][0].timestamp() // 1)
        key = {
            "relevance": (-score,),
            "recent": (-second,),
            "engagement": (-doc["engagement"][0], -second),
        }[sort]
        keyed.append((*key, address.segment_ord, address.doc, doc["uid"][0].split(":", 1)[1]))
    return [row[-1] for row in sorted(keyed)]


@pytest.mark.parametrize("sort", ["relevance", "recent", "engagement"])
@pytest.mark.parametrize("q", ["common", "common item"])
def test_cursor_pages_enumerate_every_match_once_in_order(paged: Ix, sort: str, q: str) -> None:
    items, pages = all_pages(paged, q=q, sort=sort, limit=20)
    got = [i.id for i in items]
    assert len(got) == len(set(got)) == PAGED
    assert all(p.total == PAGED for p in pages)
    assert [len(p.items) for p in pages] == [20] * 12 + [10]
    query = paged.index.parse_query(q, ["text"], conjunction_by_default=True)
    assert got == oracle(paged, query, sort)
    assert all_pages(paged, q=q, sort=sort, limit=20)[0] == items  # stable
    # page size may change between pages
    first = run(paged, q=q, sort=sort, limit=7)
    rest, _ = all_pages(paged, q=q, sort=sort, limit=33, cursor=first.next_cursor)
    assert [i.id for i in first.items + rest] == got


@pytest.mark.parametrize("sort", ["relevance", "recent", "engagement"])
def test_pages_of_filtered_listings(paged: Ix, sort: str) -> None:
    items, pages = all_pages(paged, tag="bulk", platform="x", sort=sort, limit=9)
    got = [i.id for i in items]
    expected = {f"p{i:03d}" for i in range(0, PAGED, 2)}
    assert len(got) == len(expected)
    assert set(got) == expected
    assert {p.total for p in pages} == {len(expected)}
    keys = [
        (i.likes + i.reposts + i.replies + i.quotes if sort == "engagement" else 0, i.created_at)
        for i in items
    ]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("sort", ["relevance", "recent", "engagement"])
def test_any_page_size_walks_the_same_order(paged: Ix, sort: str) -> None:
    expected = oracle(paged, paged.index.parse_query("common", ["text"]), sort)
    for limit in (1, 3, MAX_LIMIT):
        items, pages = all_pages(paged, q="common", sort=sort, limit=limit)
        assert [i.id for i in items] == expected
        assert len(pages) == -(-PAGED // limit)


def test_filtered_single_steps_through_ties(paged: Ix) -> None:
    day = {"from_": datetime(2026, 10, 2, tzinfo=UTC), "to": datetime(2026, 10, 3, tzinfo=UTC)}
    for sort in ("recent", "engagement"):
        items, _ = all_pages(paged, q="common", sort=sort, limit=1, **day)
        assert len(items) == len({i.id for i in items}) == len(range(1, PAGED, 4))
        assert [i.id for i in items] == [
            i.id for i in all_pages(paged, q="common", sort=sort, limit=50, **day)[0]
        ]


def test_total_is_exact(paged: Ix, ix: Ix) -> None:
    assert run(paged, q="common", limit=1).total == PAGED
    assert run(paged, limit=1).total == PAGED + 1
    second = run(paged, limit=1, cursor=run(paged, limit=1).next_cursor)
    assert second.total == PAGED + 1
    assert run(paged, q="item", author="author3", limit=2).total == PAGED // 5
    assert run(ix, q="nothing matches this", limit=5).total == 0
    assert run(ix, q="nothing matches this").next_cursor is None


def cursor_of(ix: Ix, **params: Any) -> str:
    cursor = run(ix, limit=1, **params).next_cursor
    assert cursor is not None
    return cursor


@pytest.mark.parametrize("sort", ["relevance", "recent", "engagement"])
def test_bad_cursors_are_400(paged: Ix, sort: str) -> None:
    good = cursor_of(paged, q="common", sort=sort)
    garbled = [
        "x",
        "!!!!",
        "not a cursor",
        good[:-3],
        good + "AAAA",
        base64.urlsafe_b64encode(b"\x93\x01\xc4\x08").decode(),
        base64.urlsafe_b64encode(msgspec.msgpack.encode([1, b"12345678", -5])).decode(),
        base64.urlsafe_b64encode(msgspec.msgpack.encode({"a": 1})).decode(),
        "é",
    ]
    for cursor in garbled:
        bad("cursor", paged, q="common", sort=sort, cursor=cursor)
    other_query = cursor_of(paged, q="item", sort=sort)
    other_filter = cursor_of(paged, q="common", sort=sort, platform="x")
    other_sort = cursor_of(paged, q="common", sort="recent" if sort != "recent" else "engagement")
    for cursor in (other_query, other_filter, other_sort):
        error = bad("cursor", paged, q="common", sort=sort, cursor=cursor)
        assert "another query" in str(error)


def test_tampered_cursor_values_are_400(paged: Ix) -> None:
    good = cursor_of(paged, q="common", sort="recent")
    signed = base64.urlsafe_b64decode(good + "=" * (-len(good) % 4))
    raw = msgspec.msgpack.decode(signed[: -search.MAC_BYTES])
    key = raw[3]
    for values, skip in [
        ([2**63 + 5], 0),
        ([-(2**63)], 0),
        (None, 0),
        ([], 0),
        ([*key, 1], 0),
        ([*key, 1, 2], 0),
        (key, 10**12),
        (key, -1),
    ]:
        # signed as the service signs (these tests' key is b""): the values are checked too
        tampered = search.sign(msgspec.msgpack.encode([*raw[:3], values, skip]), b"")
        cursor = base64.urlsafe_b64encode(tampered).decode().rstrip("=")
        bad("cursor", paged, q="common", sort="recent", cursor=cursor)


def test_limit_is_checked(ix: Ix) -> None:
    bad("limit", ix, limit=0)
    bad("limit", ix, limit=MAX_LIMIT + 1)
    bad("sort", ix, sort="random")


# ------------------------------------------------------------ nasty input

NASTY = [
    '"', '""', '"""', "(", ")", "()", ":", "AND", "OR", "NOT", "AND OR", "*", "?", "\\", "\\\\",
    "text:foo", "uid:x:fox1", "author:alice", "foo^", "foo^2", "foo~1", "~", "^", "+", "-", "--",
    "-fox", "+fox", "fox)", "(fox", "[1 TO 2]", "{a TO b}", "/regex.*/", "fox AND", "OR fox",
    "a OR OR b", "'", "`", "#", "#python", "@alice", "&amp;", "<b>", "%", "%00", "\x00", "\t\n",
    "🎉", "🎉🎉🎉", "👨‍👩‍👧", "東京", "日本語のテキスト", "العربية", "ǅ", "ﬁ", "Straße",
    "x" * 150, "fox " * 40, "a" * MAX_Q_CHARS, "a" * (MAX_Q_CHARS + 1), "a " * 600, "é" * 2000,
    '"' * 999, "(" * 500 + ")" * 400, "\u200b", "\ud7ff", "fox\u0301", "NaN", "-0", "1e309",
]  # fmt: skip


def search_or_400(ix: Ix, q: str, **params: Any) -> None:
    """Any q either searches or is a 400 naming q, whatever the sort and filters."""
    error: InvalidParameter | None = None
    try:
        page = run(ix, q=q, **params)
    except InvalidParameter as e:
        error = e
    if error is None:
        assert page.total >= len(page.items)
    else:
        assert error.parameter == "q", q
        assert str(error)


@pytest.mark.parametrize("q", NASTY)
def test_nasty_queries_search_or_are_400(ix: Ix, q: str) -> None:
    for sort in ("relevance", "recent", "engagement"):
        search_or_400(ix, q, sort=sort, limit=3)


def test_what_nasty_queries_mean(ix: Ix) -> None:
    assert found(ix, q="text:foo") == set()  # no field syntax: the words "text foo"
    assert found(ix, q="author:alice") == set()
    assert found(ix, q="fox)") == found(ix, q="(fox") == found(ix, q="fox")
    assert found(ix, q="foo^") == found(ix, q="foo")
    assert found(ix, q="#python") == found(ix, q="python") == {"py1", "py2"}
    for q in ['"', "(", "*", "\\", "🎉", "x" * 150]:
        assert "nothing to search" in str(bad("q", ix, q=q))
    assert "too long" in str(bad("q", ix, q="a" * (MAX_Q_CHARS + 1)))
    assert "too many words" in str(bad("q", ix, q="fox " * 40))
    assert run(ix, q="   ").total == len(CORPUS)  # blank: no q


@settings(max_examples=150, deadline=None)
@given(q=st.text(max_size=60), sort=st.sampled_from(["relevance", "recent", "engagement"]))
def test_any_text_searches_or_is_400(ix: Ix, q: str, sort: str) -> None:
    search_or_400(ix, q, sort=sort, limit=2)


@settings(max_examples=100, deadline=None)
@given(q=st.text(alphabet='ab "-():OR', max_size=30))
def test_operator_soup_searches_or_is_400(ix: Ix, q: str) -> None:
    search_or_400(ix, q, limit=2)


# --------------------------------------------------------------- snippets


def snippet(ix: Ix, **params: Any) -> str:
    (item,) = run(ix, **params).items
    return item.snippet


def test_snippets_highlight_matches(ix: Ix) -> None:
    assert snippet(ix, q="lazy dog") == (
        "The quick brown fox jumps over the <b>lazy</b> <b>dog</b>"
    )
    assert snippet(ix, q="montreal", lang="fr") == "Café crème à <b>Montréal</b> #CaféQuébec"
    assert snippet(ix, q='"e-mail"') == "send me an <b>e</b>-<b>mail</b> please"


def test_snippets_highlight_typo_matches(ix: Ix) -> None:
    assert snippet(ix, q="pythin", author="erin") == "I love <b>pythn</b>, sorry for the typo"


def test_snippets_escape_html(ix: Ix) -> None:
    html = snippet(ix, q="friends")
    assert html == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; <b>friends</b> say hello"
    )
    assert "<script>" not in snippet(ix, q="script")
    assert snippet(ix, q="script").startswith("&lt;<b>script</b>&gt;")


def test_snippet_falls_back_to_the_start_of_the_text(ix: Ix) -> None:
    assert snippet(ix, tag="rust") == "&lt;i&gt;nothing to see&lt;/i&gt; #Rust"
    assert snippet(ix, q="-fox", tag="rust") == "&lt;i&gt;nothing to see&lt;/i&gt; #Rust"
    start = snippet(ix, author="frank")
    assert start.startswith("Intro words here.")
    assert start.endswith("…")
    assert 100 < len(start) <= 201


def test_long_texts_get_a_fragment_around_the_match(ix: Ix) -> None:
    html = snippet(ix, q="needle")
    assert "<b>needle</b>" in html
    assert len(html) < len(LONG) // 2


def test_the_cjk_text(ix: Ix) -> None:
    assert snippet(ix, q="日本語") == "東京タワー <b>日本語</b> テスト 🎉"


# ---------------------------------------------------------------- helpers


def test_osa_distance_counts_a_transposition_as_one_edit() -> None:
    assert osa_distance("python", "pyhton", 1) <= 1
    assert osa_distance("python", "pythn", 1) <= 1
    assert osa_distance("python", "pthn", 1) > 1
    assert osa_distance("python", "pthn", 2) <= 2
    assert osa_distance("abc", "abcdef", 2) > 2


def test_params_are_frozen() -> None:
    params = SearchParams(q="x")
    with pytest.raises(AttributeError):
        params.q = "y"  # type: ignore[misc]
    assert replace(params, limit=5).limit == 5


def test_sort_values_from_stored_documents(ix: Ix) -> None:
    from service.search import _KEYS  # the fast-field sort keys

    (engagement, created_at) = _KEYS["engagement"]
    (score, address) = ix.searcher.search(ix.index.parse_query("lazy", ["text"]), 1).hits[0]
    doc = ix.searcher.doc(address)
    assert score > 0
    assert engagement.stored(doc) == 5
    assert created_at.stored(doc) == int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()) * 10**9
