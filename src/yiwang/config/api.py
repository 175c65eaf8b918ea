"""The one NinjaAPI at /api/v1/: mounts each app's router, one error shape for all."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from yiwang import __version__
from yiwang.core.api import AUTH
from yiwang.core.errors import DomainError

api = NinjaAPI(
    title="Yiwang API",
    version="1",
    description=(
        "Yiwang (一网) platform API. Authenticate with the browser session (CSRF token on writes) "
        "or with `Authorization: Bearer <token>` (create tokens at `POST /api/v1/me/tokens`). "
        'Errors are `{"code", "message", "fields"}`. POSTs accept an `Idempotency-Key` '
        "header: a retry with the same key returns the first answer. Lists are paginated with "
        "`page` and `page_size` (max 500)."
    ),
    urls_namespace="api",
    auth=AUTH,
)


def _err(
    request: HttpRequest, status: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "fields": fields or {}}, status=status
    )


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _err(request, exc.status, exc.code, str(exc.message), exc.fields)


@api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for e in exc.errors:
        # Where the value came from is not part of the field's name: ("body", "payload",
        # "name") is "name", ("file", "file") is "file".
        loc = [
            str(p)
            for i, p in enumerate(e.get("loc", ()))
            if p not in ("body", "query", "path", "payload", "form")
            and not (i == 0 and p in ("file", "header", "cookie"))
        ]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(e.get("msg", "invalid")))
    return _err(request, 422, "validation_error", _("Some fields are not valid."), fields)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if getattr(request, "yw_session_expired", False):
        return _err(request, 401, "session_expired", _("Your session has expired. Log in again."))
    return _err(request, 401, "not_authenticated", _("Log in or send an API token."))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _err(request, 404, "not_found", _("Not found."))


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _err(request, 403, "forbidden", _("You may not do this."))


@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _err(request, 413, "body_too_large", _("The request body is too large."))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {
        400: "bad_request",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        429: "too_many_requests",
    }.get(exc.status_code, "error")
    return _err(request, exc.status_code, code, str(exc))


@api.get("/health", auth=None, tags=["platform"], summary="Liveness and database check")
def health(request: HttpRequest) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return {"status": "ok", "version": __version__, "database": connection.vendor}


def _mount() -> None:
    from yiwang.accounts.api import me_router
    from yiwang.accounts.api import router as accounts_router
    from yiwang.core.api_routes import router as core_router

    api.add_router("/me", me_router, tags=["me"])
    api.add_router("/accounts", accounts_router, tags=["accounts"])
    api.add_router("/core", core_router, tags=["kernel"])
    from yiwang.core.api_codetables import router as codetables_router

    api.add_router("/codetables", codetables_router, tags=["code tables"])
    from yiwang.grid.api import router as grid_router
    from yiwang.registry.api import router as registry_router

    api.add_router("/grid", grid_router, tags=["grid"])
    api.add_router("/registry", registry_router, tags=["registry"])
    from yiwang.registry.api_import import router as registry_import_router

    api.add_router("/registry/imports", registry_import_router, tags=["registry imports"])
    from yiwang.cases.api import router as cases_router

    api.add_router("/cases", cases_router, tags=["cases"])
    from yiwang.exchange.api import router as exchange_router
    from yiwang.policies.api import router as policies_router

    api.add_router("/policies", policies_router, tags=["policies"])
    api.add_router("/exchange", exchange_router, tags=["exchange"])
    from yiwang.onestop.api import router as onestop_router

    api.add_router("/onestop", onestop_router, tags=["onestop"])
    from yiwang.certs.api import router as certs_router

    api.add_router("/certs", certs_router, tags=["certs"])
    from yiwang.ratings.api import router as ratings_router

    api.add_router("/ratings", ratings_router, tags=["ratings"])


_mount()
