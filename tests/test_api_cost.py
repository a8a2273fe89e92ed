"""Hostile input costs nothing: bounded tag searches, a near-miss distance whose cost does not
grow with the input, and no index work on the event loop."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.edits import osa_distance
from service.routes import ROUTES
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    root = tmp_path_factory.mktemp("cost")
    rows = [post(1, "#python #pythonic hello"), post(2, "#" + "a" * 140)]
    build([str(write_ndjson(root / "a.ndjson", rows))], BuildOptions(index_dir=root / "i"), now=NOW)
    with TestClient(create_app(Settings(index_dir=root / "i"))) as c:
        yield c


SQUARE_KAISHA = "\u337f"  # NFKC: four characters


@pytest.mark.parametrize("name", ["q", "prefix"])
def test_tag_searches_are_bounded_to_140_characters(client: TestClient[Any], name: str) -> None:
    r = client.get(f"/v1/hashtags?{name}={'a' * 141}")
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == name
    assert r.json()["error"]["message"] == f"{name}: Expected `str` of length <= 140"
    assert client.get(f"/v1/hashtags?{name}={'a' * 140}").json()["items"][0]["tag"] == "a" * 140
    # NFKC lengthens some characters (U+337F is four): the key is bounded too
    r = client.get(f"/v1/hashtags?{name}={SQUARE_KAISHA * 40}")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == f"{name}: at most 140 characters once normalised"


def test_string_parameters_declare_their_bounds(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]

    def max_length(path: str, name: str) -> int:
        (found,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == name]
        schema = found["schema"]
        value: int = schema.get("maxLength") or next(
            s["maxLength"] for s in schema["oneOf"] if "maxLength" in s
        )
        return value

    assert max_length("/v1/hashtags", "q") == 140
    assert max_length("/v1/hashtags", "prefix") == 140
    assert max_length("/v1/hashtags/{tag}", "tag") == 1000
    assert max_length("/v1/posts", "q") == 1000
    assert max_length("/v1/posts", "tag") == 1000
    assert max_length("/v1/posts", "cursor") == 256
    assert max_length("/v1/trending", "window") == 16
    assert max_length("/v1/reports/index.csv", "platform") == 64
    r = client.get(f"/v1/posts?q={'word ' * 250}")
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == "q"


def _reference(a: str, b: str) -> int:
    """Optimal string alignment distance, the whole table."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.text("abc", max_size=9), st.text("abc", max_size=9), st.integers(0, 3))
def test_banded_distance_is_the_distance_up_to_its_limit(a: str, b: str, limit: int) -> None:
    assert osa_distance(a, b, limit) == min(_reference(a, b), limit + 1)


def test_no_index_work_on_the_event_loop() -> None:
    """A sync handler runs in a worker thread unless it only reads memory; the async ones
    (hashtags, tag detail) hand their index and polars work to a thread themselves."""
    on_loop = {"healthz", "readyz", "index_manifest"}
    for handler in ROUTES:
        fn = handler.fn
        if inspect.iscoroutinefunction(fn):
            assert "asyncio.to_thread" in inspect.getsource(fn), handler.handler_name
        elif handler.handler_name not in on_loop:
            assert handler.sync_to_thread, handler.handler_name
    assert {h.handler_name for h in ROUTES if inspect.iscoroutinefunction(h.fn)} == {
        "list_hashtags",
        "hashtag_detail",
    }
