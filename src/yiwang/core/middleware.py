"""Kernel middleware: security headers, request context, API request guards."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from yiwang.core import context

Next = Callable[[HttpRequest], HttpResponse]


class SecurityHeadersMiddleware:
    """CSP and Permissions-Policy (Django's SecurityMiddleware sets the others)."""

    def __init__(self, get_response: Next) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.YIWANG_CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(self), payment=()"
        )
        return response


def client_ip(request: HttpRequest) -> str:
    """The client address; X-Forwarded-For is trusted only behind a configured proxy
    (``YIWANG_TRUST_X_FORWARDED_FOR=1``), and then only its last entry: the one our own proxy
    added. Entries before it come from the client and can be anything."""
    if getattr(settings, "YIWANG_TRUST_X_FORWARDED_FOR", False):
        xff = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        last = xff.rsplit(",", 1)[-1].strip()
        if last:
            return last[:45]
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


class RequestContextMiddleware:
    def __init__(self, get_response: Next) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        channel = "api" if request.path.startswith("/api/") else "web"
        token = context.set_current(context.RequestContext(client_ip(request), rid, channel))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response.headers["X-Request-ID"] = rid
        return response


def error_response(
    status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "fields": fields or {}}, status=status)


class ApiRequestGuardMiddleware:
    """Oversize bodies (413) and wrong content types (415) on API writes, before any parsing.

    Bodies are limited to ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2 MB), except multipart uploads to
    the file endpoints in ``settings.API_UPLOAD_LIMITS`` (path -> bytes)."""

    ACCEPTED = ("application/json", "multipart/form-data", "application/x-www-form-urlencoded")

    def __init__(self, get_response: Next) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and request.method in {"POST", "PUT", "PATCH"}:
            length = request.META.get("CONTENT_LENGTH") or "0"
            try:
                size = int(length)
            except ValueError:
                size = 0
            ctype = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if ctype == "multipart/form-data":  # a file upload endpoint may take more
                path = request.path.rstrip("/")
                limit = getattr(settings, "API_UPLOAD_LIMITS", {}).get(path, limit)
            if size > limit:
                return error_response(
                    413,
                    "body_too_large",
                    _("The request body is %(size)d bytes; the limit is %(limit)d.")
                    % {"size": size, "limit": limit},
                )
            if size and ctype not in self.ACCEPTED:
                return error_response(
                    415,
                    "unsupported_media_type",
                    _("Send the body as application/json (got %(type)s).")
                    % {"type": ctype or _("no content type")},
                )
        return self.get_response(request)


class PagesChineseFirstMiddleware:
    """Pages open in zh-Hans unless the user chose English (the language cookie).

    Browsers send Accept-Language from the machine's setup, which on many office machines is
    English; the platform is zh-Hans first, so pages ignore it. API clients keep using
    Accept-Language for their error messages.
    """

    def __init__(self, get_response: Next) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
