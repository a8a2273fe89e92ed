"""schemathesis against the served OpenAPI document: every check, 0 failures.

The service runs under granian (as in production) over a small planted index, with the admin
key, so the admin operations are fuzzed too; schemathesis runs deterministically (no random
seed, no example database) and within a time budget of about a minute.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from indexer.build import BuildOptions, build
from tests.conftest import NOW, ROOT, post, write_ndjson

BUDGET_SECONDS = 35
"""schemathesis' own time budget (the whole test takes about 45 s; the suite aims at 5 min)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _posts() -> list[dict[str, object]]:
    return [
        post(
            i,
            f"#python #rust{' #data' * (i % 2)} hello world {i}",
            created_at=f"2026-10-0{1 + i % 3}T{i % 24:02d}:00:00Z",
            platform=("x", "bluesky", "mastodon")[i % 3],
            lang=("en", "de")[i % 2],
            likes=i % 4,
        )
        for i in range(40)
    ]


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    index, inbox = tmp_path / "index", tmp_path / "inbox"
    inbox.mkdir()
    build(
        [str(write_ndjson(tmp_path / "a.ndjson", _posts()))], BuildOptions(index_dir=index), now=NOW
    )
    port = _free_port()
    env = {
        **os.environ,
        "HASHTAG_INDEX_DIR": str(index),
        "HASHTAG_INDEX_INBOX": str(inbox),
        "HASHTAG_INDEX_API_KEY": "fuzz-key",
        "HASHTAG_INDEX_ACCESS_LOG": "0",
    }
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "service.app:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, "the server did not start"
            assert time.monotonic() < deadline, "the server did not get ready"
            time.sleep(0.2)
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(ROOT / "tests" / "schemathesis.toml"),
                "run",
                f"{base}/schema/openapi.json",
                "--checks",
                "all",
                "--header",
                "X-API-Key: fuzz-key",
                "--generation-deterministic",
                "--max-time",
                str(BUDGET_SECONDS),
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=BUDGET_SECONDS + 120,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert b"Traceback" not in (tmp_path / "server.log").read_bytes()
