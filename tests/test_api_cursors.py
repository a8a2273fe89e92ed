"""next_cursor is signed: a forged cursor (say, a deep offset) is a 400, and every worker on
an index signs alike."""

from __future__ import annotations

import base64
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service import search
from service.app import create_app
from service.keys import KEY_FILE
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cursors")
    rows = [post(i, f"hello world {i}", created_at=f"2026-10-01T12:{i:02d}:00Z") for i in range(30)]
    build([str(write_ndjson(root / "a.ndjson", rows))], BuildOptions(index_dir=root / "i"), now=NOW)
    return root / "i"


URL = "/v1/posts?q=hello&limit=5"


def _first_cursor(client: TestClient[object]) -> str:
    cursor = client.get(URL).json()["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def _forge(cursor: str, offset: int, key: bytes) -> str:
    signed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    state = msgspec.msgpack.decode(signed[: -search.MAC_BYTES])
    state[2] = offset
    forged = search.sign(msgspec.msgpack.encode(state), key)
    return base64.urlsafe_b64encode(forged).rstrip(b"=").decode()


def test_a_forged_offset_is_a_400(index: Path) -> None:
    with TestClient(create_app(Settings(index_dir=index))) as c:
        cursor = _first_cursor(c)
        assert c.get(f"{URL}&cursor={cursor}").status_code == 200
        for key in (b"", b"guess"):
            r = c.get(f"{URL}&cursor={_forge(cursor, 25, key)}")
            assert r.status_code == 400
            assert r.json()["error"] == r.json()["error"] | {
                "parameter": "cursor",
                "message": "cursor is not a valid cursor",
            }
    assert (index / KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_every_worker_on_an_index_signs_alike(index: Path) -> None:
    with TestClient(create_app(Settings(index_dir=index))) as one:
        cursor = _first_cursor(one)
    with TestClient(create_app(Settings(index_dir=index))) as other:
        page = other.get(f"{URL}&cursor={cursor}")
        assert page.status_code == 200
        assert len(page.json()["items"]) == 5


def test_a_configured_secret_signs(index: Path) -> None:
    with TestClient(create_app(Settings(index_dir=index, cursor_secret="one"))) as one:
        cursor = _first_cursor(one)
        assert one.get(f"{URL}&cursor={cursor}").status_code == 200
    with TestClient(create_app(Settings(index_dir=index, cursor_secret="two"))) as two:
        assert two.get(f"{URL}&cursor={cursor}").status_code == 400
