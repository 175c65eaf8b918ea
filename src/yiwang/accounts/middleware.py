"""Session policy: absolute lifetime and enforced two-factor for configured staff roles.

Idle timeout is Django's sliding session (SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

OTP_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/api/v1/health", "/api/v1/openapi.json")


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            login_at = request.session.get("yw_login_at")
            if (
                login_at
                and time.time() - float(login_at) > settings.YIWANG_SESSION_ABSOLUTE_SECONDS
            ):
                logout(request)
                request.yw_session_expired = True  # type: ignore[attr-defined]
            elif (
                user.role in settings.YIWANG_OTP_REQUIRED_ROLES
                and not user.is_verified()
                and not request.path.startswith(OTP_EXEMPT_PREFIXES)
            ):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {
                            "code": "otp_required",
                            "message": _("Two-factor verification is required for your role."),
                            "fields": {},
                        },
                        status=401,
                    )
                return redirect("accounts:otp")
        return self.get_response(request)


class UserLanguageMiddleware:
    """A logged-in person's own language (``User.language``) on every device.

    Runs after authentication. The account's language applies when the request states none
    of its own: no language cookie (the switch on this device) and, for the API, no
    Accept-Language header (pages ignore that header: ``PagesChineseFirstMiddleware``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        lang = getattr(user, "language", "") if user is not None else ""
        if (
            lang
            and user is not None
            and user.is_authenticated
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
            and "HTTP_ACCEPT_LANGUAGE" not in request.META
        ):
            from django.utils import translation

            from yiwang.accounts.language import LANGUAGE_CODES

            if lang in LANGUAGE_CODES:
                translation.activate(lang)
                request.LANGUAGE_CODE = lang
        return self.get_response(request)
