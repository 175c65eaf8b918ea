"""Explicit cross-app events, delivered after the publishing transaction commits.

    from yiwang.core import events

    @events.subscriber("registry.enterprise_changed")
    def rematch(payload): ...

    events.publish("registry.enterprise_changed", {"credit_code": "..."})

Handlers run after commit, in the publishing process (``background=False``) or as a job
on the queue (``background=True``). A rolled-back transaction delivers nothing. A failing
synchronous handler is logged and does not affect the other handlers or the committed write.
Payloads are JSON-serialisable dicts of ids, never personal data.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Subscription:
    handler: Handler
    background: bool


_subscribers: dict[str, list[Subscription]] = defaultdict(list)


def subscriber(name: str, *, background: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        subscribe(name, fn, background=background)
        return fn

    return register


def subscribe(name: str, handler: Handler, *, background: bool = False) -> None:
    subs = _subscribers[name]
    if not any(s.handler is handler for s in subs):
        subs.append(Subscription(handler, background))


def unsubscribe(name: str, handler: Handler) -> None:
    _subscribers[name] = [s for s in _subscribers[name] if s.handler is not handler]


def subscribers(name: str) -> list[Subscription]:
    return list(_subscribers.get(name, ()))


def publish(name: str, payload: dict[str, Any]) -> None:
    """Deliver ``payload`` to the event's subscribers once the current transaction commits."""
    json.dumps(payload)  # fail now, in the caller, if it is not serialisable
    transaction.on_commit(lambda: deliver(name, payload))


def deliver(name: str, payload: dict[str, Any]) -> None:
    for sub in subscribers(name):
        if sub.background:
            from yiwang.core.tasks import deliver_event

            deliver_event(name, f"{sub.handler.__module__}.{sub.handler.__qualname__}", payload)
            continue
        try:
            sub.handler(payload)
        except Exception:
            log.exception("event handler %s failed for %s", sub.handler.__qualname__, name)


def handler_by_path(name: str, path: str) -> Handler | None:
    for sub in subscribers(name):
        if f"{sub.handler.__module__}.{sub.handler.__qualname__}" == path:
            return sub.handler
    return None
