"""A running server picks up a newly published generation, in every worker,
without failing or mixing a single request."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

from indexer.build import BuildOptions, build
from tests.conftest import NOW, ROOT, post, write_ndjson


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_swap_under_load_drops_nothing(tmp_path: Path) -> None:
    index = tmp_path / "index"
    old = write_ndjson(tmp_path / "a.ndjson", [post(i, "#old") for i in range(300)])
    new = write_ndjson(tmp_path / "b.ndjson", [post(i, "#new #fresh") for i in range(500)])
    first = build([str(old)], BuildOptions(index_dir=index), now=NOW).manifest.generation

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(
        index,
        port,
        "--workers",
        "2",
        env={**os.environ, "HASHTAG_INDEX_RELOAD_SECONDS": "0.2"},
        stderr=subprocess.DEVNULL,  # one access line a request: a pipe nobody reads fills
    )
    failures: list[str] = []
    seen: dict[str, int] = {}
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            status, headers, body = get(base + "/v1/index")
            generation = headers.get("x-index-generation", "")
            if status != 200:
                failures.append(f"{status} {body[:200]!r}")
                continue
            manifest = json.loads(body)
            if manifest["generation"] != generation:
                failures.append(f"mixed: header {generation}, body {manifest['generation']}")
            expected_posts = 300 if generation == first else 500
            if manifest["posts"] != expected_posts:
                failures.append(f"{generation} answered posts={manifest['posts']}")
            seen[generation] = seen.get(generation, 0) + 1

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _up(base) and get(base + "/readyz")[0] == 200:
                break
            time.sleep(0.1)
        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        second = build([str(new)], BuildOptions(index_dir=index), now=NOW).manifest.generation
        # Every worker must come to serve the new generation within a few seconds.
        deadline = time.monotonic() + 15
        recent: list[str] = []
        while time.monotonic() < deadline:
            recent = [get(base + "/v1/index")[1].get("x-index-generation", "") for _ in range(8)]
            if set(recent) == {second}:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)

    assert failures == []
    assert set(recent) == {second}, recent
    assert seen.get(first, 0) > 0
    assert seen.get(second, 0) > 0


def _up(base: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=1).close()
        return True
    except OSError:
        return False


def test_serve_on_an_empty_index_builds_the_sample_then_answers(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    index = tmp_path / "index"
    server = subprocess.Popen(
        [sys.executable, "-m", "hashtag_index", "serve", "--port", str(port), "--sample"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "HASHTAG_INDEX_DIR": str(index)},  # the default index directory
    )
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and not ready:
            ready = _up(base) and get(base + "/readyz")[0] == 200
            time.sleep(0.1)
        assert ready, "the server did not become ready within a minute"
        status, _, body = get(base + "/v1/trending?limit=1")
        assert status == 200
        assert json.loads(body)["items"][0]["tag"] == "northernlights"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _serve(
    index: Path,
    port: int,
    *more: str,
    env: dict[str, str] | None = None,
    stderr: int = subprocess.PIPE,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hashtag_index",
            "serve",
            "--index",
            str(index),
            "--port",
            str(port),
            *more,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def test_a_second_server_on_a_busy_port_fails_unless_reuse_port(tmp_path: Path) -> None:
    """granian binds with SO_REUSEPORT: a second server used to start and take half the
    connections, answering from its own index."""
    first_index, second_index = tmp_path / "first", tmp_path / "second"
    for hours, index in enumerate((first_index, second_index)):
        dump = write_ndjson(tmp_path / f"{index.name}.ndjson", [post(1, "#one")])
        build([str(dump)], BuildOptions(index_dir=index), now=NOW + timedelta(hours=hours))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    servers = [_serve(first_index, port)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (_up(base) and get(base + "/readyz")[0] == 200):
            time.sleep(0.1)
        first_generation = get(base + "/v1/index")[1]["x-index-generation"]

        refused = _serve(second_index, port)
        _, err = refused.communicate(timeout=60)
        assert refused.returncode == 1
        assert err == (
            f"hashtag-index: error: 127.0.0.1:{port}: address already in use (another server "
            "listens there); pick another --port, or pass --reuse-port to share the port with "
            "it\n"
        )
        assert {get(base + "/v1/index")[1]["x-index-generation"] for _ in range(12)} == {
            first_generation
        }

        servers.append(_serve(second_index, port, "--reuse-port"))
        seen: set[str] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(seen) < 2:
            seen.add(get(base + "/v1/index")[1]["x-index-generation"])
            time.sleep(0.05)
        assert len(seen) == 2  # the two servers share the port, as asked
    finally:
        for server in servers:
            server.terminate()
            server.communicate(timeout=30)


REPLICA_QUESTIONS = (
    "/v1/index",
    "/v1/trending?window=7d&as_of=2026-10-02T00:00:00Z",
    "/v1/hashtags/fresh",
    "/v1/hashtags/fresh/timeseries?interval=hour",
    "/v1/hashtags/fresh/related",
    "/v1/hashtags?prefix=f",
    "/v1/posts?q=post&limit=20",
    "/v1/reports/index.csv",
)


def test_two_replicas_over_one_index_answer_alike_and_both_move_on(tmp_path: Path) -> None:
    """The scale-out of serving: N stateless `serve` processes over one index directory
    (shared storage) behind any load balancer. Two replicas give byte-identical
    answers, and both move to a newly published generation by themselves."""
    index = tmp_path / "index"
    old = write_ndjson(
        tmp_path / "a.ndjson",
        [post(i, f"#old post {i} #fresh", author=f"u{i % 17}") for i in range(200)],
    )
    new = write_ndjson(
        tmp_path / "b.ndjson",
        [post(i, f"#new post {i} #fresh", author=f"u{i % 23}") for i in range(300)],
    )
    first = build([str(old)], BuildOptions(index_dir=index), now=NOW).manifest.generation
    env = {
        **os.environ,
        "HASHTAG_INDEX_RELOAD_SECONDS": "0.2",
        "HASHTAG_INDEX_CURSOR_SECRET": "shared by the replicas",  # cursors work on either
    }
    bases = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    replicas = [
        _serve(index, int(base.rsplit(":", 1)[1]), env=env, stderr=subprocess.DEVNULL)
        for base in bases
    ]

    def answers(base: str) -> dict[str, tuple[int, str, bytes]]:
        got = {}
        for question in REPLICA_QUESTIONS:
            status, headers, body = get(base + question)
            got[question] = (status, headers.get("x-index-generation", ""), body)
        return got

    try:
        for base in bases:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if _up(base) and get(base + "/readyz")[0] == 200:
                    break
                time.sleep(0.1)
        before = [answers(base) for base in bases]
        assert before[0] == before[1]
        assert {status for status, _, _ in before[0].values()} == {200}
        assert {generation for _, generation, _ in before[0].values()} == {first}

        second = build([str(new)], BuildOptions(index_dir=index), now=NOW).manifest.generation
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(get(b + "/v1/index")[1].get("x-index-generation") == second for b in bases):
                break
            time.sleep(0.2)
        after = [answers(base) for base in bases]
    finally:
        for replica in replicas:
            replica.terminate()
        for replica in replicas:
            replica.wait(timeout=30)
    assert after[0] == after[1]
    assert {generation for _, generation, _ in after[0].values()} == {second}
    assert after[0]["/v1/hashtags/fresh/related"] != before[0]["/v1/hashtags/fresh/related"]
