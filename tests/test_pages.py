"""The dashboard's HTML pages, in process: what each page says, its errors, its weight.

The browser tests (test_browser.py) look at the same pages in Chromium."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service import charts
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson

MAX_PAGE_BYTES = 250_000
"""A page with its stylesheet and script (the issue's budget)."""


def dashboard_posts() -> list[dict[str, Any]]:
    """Eight days, 2026-10-01 to 2026-10-08 11:00 (the newest post).

    - #python: one post a day by a new author for a week, then 6 authors in the last day;
    - #aurora: 12 authors in the last day only, "aurora" in every text (a trend, and 25
      posts to search: 2 pages of 20);
    - #pythonic, #pyodide: rarer tags sharing the prefix "py";
    - #日本 and #عربي: 6 authors each in the last day (tags in other scripts);
    - #aurora and #night together on 5 posts (related tags).
    """
    rows: list[dict[str, Any]] = []
    n = 0

    def add(text: str, author: str, when: str, **fields: Any) -> None:
        nonlocal n
        n += 1
        rows.append(post(n, text, author=author, created_at=when, **fields))

    for day in range(1, 8):
        add(f"day {day} of learning #Python", f"py{day}", f"2026-10-0{day}T09:00:00Z")
    for i in range(6):
        add("more #python today", f"pynew{i}", f"2026-10-07T{12 + i}:00:00Z", platform="x")
    for i in range(25):
        author = f"sky{i % 12}"
        extra = " #night" if i < 5 else ""
        when = f"2026-10-0{7 + (i + 12) // 24}T{(i + 12) % 24:02d}:30:00Z"
        add(f"aurora over the lake number {i} #Aurora{extra}", author, when, likes=i)
    add("a #pythonic idiom", "a1", "2026-10-03T10:00:00Z")
    add("#pythonic again", "a2", "2026-10-04T10:00:00Z")
    add("#pyodide in the browser", "a3", "2026-10-05T10:00:00Z")
    for i in range(6):
        add(f"東京の夜 #日本 {i}", f"jp{i}", f"2026-10-07T{14 + i}:15:00Z", lang="ja")
        add(f"مرحبا #عربي {i}", f"ar{i}", f"2026-10-07T{14 + i}:45:00Z", lang="ar")
    add("the last post #python", "last", "2026-10-08T11:00:00Z", platform="bluesky")
    return rows


def build_dashboard_index(root: Path) -> Path:
    dump = write_ndjson(root / "posts.ndjson", dashboard_posts())
    build([str(dump)], BuildOptions(index_dir=root / "index"), now=NOW)
    return root / "index"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    index = build_dashboard_index(tmp_path_factory.mktemp("pages"))
    with TestClient(create_app(Settings(index_dir=index))) as c:
        yield c


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags stripped, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_trending_page_lists_the_api_answer(client: TestClient[Any]) -> None:
    api = client.get("/v1/trending").json()
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    rows = re.findall(r'<tr data-tag="([^"]+)">', r.text)
    assert rows == [item["tag"] for item in api["items"]]
    assert rows[0] == "aurora"
    assert r.text.count('class="spark"') == len(rows)
    assert "/schema" in r.text
    assert "/report" in r.text


def test_trending_controls_narrow_like_the_api(client: TestClient[Any]) -> None:
    api = client.get("/v1/trending?window=6h&baseline=7d&lang=ja").json()
    r = client.get("/?window=6h&baseline=7d&lang=ja")
    assert re.findall(r'<tr data-tag="([^"]+)">', r.text) == [i["tag"] for i in api["items"]]


def test_tag_page_totals_and_chart(client: TestClient[Any]) -> None:
    detail = client.get("/v1/hashtags/python").json()
    series = client.get("/v1/hashtags/python/timeseries?interval=day").json()
    r = client.get("/tags/%23Python?interval=day")
    assert r.status_code == 200
    for field in ("posts", "authors", "engagement"):
        found = re.search(rf'data-field="{field}">([^<]+)<', r.text)
        assert found is not None
        assert found.group(1) == f"{detail[field]:,}"
    counts = re.findall(r'class="series" data-points="(\d+)"', r.text)
    assert counts == [str(len(series["points"]))] * 2  # posts and authors lines
    assert 'href="/tags/pythonic"' not in r.text  # never used together: not related


def test_tag_page_related_tags_and_posts(client: TestClient[Any]) -> None:
    r = client.get("/tags/aurora")
    assert 'href="/tags/night"' in r.text  # related, as a link
    recent = r.text.split('id="recent-posts"')[1].split("</ol>")[0]
    assert recent.count("<li>") == 5
    assert "<mark>#Aurora</mark>" in recent  # the tag highlighted in the snippet
    assert "number 24" in recent  # the newest first


def test_tag_page_in_another_script(client: TestClient[Any]) -> None:
    r = client.get("/tags/日本")
    assert r.status_code == 200
    assert "#日本" in r.text
    assert client.get("/tags/%D8%B9%D8%B1%D8%A8%D9%8A").status_code == 200  # عربي


def test_unknown_tag_suggests_near_misses(client: TestClient[Any]) -> None:
    r = client.get("/tags/pythn")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert 'href="/tags/python"' in r.text
    assert "Did you mean" in r.text


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/?window=forever", "window"),
        ("/?platform=myspace", "platform"),
        ("/tags/python?interval=month", "interval"),
        ("/tags/python?from=yesterday", "from"),
        ("/tags/python?interval=hour&from=2000-01-01", "interval"),
        ("/search?q=a&from=2026-10-05&to=2026-10-01", "from"),
        ("/search?q=a&cursor=nonsense", "cursor"),
        ("/report?from=2026-13-01", "from"),
    ],
)
def test_bad_parameters_get_a_readable_400_page(
    client: TestClient[Any], url: str, parameter: str
) -> None:
    r = client.get(url)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert f"<code>{parameter}</code>" in r.text
    assert 'role="alert"' in r.text


def test_search_page_pages_by_cursor(client: TestClient[Any]) -> None:
    api = client.get("/v1/posts?q=aurora&sort=recent").json()
    first = client.get("/search?q=aurora&sort=recent")
    assert re.search(r'data-total="(\d+)"', first.text).group(1) == str(api["total"])  # type: ignore[union-attr]
    assert api["total"] == 25
    assert first.text.count('<p class="snippet">') == 20
    assert "<b>aurora</b>" in first.text  # highlighted
    assert 'rel="prev"' not in first.text
    nxt = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert nxt is not None
    second = client.get(unescape(nxt.group(1)))
    assert second.text.count('<p class="snippet">') == 5
    assert 'rel="next"' not in second.text
    prev = re.search(r'rel="prev" href="([^"]+)"', second.text)
    assert prev is not None
    again = client.get(unescape(prev.group(1)))
    assert again.text.count('<p class="snippet">') == 20
    assert re.findall(r'class="snippet">(.*?)</p>', again.text) == re.findall(
        r'class="snippet">(.*?)</p>', first.text
    )


def test_report_page_table_is_the_csv(client: TestClient[Any]) -> None:
    period = "from=2026-10-01&to=2026-10-09"
    csv_text = client.get(f"/v1/reports/index.csv?{period}").content.decode("utf-8-sig")
    expected = list(csv.reader(io.StringIO(csv_text)))[1:]
    r = client.get(f"/report?{period}")
    assert r.status_code == 200
    table = r.text.split('id="report-table"')[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    rows = [
        [text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    assert rows == expected
    for fmt in ("csv", "xlsx", "parquet"):
        assert f'href="/v1/reports/index.{fmt}?from=2026-10-01T00%3A00%3A00Z' in r.text


def test_report_page_shows_the_first_100_rows(tmp_path: Path) -> None:
    dump = write_ndjson(tmp_path / "p.ndjson", [post(i, f"#t{i:03d}") for i in range(130)])
    build([str(dump)], BuildOptions(index_dir=tmp_path / "i"), now=NOW)
    with TestClient(create_app(Settings(index_dir=tmp_path / "i"))) as c:
        r = c.get("/report")
    table = r.text.split('id="report-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 100
    assert "The first 100 of 130 tags" in r.text


def test_pages_stay_under_the_weight_budget(client: TestClient[Any]) -> None:
    assets = sum(len(client.get(f"/static/{a}").content) for a in ("app.css", "app.js"))
    for url in ("/", "/tags/python", "/tags/python?interval=hour", "/search?q=aurora", "/report"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert len(page.content) + assets <= MAX_PAGE_BYTES, url


def test_api_docs_are_served_from_this_host(client: TestClient[Any]) -> None:
    r = client.get("/schema")
    assert r.status_code == 200
    assert re.findall(r"(?:src|href)=['\"]([^'\"]+)", r.text) == [
        "data:,",
        "/static/vendor/redoc/redoc.standalone.js",
    ]
    js = client.get("/static/vendor/redoc/redoc.standalone.js")
    assert js.status_code == 200
    assert b"cdn.redoc.ly" not in js.content
    licences = client.get("/static/LICENSES.txt").text
    assert "Redoc" in licences
    assert "MIT" in licences
    assert client.get("/static/vendor/redoc/LICENSE").status_code == 200


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (950, "950"), (1234, "1.2k"), (12_345, "12k"), (3_400_000, "3.4M"), (2.5, "2.5")],
)
def test_human_numbers(n: float, text: str) -> None:
    assert charts.human(n) == text


def test_axis_ticks_are_round_and_cover_the_peak() -> None:
    assert charts.nice_ticks(0) == [0, 1]
    assert charts.nice_ticks(1) == [0, 1]  # counts: no 0.25 steps
    assert charts.nice_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(1234) == [0, 500, 1000, 1500]
    assert charts.time_tick_indexes(3) == [0, 1, 2]
    assert charts.time_tick_indexes(100) == [0, 20, 40, 59, 79, 99]


@pytest.mark.parametrize(("platform", "lang"), [(None, None), ("x", None), (None, "ja")])
def test_one_pass_sparklines_and_mix_count_as_the_api(
    client: TestClient[Any], platform: str | None, lang: str | None
) -> None:
    from datetime import UTC, datetime

    from service import pages, tags

    tables = client.app.state.store.current.tables
    keys = ["python", "aurora", "日本", "pyodide", "nosuchtag"]
    for interval in ("hour", "day"):
        span = tags.SeriesRange(
            datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 9, tzinfo=UTC)
        )
        got = pages.sparklines(tables, keys, interval, span, platform, lang)
        for key in keys[:-1]:
            points = tags.timeseries(tables, key, interval, span, platform, lang)
            assert got[key] == [p.authors for p in points], (key, interval)
        assert got["nosuchtag"] == [0] * tags.bucket_count(span, interval)
    for start, end in [
        (datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 8, tzinfo=UTC)),  # whole days
        (datetime(2026, 10, 7, 13, tzinfo=UTC), datetime(2026, 10, 8, 12, tzinfo=UTC)),
    ]:
        for _ in range(2):  # the second time from the kept day counts
            shares = pages.mix(tables, start, end, platform, lang)
            assert shares.posts == tables.posts_between(start, end, platform, lang) > 0
            assert sum(shares.langs.values()) == shares.posts
    assert pages.mix(tables, start, end, "myspace", None).posts == 0


def test_report_risers_and_fallers_against_the_previous_period(client: TestClient[Any]) -> None:
    # [10-05, 10-07) against [10-03, 10-05): #pyodide is new (+1), #pythonic is gone (-2),
    # #python has 2 posts in each (neither)
    r = client.get("/report?from=2026-10-05&to=2026-10-07")
    risers = text_of(r.text.split('id="risers"')[1].split("</table>")[0])
    fallers = text_of(r.text.split('id="fallers"')[1].split("</table>")[0])
    assert risers.endswith("#pyodide 1 0 +1")
    assert fallers.endswith("#pythonic 0 2 -2")
    assert "python " not in risers + fallers
    assert client.get("/report?from=2026-10-05&to=2026-10-07").text == r.text  # cached: same


def test_pages_before_any_generation_say_so(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(index_dir=tmp_path / "empty"))) as c:
        r = c.get("/")
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in r.text
        assert c.get("/static/app.css").status_code == 200


def test_pages_stay_out_of_the_openapi_document(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert [p for p in paths if not p.startswith(("/v1/", "/healthz", "/readyz", "/metrics"))] == []
