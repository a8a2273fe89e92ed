"""Service settings: each has a name, a default and a sentence (documented in README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from indexer.schema import DEFAULT_INDEX_DIR, INDEX_DIR_ENV

SETTINGS_ENV = {
    "index_dir": INDEX_DIR_ENV,
    "reload_seconds": "HASHTAG_INDEX_RELOAD_SECONDS",
    "api_key": "HASHTAG_INDEX_API_KEY",
    "inbox_dir": "HASHTAG_INDEX_INBOX",
    "reindex_timeout": "HASHTAG_INDEX_REINDEX_TIMEOUT",
    "cursor_secret": "HASHTAG_INDEX_CURSOR_SECRET",
    "access_log": "HASHTAG_INDEX_ACCESS_LOG",
    "rate_limit": "HASHTAG_INDEX_RATE_LIMIT",
    "webhooks": "HASHTAG_INDEX_WEBHOOKS",
    "webhook_retry_seconds": "HASHTAG_INDEX_WEBHOOK_RETRY_SECONDS",
    "webhook_timeout": "HASHTAG_INDEX_WEBHOOK_TIMEOUT",
}
"""Each setting's environment variable (the README documents each one)."""


@dataclass(frozen=True)
class Settings:
    index_dir: Path = DEFAULT_INDEX_DIR
    """HASHTAG_INDEX_DIR: the index directory whose published generation is served."""
    reload_seconds: float = 2.0
    """HASHTAG_INDEX_RELOAD_SECONDS: how often to look for a newly published generation."""
    api_key: str | None = None
    """HASHTAG_INDEX_API_KEY: the key admin requests must send in X-API-Key; unset, the
    admin endpoints are disabled."""
    inbox_dir: Path = Path("var/inbox")
    """HASHTAG_INDEX_INBOX: the directory POST /v1/admin/reindex updates the index from."""
    reindex_timeout: float = 3600.0
    """HASHTAG_INDEX_REINDEX_TIMEOUT: seconds a reindex job may run before it is killed and
    marked failed."""
    rate_limit: str | None = None
    """HASHTAG_INDEX_RATE_LIMIT: requests each client may make, as N/second, N/minute,
    N/hour or N/day (e.g. 600/minute); unset, no limit."""
    access_log: bool = True
    """HASHTAG_INDEX_ACCESS_LOG: write one JSON line per request to stderr (0 turns it off)."""
    cursor_secret: str | None = None
    """HASHTAG_INDEX_CURSOR_SECRET: the secret next_cursor tokens are signed with; unset, a
    random key kept in INDEX/cursor.key (made on first start)."""

    webhooks: Path | None = None
    """HASHTAG_INDEX_WEBHOOKS: a JSON file of webhook subscribers (URL, secret, trending
    parameters) to POST trending changes to; unset, no webhooks."""
    webhook_retry_seconds: float = 10.0
    """HASHTAG_INDEX_WEBHOOK_RETRY_SECONDS: the wait after a webhook's first failed POST,
    doubled after each further failure (at most an hour)."""
    webhook_timeout: float = 10.0
    """HASHTAG_INDEX_WEBHOOK_TIMEOUT: seconds a subscriber has to answer a POST."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        given = {field: env.get(name) or None for field, name in SETTINGS_ENV.items()}
        access_log = (given["access_log"] or "1").strip().lower()
        webhooks = given["webhooks"]
        return cls(
            index_dir=Path(given["index_dir"] or cls.index_dir),
            reload_seconds=float(given["reload_seconds"] or cls.reload_seconds),
            api_key=given["api_key"],
            inbox_dir=Path(given["inbox_dir"] or cls.inbox_dir),
            reindex_timeout=float(given["reindex_timeout"] or cls.reindex_timeout),
            cursor_secret=given["cursor_secret"],
            rate_limit=given["rate_limit"],
            access_log=access_log not in ("0", "false", "no", "off"),
            webhooks=Path(webhooks) if webhooks else None,
            webhook_retry_seconds=float(
                given["webhook_retry_seconds"] or cls.webhook_retry_seconds
            ),
            webhook_timeout=float(given["webhook_timeout"] or cls.webhook_timeout),
        )
