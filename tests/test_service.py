"""The HTTP service over a real generation, through Litestar's in-process client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from litestar.testing import TestClient

from indexer.build import BuildResult
from service.app import create_app
from service.settings import Settings
from tests.conftest import post, write_ndjson

Build = Callable[..., BuildResult]


def test_not_ready_until_a_generation_exists(
    tmp_path: Path, index_dir: Path, run_build: Build
) -> None:
    app = create_app(Settings(index_dir=index_dir, reload_seconds=3600))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "not_ready"
        assert client.get("/v1/index").status_code == 503

        result = run_build(write_ndjson(tmp_path / "a.ndjson", [post(1, "#a")]))
        app.state.store.refresh()
        r = client.get("/readyz")
        assert r.status_code == 200
        assert r.json() == {"status": "ready", "generation": result.manifest.generation}


def test_index_endpoint_is_the_manifest(tmp_path: Path, index_dir: Path, run_build: Build) -> None:
    result = run_build(
        write_ndjson(tmp_path / "a.ndjson", [post(1, "#a #b"), post(1, "#a"), post(2, "#c")])
    )
    with TestClient(create_app(Settings(index_dir=index_dir))) as client:
        r = client.get("/v1/index")
        assert r.status_code == 200
        assert r.headers["x-index-generation"] == result.manifest.generation
        body = r.json()
        assert {k: body[k] for k in ("generation", "posts", "tags", "duplicates", "rejected")} == {
            "generation": result.manifest.generation,
            "posts": 2,
            "tags": 2,
            "duplicates": 1,
            "rejected": 0,
        }
        assert body["from"] == "2026-10-01T12:00:00Z"


def test_errors_have_one_shape_and_carry_the_generation(
    tmp_path: Path, index_dir: Path, run_build: Build
) -> None:
    result = run_build(write_ndjson(tmp_path / "a.ndjson", [post(1, "#a")]))
    with TestClient(create_app(Settings(index_dir=index_dir))) as client:
        r = client.get("/v1/no-such-endpoint")
        assert r.status_code == 404
        assert r.json() == {
            "error": {
                "status": 404,
                "code": "not_found",
                "message": "Not Found",
                "parameter": None,
                "request_id": r.headers["x-request-id"],
            }
        }
        assert r.headers["x-index-generation"] == result.manifest.generation


def test_schema_lists_the_endpoints(index_dir: Path) -> None:
    with TestClient(create_app(Settings(index_dir=index_dir))) as client:
        paths = client.get("/schema/openapi.json").json()["paths"]
        assert {"/healthz", "/readyz", "/v1/index"} <= set(paths)
