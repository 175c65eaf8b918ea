"""Event subscribers: matching and delivery run on the queue after the write commits."""

from __future__ import annotations

from typing import Any

from yiwang.core import events


@events.subscriber("policies.published", background=True)
def match_published_item(payload: dict[str, Any]) -> None:
    """A newly published item (or version): bulk-match it over all enterprises, deliver."""
    from yiwang.policies.delivery import on_published

    on_published(int(payload["item"]))


@events.subscriber("policies.profile_changed", background=True)
def rematch_enterprise(payload: dict[str, Any]) -> None:
    """An enterprise's facts changed: match it against every open item, deliver new ones."""
    from yiwang.policies.delivery import on_profile_changed

    on_profile_changed(int(payload["organisation"]))


@events.subscriber("exchange.dataset_loaded", background=True)
def feed_profiles(payload: dict[str, Any]) -> None:
    """A shared dataset was loaded: feed its mapped facts into the enterprise profiles
    (read through the exchange under the policy department's grant; see ``feeds.py``)."""
    from yiwang.policies.feeds import on_dataset_loaded

    on_dataset_loaded(payload)
