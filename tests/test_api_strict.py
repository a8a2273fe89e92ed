"""Nothing is silently ignored: unknown, repeated or conflicting query parameters and unknown
platforms are 400s naming the parameter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    root = tmp_path_factory.mktemp("strict")
    rows = [post(i, "#python hello", platform=("x", "bluesky", "threads")[i % 3]) for i in range(6)]
    build([str(write_ndjson(root / "a.ndjson", rows))], BuildOptions(index_dir=root / "i"), now=NOW)
    with TestClient(create_app(Settings(index_dir=root / "i", api_key="k"))) as c:
        yield c


def _error(r: Any) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    error: dict[str, Any] = r.json()["error"]
    return error


@pytest.mark.parametrize(
    ("url", "unknown", "closest"),
    [
        ("/v1/trending?windw=1h", "windw", "window"),
        ("/v1/hashtags/python?form=2026-10-01", "form", "from"),
        ("/v1/hashtags?prefx=py", "prefx", "prefix"),
        ("/v1/posts?q=hello&sorting=recent", "sorting", "sort"),
        ("/v1/reports/index.csv?limt=3", "limt", "limit"),
    ],
)
def test_an_unknown_parameter_is_named_with_the_closest_known_one(
    client: TestClient[Any], url: str, unknown: str, closest: str
) -> None:
    error = _error(client.get(url))
    assert error["parameter"] == unknown
    assert f"did you mean {closest}?" in error["message"]


def test_every_operation_rejects_unknown_parameters(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    for path, operations in paths.items():
        url = path.replace("{tag}", "python").replace("{job_id}", "abc")
        for method in operations:
            r = client.request(method.upper(), f"{url}?bogus=1", headers={"X-API-Key": "k"})
            assert _error(r)["parameter"] == "bogus", (method, path)


def test_a_repeated_parameter_is_a_400(client: TestClient[Any]) -> None:
    assert _error(client.get("/v1/trending?limit=3&limit=4"))["parameter"] == "limit"
    assert _error(client.get("/v1/posts?q=a&q=b"))["parameter"] == "q"
    assert (
        _error(client.get("/v1/hashtags/python?from=2026-10-01&from=2026-10-02"))["parameter"]
        == "from"
    )


def test_q_and_prefix_conflict(client: TestClient[Any]) -> None:
    error = _error(client.get("/v1/hashtags?q=pyton&prefix=zz"))
    assert error["parameter"] == "q"
    assert "prefix" in error["message"]


@pytest.mark.parametrize("url", ["/v1/trending", "/v1/posts", "/v1/reports/index.csv"])
def test_twitter_is_not_a_platform_and_x_is(client: TestClient[Any], url: str) -> None:
    error = _error(client.get(f"{url}?platform=twitter"))
    assert error["parameter"] == "platform"
    assert "X (formerly Twitter) is 'x'" in error["message"]
    # the native platforms and this index's own (threads)
    assert "known platforms: bluesky, mastodon, reddit, threads, x" in error["message"]
    assert _error(client.get(f"{url}?platform=nosuch"))["parameter"] == "platform"
    for known in ("X", "threads", "reddit"):  # reddit: none in this index, still a platform
        assert client.get(f"{url}?platform={known}").status_code == 200
