"""Webhook subscribers: their configuration, the payload and its signature.

``HASHTAG_INDEX_WEBHOOKS`` names a JSON file::

    {"subscribers": [
      {"id": "newsroom", "url": "https://example.com/hooks/trending",
       "secret": "a long random string",
       "window": "24h", "baseline": "7d", "limit": 20,
       "platform": null, "lang": null, "include_flagged": false, "flag_above": 0.6}
    ]}

Only ``id``, ``url`` and ``secret`` are required; the rest are ``GET /v1/trending``'s
parameters with its defaults. Each POST carries the JSON body of :class:`Payload`
and the header ``X-Hashtag-Index-Signature: t=<unix seconds>,v1=<hex>``, where
``v1`` is HMAC-SHA256 of ``<t>.<body>`` keyed with the subscriber's secret (the
README shows how to check it). service/delivery.py sends them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import msgspec

from service.changes import Changes
from service.params import parse_duration, parse_filter
from service.trends import TrendParams

SIGNATURE_HEADER = "X-Hashtag-Index-Signature"
DELIVERY_HEADER = "X-Hashtag-Index-Delivery"
EVENT = "trending.changed"
MAX_SUBSCRIBERS = 1000
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Subscriber(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One subscriber as the file gives it."""

    id: str
    url: str
    secret: str
    window: str = "24h"
    baseline: str = "7d"
    limit: int = 20
    platform: str | None = None
    lang: str | None = None
    include_flagged: bool = False
    flag_above: float = TrendParams.flag_above


class WebhookFile(msgspec.Struct, forbid_unknown_fields=True):
    subscribers: list[Subscriber]


@dataclass(frozen=True)
class Subscription:
    """A subscriber, its parameters checked."""

    subscriber: Subscriber
    window: timedelta
    baseline: timedelta
    platform: str | None
    lang: str | None
    params: TrendParams


class WebhookConfigError(ValueError):
    pass


def load_subscriptions(path: Path) -> list[Subscription]:
    """The subscribers of ``path``, checked; WebhookConfigError names what is wrong."""
    try:
        found = msgspec.json.decode(path.read_bytes(), type=WebhookFile)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as e:
        raise WebhookConfigError(f"{path}: {e}") from None
    if len(found.subscribers) > MAX_SUBSCRIBERS:
        raise WebhookConfigError(f"{path}: at most {MAX_SUBSCRIBERS} subscribers")
    seen: set[str] = set()
    subscriptions = []
    for sub in found.subscribers:
        where = f"{path}: subscriber {sub.id!r}"
        if not _ID.match(sub.id) or sub.id in seen:
            raise WebhookConfigError(f"{where}: ids are unique, 1-64 of A-Z a-z 0-9 _ . -")
        seen.add(sub.id)
        if not sub.url.startswith(("http://", "https://")):
            raise WebhookConfigError(f"{where}: url must be http:// or https://")
        if len(sub.secret) < 16:
            raise WebhookConfigError(f"{where}: secret must be at least 16 characters")
        if not 1 <= sub.limit <= 200:
            raise WebhookConfigError(f"{where}: limit must be from 1 to 200")
        try:
            window = parse_duration(sub.window, "window")
            baseline = parse_duration(sub.baseline, "baseline")
            params = TrendParams(flag_above=sub.flag_above)
        except ValueError as e:  # InvalidParameter's message names the field
            raise WebhookConfigError(f"{where}: {e}") from None
        subscriptions.append(
            Subscription(
                sub, window, baseline, parse_filter(sub.platform), parse_filter(sub.lang), params
            )
        )
    return subscriptions


class Payload(msgspec.Struct):
    """The body of one POST."""

    event: str
    """Always ``trending.changed``."""
    delivery: str
    """This delivery's id: the same on every retry (deduplicate on it)."""
    subscriber: str
    generation: str
    """The newly published generation."""
    previous_generation: str
    """The generation the previous delivery (or the start of the subscription) saw."""
    limit: int
    platform: str | None
    lang: str | None
    include_flagged: bool
    changes: Changes


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
