"""Webhooks end to end: a real app, a real update, real POSTs to receivers on loopback.

The data are tests/test_trend_changes.py's: generation A, then an update B that moves
the top 3 (delta enters, beta exits, gamma rises, alpha falls).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from indexer.update import update
from service.app import create_app
from service.delivery import MAX_BACKOFF, backoff, read_state
from service.settings import Settings
from service.webhooks import WebhookConfigError, load_subscriptions
from tests.conftest import NOW, write_ndjson
from tests.test_trend_changes import AFTERNOON, MORNING, rows

SECRET = "s3cret-s3cret-s3cret"
WAIT = 30.0
"""Seconds a test waits for a delivery before failing (they take well under one)."""


def verify(secret: str, body: bytes, header: str) -> bool:
    """The README's recipe."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    signed = fields["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 300


class Receiver:
    """An HTTP server on loopback recording every POST; ``/flaky`` fails twice first,
    ``/slow`` answers after 3 seconds, ``/broken`` always fails."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    tries = sum(1 for c in receiver.calls if c["path"] == self.path)
                    receiver.calls.append(
                        {
                            "path": self.path,
                            "delivery": self.headers["X-Hashtag-Index-Delivery"],
                            "verified": verify(
                                SECRET, body, self.headers["X-Hashtag-Index-Signature"]
                            ),
                            "json": json.loads(body),
                            "at": time.monotonic(),
                        }
                    )
                if self.path == "/slow":
                    time.sleep(3)
                failing = self.path == "/broken" or (self.path == "/flaky" and tries < 2)
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if c["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def subscribers(path: Path, urls: dict[str, str], **extra: Any) -> Path:
    subs = [{"id": i, "url": u, "secret": SECRET, "limit": 3, **extra} for i, u in urls.items()]
    path.write_text(json.dumps({"subscribers": subs}))
    return path


def first_generation(root: Path) -> Path:
    index = root / "index"
    source = rows(MORNING, {"alpha": 30, "beta": 20, "gamma": 10}, 0)
    build([str(write_ndjson(root / "a.ndjson", source))], BuildOptions(index), now=NOW)
    return index


def publish_second(root: Path, index: Path) -> None:
    source = rows(AFTERNOON, {"delta": 50, "gamma": 40}, 1000)
    update([str(write_ndjson(root / "b.ndjson", source))], BuildOptions(index), now=NOW)


def settings(index: Path, hooks: Path) -> Settings:
    return Settings(
        index_dir=index,
        webhooks=hooks,
        reload_seconds=0.1,
        webhook_retry_seconds=0.2,
        webhook_timeout=5,
        access_log=False,
    )


def started(index: Path, hooks: Path) -> Callable[[], bool]:
    """True once every subscriber of ``hooks`` has been given a starting point."""
    ids = {s.subscriber.id for s in load_subscriptions(hooks)}
    return lambda: set(read_state(index).subscribers) == ids


def test_each_subscriber_gets_one_signed_post_of_the_changes(
    tmp_path: Path, receiver: Receiver
) -> None:
    index = first_generation(tmp_path)
    urls = {p: f"{receiver.url}/{p}" for p in ("ok", "flaky", "slow", "broken")}
    urls["dead"] = "http://127.0.0.1:9/nothing-listens-here"
    hooks = subscribers(tmp_path / "hooks.json", urls)
    # two workers on one index: only the lock holder delivers
    with (
        TestClient(create_app(settings(index, hooks))) as one,
        TestClient(create_app(settings(index, hooks))) as two,
    ):
        wait_for(started(index, hooks), "the deliverer to start")
        holders = [c.app.state.deliverer.holds_lock for c in (one, two)]
        assert sorted(holders) == [False, True]
        publish_second(tmp_path, index)
        wait_for(lambda: len(receiver.at("/flaky")) == 3, "the third try of /flaky")
        wait_for(lambda: len(receiver.at("/slow")) == 1, "the slow subscriber")
        # a slow subscriber blocks neither the API nor the others
        asked = time.monotonic()
        assert one.get("/v1/trending/changes?limit=3").status_code == 200
        assert time.monotonic() - asked < 2
        wait_for(lambda: read_state(index).delivered == 3, "ok, flaky and slow delivered")

        calls = receiver.at("/ok")
        assert len(calls) == 1
        assert all(c["verified"] for c in receiver.calls)
        payload = calls[0]["json"]
        assert payload["event"] == "trending.changed"
        assert payload["subscriber"] == "ok"
        assert payload["generation"] == one.get("/v1/index").json()["generation"]
        assert payload["delivery"] == calls[0]["delivery"] == f"{payload['generation']}.ok"
        # the POSTed changes are the API's answer to the same question
        api = one.get(f"/v1/trending/changes?limit=3&since={payload['previous_generation']}")
        assert payload["changes"] == api.json()
        assert [i["tag"] for i in payload["changes"]["entered"]] == ["delta"]

        flaky = receiver.at("/flaky")
        assert len({c["delivery"] for c in flaky}) == 1  # a retry is the same delivery
        assert flaky[2]["at"] - flaky[1]["at"] >= 0.35  # backed off: 0.2 s, then 0.4 s
        state = read_state(index)
        assert {p.subscriber for p in state.pending} == {"broken", "dead"}
        assert all(p.attempts >= 1 and p.last_error for p in state.pending)


def test_undelivered_changes_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    index = first_generation(tmp_path)
    hooks = subscribers(tmp_path / "hooks.json", {"later": f"{receiver.url}/broken"})
    with TestClient(create_app(settings(index, hooks))):
        wait_for(started(index, hooks), "the deliverer to start")
        publish_second(tmp_path, index)
        wait_for(lambda: len(receiver.at("/broken")) >= 1, "a first failed try")
    pending = read_state(index).pending
    assert [p.subscriber for p in pending] == ["later"]
    # the subscriber is fixed; a new server sends the same delivery
    subscribers(hooks, {"later": f"{receiver.url}/fixed"})
    with TestClient(create_app(settings(index, hooks))):
        wait_for(lambda: len(receiver.at("/fixed")) == 1, "the delivery after the restart")
        wait_for(lambda: read_state(index).pending == [], "the queue to empty")
    fixed = receiver.at("/fixed")[0]
    assert fixed["delivery"] == pending[0].delivery
    assert fixed["verified"]


def test_a_generation_that_changes_nothing_sends_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    index = first_generation(tmp_path)
    hooks = subscribers(tmp_path / "hooks.json", {"ok": f"{receiver.url}/ok"})
    with TestClient(create_app(settings(index, hooks))) as client:
        wait_for(started(index, hooks), "the deliverer to start")
        # an update with a post of an untagged kind: a new generation, the same list
        quiet = [{"id": "q1", "created_at": "2026-10-31T03:00:00Z", "author": "q", "text": "hi"}]
        update([str(write_ndjson(tmp_path / "q.ndjson", quiet))], BuildOptions(index), now=NOW)
        new = client.get("/v1/index").json()["generation"]
        wait_for(lambda: read_state(index).subscribers["ok"].generation == new, "the new one")
    assert receiver.at("/ok") == []


@pytest.mark.parametrize(
    ("subscriber", "message"),
    [
        ({"id": "a", "url": "ftp://x", "secret": SECRET}, "url must be http"),
        ({"id": "a", "url": "http://x", "secret": "short"}, "secret must be at least 16"),
        ({"id": "a b", "url": "http://x", "secret": SECRET}, "ids are unique"),
        ({"id": "a", "url": "http://x", "secret": SECRET, "window": "1y"}, "window:"),
        ({"id": "a", "url": "http://x", "secret": SECRET, "limit": 0}, "limit must be"),
        ({"id": "a", "url": "http://x", "secret": SECRET, "flag_above": 3}, "flag_above"),
        ({"id": "a", "url": "http://x", "secret": SECRET, "colour": 1}, "colour"),
        ({"url": "http://x", "secret": SECRET}, "id"),
    ],
)
def test_a_bad_subscriber_file_is_refused_naming_the_problem(
    tmp_path: Path, subscriber: dict[str, Any], message: str
) -> None:
    hooks = tmp_path / "hooks.json"
    hooks.write_text(json.dumps({"subscribers": [subscriber]}))
    with pytest.raises(WebhookConfigError, match=message):
        load_subscriptions(hooks)


def test_retries_back_off_doubling_up_to_an_hour() -> None:
    assert [backoff(10, n) for n in (1, 2, 3)] == [10, 20, 40]
    assert backoff(10, 40) == MAX_BACKOFF == timedelta(hours=1).total_seconds()


def test_serve_refuses_a_bad_subscriber_file_in_one_line(tmp_path: Path) -> None:
    index = first_generation(tmp_path)
    hooks = tmp_path / "hooks.json"
    hooks.write_text(json.dumps({"subscribers": [{"id": "a", "url": "ftp://x", "secret": SECRET}]}))
    with socket.socket() as probe:  # a free port, so that only the file can be the problem
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hashtag_index",
            "serve",
            "--index",
            str(index),
            "--port",
            str(port),
        ],
        env={**os.environ, "HASHTAG_INDEX_WEBHOOKS": str(hooks)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"hashtag-index: HASHTAG_INDEX_WEBHOOKS: {hooks}: subscriber 'a': url must be http:// "
        "or https://"
    ]
