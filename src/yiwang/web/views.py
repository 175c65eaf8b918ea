"""Portal and console pages: reads through scoped selectors, writes through actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.accounts import actions as account_actions
from yiwang.accounts import selectors as account_selectors
from yiwang.accounts.roles import Cap, Role
from yiwang.accounts.types import AuthedRequest
from yiwang.core import audit
from yiwang.core import selectors as core_selectors
from yiwang.core.errors import DomainError

View = Callable[..., HttpResponse]


def requires(cap: str) -> Callable[[View], View]:
    """Logged in (else redirect to login) and holding ``cap`` (else 404: not disclosed)."""

    def deco(fn: View) -> View:
        @login_required
        @wraps(fn)
        def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.can(cap):
                raise Http404()
            try:
                return fn(request, *args, **kwargs)
            except DomainError as exc:
                if exc.status == 404:
                    raise Http404() from None
                messages.error(request, str(exc.message))
                return redirect(request.path)

        return wrapper

    return deco


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated:
        return redirect("web:console" if user.can(Cap.CONSOLE) else "web:portal")
    return render(request, "web/landing.html")


@requires(Cap.PORTAL)
def portal(request: AuthedRequest) -> HttpResponse:
    return render(request, "web/portal.html")


@requires(Cap.CONSOLE)
def console(request: AuthedRequest) -> HttpResponse:
    user = request.user
    ctx: dict[str, Any] = {
        "department": user.department,
        "scope": account_selectors.division_scope(user),
        "role_label": Role(user.role).label,
    }
    return render(request, "web/console.html", ctx)


@requires(Cap.USERS_VIEW)
def users(request: AuthedRequest) -> HttpResponse:
    qs = account_selectors.list_users_for(request.user)
    q = request.GET.get("q", "").strip()
    role = request.GET.get("role", "")
    if q:
        qs = qs.filter(username__icontains=q)
    if role in Role.values:
        qs = qs.filter(role=role)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request, "web/users.html", {"page": page, "q": q, "role": role, "roles": Role.choices}
    )


@requires(Cap.USERS_VIEW)
def user_detail(request: AuthedRequest, user_id: int) -> HttpResponse:
    person = account_actions.read_user_profile(
        actor=request.user, user_id=user_id, purpose="console view"
    )
    return render(
        request,
        "web/user_detail.html",
        {"person": person, "may_unmask": request.user.can(Cap.UNMASK)},
    )


@require_POST
@requires(Cap.USERS_VIEW)
def user_unmask(request: AuthedRequest, user_id: int) -> HttpResponse:
    field = request.POST.get("field", "")
    purpose = request.POST.get("purpose", "")
    try:
        value = account_actions.do_unmask(
            actor=request.user, user_id=user_id, field=field, purpose=purpose
        )
        ctx = {"field": field, "value": value, "error": ""}
        status = 200
    except DomainError as exc:
        if exc.status == 404:
            raise Http404() from None
        errors = [m for msgs in exc.fields.values() for m in msgs] or [str(exc.message)]
        ctx = {"field": field, "value": "", "error": " ".join(errors)}
        # A 4xx keeps the masked value in place; yiwang.js shows the message by the form.
        status = exc.status
    return render(request, "web/_unmask_result.html", ctx, status=status)


@requires(Cap.AUDIT_READ)
def audit_log(request: AuthedRequest) -> HttpResponse:
    qs = core_selectors.list_audit_records_for(
        request.user,
        event=request.GET.get("event", "").strip(),
        actor=request.GET.get("actor", "").strip(),
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "web/audit.html", {"page": page, "filters": request.GET})


@require_POST
@requires(Cap.AUDIT_VERIFY)
def audit_verify(request: AuthedRequest) -> HttpResponse:
    result = core_selectors.verify_audit_chain_for(request.user)
    return render(request, "web/_audit_verify.html", {"result": result})


@requires(Cap.SECURITY_MANAGE)
def security(request: AuthedRequest) -> HttpResponse:
    from axes.models import AccessAttempt

    attempts = AccessAttempt.objects.order_by("-attempt_time")[:100]
    audit.record("security.lockouts_viewed", actor=request.user, object_type="axes.accessattempt")
    return render(request, "web/security.html", {"attempts": attempts})


@require_POST
@requires(Cap.SECURITY_MANAGE)
def security_unlock(request: AuthedRequest) -> HttpResponse:
    from axes.utils import reset

    username = request.POST.get("username", "").strip()
    if username:
        count = reset(username=username)
        audit.record(
            "security.account_unlocked",
            actor=request.user,
            object_type="accounts.user",
            object_id=username,
            detail={"attempts_cleared": count},
        )
        messages.success(request, _("Unlocked %(user)s.") % {"user": username})
    return redirect("web:security")
