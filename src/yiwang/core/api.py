"""API plumbing shared by every router: authentication, error shape, pagination."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Schema
from ninja.pagination import PaginationBase
from ninja.security import APIKeyCookie, HttpBearer
from ninja.security.session import SessionAuth as _NinjaSessionAuth


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class SessionAuth(_NinjaSessionAuth):
    """The browser's session (CSRF checked on writes).

    A request that carries ``Authorization: Bearer …`` is left to :class:`TokenAuth`: it is not
    authenticated by its cookies, so it needs no CSRF token (a cross-site page cannot set that
    header without a CORS preflight, which we never allow)."""

    def __call__(self, request: HttpRequest) -> Any:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


class TokenAuth(HttpBearer):
    """``Authorization: Bearer yw_…`` — a per-user API token (only its digest is stored)."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from yiwang.accounts.models import ApiToken

        if not token.startswith("yw_"):
            return None
        now = timezone.now()
        tok = (
            ApiToken.objects.select_related("user", "user__department")
            .filter(digest=token_digest(token), revoked_at__isnull=True)
            .first()
        )
        if tok is None or (tok.expires_at and tok.expires_at <= now) or not tok.user.is_active:
            return None
        if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=5):
            type(tok).objects.filter(pk=tok.pk).update(last_used_at=now)
        request.user = tok.user
        request.api_token = tok  # type: ignore[attr-defined]
        return tok.user


AUTH = [SessionAuth(), TokenAuth()]
_ = APIKeyCookie  # re-exported for routers that need a cookie scheme


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


def error_responses(*extra: int) -> dict[int, Any]:
    """The error answers an operation documents (``response={**error_responses(), 200: …}``):
    :class:`ErrorOut` for 400, 401, 403, 404 and 422, and for each code in ``extra`` (409
    where a write can conflict)."""
    return dict.fromkeys(sorted({400, 401, 403, 404, 422, *extra}), ErrorOut)


class PageNumber(PaginationBase):
    """``?page=&page_size=`` → ``{"items", "count", "page", "page_size"}``."""

    class Input(Schema):
        page: int = 1
        page_size: int = 50

    class Output(Schema):
        items: list[Any]
        count: int
        page: int
        page_size: int

    items_attribute = "items"

    def paginate_queryset(  # type: ignore[override]
        self, queryset: Any, pagination: Input, **params: Any
    ) -> Any:
        from yiwang.core.errors import ValidationFailed

        page = pagination.page
        size = pagination.page_size
        fields: dict[str, list[str]] = {}
        if page < 1:
            fields["page"] = ["must be 1 or more"]
        if not 1 <= size <= 500:
            fields["page_size"] = ["must be between 1 and 500"]
        if fields:
            raise ValidationFailed(fields=fields)
        offset = (page - 1) * size
        return {
            "items": list(queryset[offset : offset + size]),
            "count": len(queryset) if isinstance(queryset, list) else queryset.count(),
            "page": page,
            "page_size": size,
        }
