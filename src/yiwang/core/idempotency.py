"""``Idempotency-Key`` on API POSTs: a retry with the same key gets the first answer again.

The key is scoped to the caller (session user or token digest). A second request with the same
key but a different body answers 422; one that arrives while the first is still running
answers 409. Answers of 5xx are not stored, so the client may retry those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.middleware import error_response
from yiwang.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"


def _principal(request: HttpRequest) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return "t:" + hashlib.sha256(auth[7:].strip().encode()).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    session = getattr(request, "session", None)
    return (
        "s:" + hashlib.sha256((session.session_key or "").encode()).hexdigest()[:40]
        if session
        else "anon"
    )


def fingerprint(request: HttpRequest) -> str:
    """SHA-256 of what the request asks for. A multipart upload (files of up to hundreds of
    MB) is hashed from its parsed fields and files, chunk by chunk from where Django spooled
    them, never read into memory whole; every other body as it came."""
    if request.content_type != "multipart/form-data":
        return hashlib.sha256(request.body).hexdigest()
    h = hashlib.sha256(b"multipart\0")
    for name in sorted(request.POST):
        for value in request.POST.getlist(name):
            h.update(f"{name}\0{value}\0".encode())
    for name in sorted(request.FILES):
        for f in request.FILES.getlist(name):
            h.update(f"{name}\0{f.name}\0{f.size}\0".encode())
            for chunk in f.chunks():
                h.update(chunk)
            f.seek(0)  # the view reads it from the start
    return h.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER, "").strip()
        if not key or request.method != "POST" or not request.path.startswith("/api/"):
            return self.get_response(request)
        if len(key) > 200:
            return error_response(
                400,
                "invalid_idempotency_key",
                _("The Idempotency-Key is longer than 200 characters."),
            )
        principal = _principal(request)
        body_hash = fingerprint(request)
        cutoff = timezone.now() - timedelta(hours=settings.YIWANG_IDEMPOTENCY_TTL_HOURS)
        IdempotencyRecord.objects.filter(
            principal=principal, key=key, created_at__lt=cutoff
        ).delete()
        try:
            with transaction.atomic():
                rec = IdempotencyRecord.objects.create(
                    principal=principal,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    request_hash=body_hash,
                )
        except IntegrityError:
            prior = IdempotencyRecord.objects.get(principal=principal, key=key)
            if prior.request_hash != body_hash or prior.path != request.path[:500]:
                return error_response(
                    422,
                    "idempotency_key_reused",
                    _("This Idempotency-Key was used for a different request."),
                )
            if prior.status_code is None:
                return error_response(
                    409,
                    "request_in_progress",
                    _("A request with this Idempotency-Key is still running."),
                )
            replay = HttpResponse(
                bytes(prior.response_body or b""),
                status=prior.status_code,
                content_type=prior.content_type or "application/json",
            )
            replay["Idempotent-Replayed"] = "true"
            return replay
        response = self.get_response(request)
        if response.status_code >= 500 or getattr(response, "streaming", False):
            rec.delete()
        else:
            rec.status_code = response.status_code
            rec.response_body = response.content
            rec.content_type = response.get("Content-Type", "")
            rec.save(update_fields=["status_code", "response_body", "content_type"])
        return response
