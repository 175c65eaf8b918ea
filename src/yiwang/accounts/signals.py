"""Login, logout and failed logins go into the audit chain (Django's auth signals)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from yiwang.core import audit
from yiwang.core.models import AuditResult


@receiver(user_logged_in)
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session["yw_login_at"] = timezone.now().timestamp()
    audit.record("auth.login", actor=user, obj=user)


@receiver(user_logged_out)
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record("auth.logout", actor=user, obj=user)


@receiver(user_login_failed)
def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # The username is recorded (it identifies the account under attack); never the password.
    username = str(credentials.get("username", ""))[:150]
    audit.record(
        "auth.login_failed",
        object_type="accounts.user",
        object_id=username,
        result=AuditResult.DENIED,
    )
