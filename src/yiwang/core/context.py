"""Per-request context (client IP, request id) for audit records, via contextvars."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str = ""
    request_id: str = ""
    channel: str = ""  # web, api, cli, worker


_DEFAULT = RequestContext(channel="cli")  # frozen, so safe to share
_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "yiwang_request_context",
    default=_DEFAULT,
)


def current() -> RequestContext:
    return _current.get()


def set_current(ctx: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(ctx)


def reset(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)
