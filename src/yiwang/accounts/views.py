"""Login, logout, two-factor, own profile. Thin: policy lives in settings, axes and actions."""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from yiwang.accounts.forms import LoginForm, OtpForm
from yiwang.accounts.types import AuthedRequest
from yiwang.core import audit
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.core.selectors import list_accesses_to


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def lockout_response(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """django-axes calls this when an account is locked."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse(
            {
                "code": "account_locked",
                "message": _("Too many failed logins. Try again in 30 minutes."),
                "fields": {},
            },
            status=429,
        )
    return render(request, "accounts/locked.html", status=429)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:home")


@login_required
def otp_view(request: AuthedRequest) -> HttpResponse:
    """Set up (first time) or pass the TOTP second factor."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user).order_by("-confirmed").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", _("Too many wrong codes. Wait a little and try again."))
        elif device.verify_token(form.cleaned_data["token"]):
            if not device.confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit.record("auth.otp_enrolled", actor=user, obj=user)
            otp_login(request, device)
            audit.record("auth.otp_verified", actor=user, obj=user)
            return redirect("web:home")
        else:
            audit.record("auth.otp_failed", actor=user, obj=user, result="denied")
            form.add_error("token", _("The code is wrong or has expired."))
    qr_svg = None
    if not device.confirmed:
        qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return render(
        request,
        "accounts/otp.html",
        {"form": form, "qr_svg": qr_svg, "enrolling": not device.confirmed},
    )


@login_required
def profile_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    ctx = {
        "masked": {
            "display_name": mask_name(user.display_name),
            "id_number": mask_id_number(user.id_number),
            "phone": mask_phone(user.phone),
        },
        "tokens": user.api_tokens.filter(revoked_at__isnull=True),
    }
    return render(request, "accounts/profile.html", ctx)


@login_required
def my_access_log_view(request: AuthedRequest) -> HttpResponse:
    """Who read my personal data, when and why (PIPL: the right to know)."""
    records = list_accesses_to(str(request.user.pk)).exclude(actor_id=request.user.pk)[:200]
    if not records:
        messages.info(request, _("Nobody else has read your personal data."))
    return render(request, "accounts/access_log.html", {"records": records})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, and for a logged-in person also their account's language
    (so that messages, email and SMS written to them by background jobs follow; ADR 0022)."""
    from django.views.i18n import set_language as django_set_language

    from yiwang.accounts import actions
    from yiwang.accounts.language import LANGUAGE_CODES

    response = django_set_language(request)
    lang = request.POST.get("language", "")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and lang in LANGUAGE_CODES:
        actions.do_set_language(actor=user, language=lang)
    return response
