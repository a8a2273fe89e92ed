"""Optional per-client rate limiting (off by default), and failed admin key attempts, which
are always limited; 429s in the one error shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.limits import ADMIN_FAILURES
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("limits")
    build(
        [str(write_ndjson(root / "a.ndjson", [post(1, "#a")]))],
        BuildOptions(index_dir=root / "i"),
        now=NOW,
    )
    return root / "i"


def _client(index: Path, **settings: Any) -> TestClient[Any]:
    return TestClient(create_app(Settings(index_dir=index, **settings)))


def test_off_by_default(index: Path) -> None:
    with _client(index) as c:
        answers = [c.get("/v1/index") for _ in range(30)]
    assert {r.status_code for r in answers} == {200}
    assert "ratelimit-limit" not in answers[-1].headers


def test_when_on_a_client_over_its_limit_gets_a_429(index: Path) -> None:
    with _client(index, rate_limit="5/minute") as c:
        ok = [c.get("/v1/index") for _ in range(5)]
        assert {r.status_code for r in ok} == {200}
        assert ok[0].headers["ratelimit-limit"] == "5"
        assert ok[-1].headers["ratelimit-remaining"] == "0"
        over = c.get("/v1/hashtags/a")
        assert over.status_code == 429
        assert over.json()["error"] == {
            "status": 429,
            "code": "too_many_requests",
            "message": over.json()["error"]["message"],
            "parameter": None,
            "request_id": over.headers["x-request-id"],
        }
        assert int(over.headers["ratelimit-reset"]) > 0
        # probes and scrapes are never limited
        assert c.get("/healthz").status_code == 200
        assert c.get("/metrics").status_code == 200


def test_a_bad_setting_is_refused(index: Path) -> None:
    with pytest.raises(ValueError, match="HASHTAG_INDEX_RATE_LIMIT"):
        create_app(Settings(index_dir=index, rate_limit="lots"))


def test_failed_admin_key_attempts_are_always_limited(index: Path) -> None:
    with _client(index, api_key="right") as c:
        for i in range(ADMIN_FAILURES):
            wrong = {"X-API-Key": "wrong"} if i % 2 else {}
            assert c.get("/v1/admin/jobs/abc", headers=wrong).status_code in (401, 403)
        r = c.get("/v1/admin/jobs/abc", headers={"X-API-Key": "right"})
        assert r.status_code == 429
        assert r.json()["error"]["parameter"] == "X-API-Key"
        assert 1 <= int(r.headers["retry-after"]) <= 61
        # the rest of the API is not affected
        assert c.get("/v1/index").status_code == 200
    with _client(index, api_key="right") as c:  # a client with the key is never counted
        for _ in range(ADMIN_FAILURES + 5):
            assert c.get("/v1/admin/jobs/abc", headers={"X-API-Key": "right"}).status_code == 404
