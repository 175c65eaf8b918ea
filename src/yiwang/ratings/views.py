"""好差评 pages: the resident's 待评价/我的评价 and rating form, the department console
(ratings, rectification tasks, appeals) and the public statistics.

Thin: reads through ``selectors``, writes through ``actions``; a form that fails is shown
again with its field messages; anything out of scope is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.accounts.types import AuthedRequest
from yiwang.core.errors import DomainError, NotFound, ValidationFailed
from yiwang.core.masking import mask_name, mask_phone
from yiwang.ratings import actions, selectors
from yiwang.ratings.api import parse_period
from yiwang.ratings.models import (
    COMMENT_MAX,
    NOTES_MAX,
    AppealStatus,
    Indicator,
    Level,
    Problem,
    RectificationStatus,
)

PAGE_SIZE = 30
View = Callable[..., HttpResponse]
FACES = {"5": "😄", "4": "🙂", "3": "😐", "2": "🙁", "1": "😠"}


def _guard(
    check: Callable[[Any], bool], back: Callable[[Any, dict[str, Any]], str] | None = None
) -> Callable[[View], View]:
    """Logged in (else the login page) and passing ``check`` (else 404); a domain error
    (a conflict, say) becomes a message on the page ``back`` names (else the same path)."""

    def deco(fn: View) -> View:
        @login_required
        @wraps(fn)
        def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise Http404()
            try:
                return fn(request, *args, **kwargs)
            except DomainError as exc:
                if exc.status == 404:
                    raise Http404() from None
                messages.error(request, str(exc.message))
                return redirect(back(request, kwargs) if back else request.path)

        return wrapper

    return deco


def _to(name: str, *keys: str) -> Callable[[Any, dict[str, Any]], str]:
    return lambda request, kwargs: reverse(f"ratings:{name}", kwargs={k: kwargs[k] for k in keys})


def _is_staff(user: Any) -> bool:
    return selectors.is_handler(user) or selectors.is_reviewer(user)


rater_only = _guard(selectors.is_rater)
staff_only = _guard(_is_staff)
handler_only = _guard(selectors.is_handler)


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _levels() -> list[dict[str, str]]:
    return [{"value": v, "label": str(label), "face": FACES[v]} for v, label in Level.choices]


# --- Resident ---------------------------------------------------------------------------------
@rater_only
def mine(request: AuthedRequest) -> HttpResponse:
    user = request.user
    pending = selectors.list_invitations_for(user, status="pending")
    rated = selectors.list_invitations_for(user, status="rated").select_related(
        "rating__rectification"
    )
    return render(
        request,
        "ratings/mine.html",
        {"pending": pending, "page": _page(request, rated), "faces": FACES},
    )


@rater_only
def rate(request: AuthedRequest, invitation_id: int) -> HttpResponse:
    try:
        inv = selectors.access_invitation(request.user, invitation_id)
    except NotFound:
        raise Http404() from None
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {"level": "", "scores": {}, "problems": [], "comment": ""}
    if request.method == "POST" and not inv.rated:
        form = {
            "level": request.POST.get("level", ""),
            "scores": {
                k: request.POST.get(f"score-{k}", "")
                for k in Indicator.values
                if request.POST.get(f"score-{k}", "")
            },
            "problems": request.POST.getlist("problems"),
            "comment": request.POST.get("comment", ""),
        }
        try:
            actions.do_rate_service(
                actor=request.user,
                invitation_id=inv.pk,
                level=form["level"],
                scores=form["scores"],
                problems=form["problems"],
                comment=form["comment"],
            )
        except ValidationFailed as exc:
            for k, v in exc.fields.items():
                errors.setdefault(k.split(".", 1)[0], []).extend(v)
        else:
            messages.success(request, _("Thank you. Your rating has been recorded."))
            return redirect("ratings:mine")
    status = 422 if errors else 200
    return render(
        request,
        "ratings/rate.html",
        {
            "inv": inv,
            "levels": _levels(),
            "indicators": Indicator.choices,
            "problems": Problem.choices,
            "form": form,
            "errors": errors,
            "comment_max": COMMENT_MAX,
            "score_range": ["1", "2", "3", "4", "5"],
        },
        status=status,
    )


@_guard(selectors.is_rater, _to("mine"))
@require_POST
def confirm(request: AuthedRequest, rectification_id: int) -> HttpResponse:
    try:
        actions.do_confirm_rectification(
            actor=request.user,
            rectification_id=rectification_id,
            accepted=request.POST.get("accepted") == "1",
            feedback=request.POST.get("feedback", ""),
        )
    except ValidationFailed as exc:
        for msgs in exc.fields.values():
            for m in msgs:
                messages.error(request, m)
    else:
        messages.success(request, _("Thank you for your answer."))
    return redirect("ratings:mine")


# --- Public statistics ------------------------------------------------------------------------
def statistics(request: HttpRequest) -> HttpResponse:
    start, end = request.GET.get("start", ""), request.GET.get("end", "")
    errors: dict[str, list[str]] = {}
    try:
        since, until = parse_period(start, end)
    except ValidationFailed as exc:
        errors, since, until = exc.fields, None, None
    rows = selectors.public_statistics(start=since, end=until)
    chart = {
        "names": [r["department"] for r in rows],
        "series": [
            {"key": lv.value, "name": str(lv.label), "data": [r["levels"][lv.value] for r in rows]}
            for lv in Level
        ],
        "rates": [
            {
                "key": "positive_rate",
                "name": _("Positive rate"),
                "data": [r["positive_rate"] for r in rows],
            },
            {
                "key": "on_time_rate",
                "name": _("Rectified on time"),
                "data": [r["on_time_rate"] for r in rows],
            },
        ],
    }
    totals = {
        "total": sum(r["total"] for r in rows),
        "positive": sum(r["positive"] for r in rows),
    }
    totals["positive_rate"] = (
        round(totals["positive"] / totals["total"], 4) if totals["total"] else None
    )
    return render(
        request,
        "ratings/statistics.html",
        {
            "rows": rows,
            "chart": chart,
            "totals": totals,
            "levels": Level.choices,
            "start": start,
            "end": end,
            "errors": errors,
        },
        status=422 if errors else 200,
    )


# --- Department console -----------------------------------------------------------------------
@staff_only
def console(request: AuthedRequest) -> HttpResponse:
    level = request.GET.get("level", "")
    if level not in Level.values:
        level = ""
    show = request.GET.get("show", "")
    excluded = {"excluded": True, "counted": False}.get(show)
    qs = selectors.list_ratings_for(request.user, level=level, excluded=excluded).select_related(
        "rectification", "appeal"
    )
    return render(
        request,
        "ratings/console.html",
        {
            "page": _page(request, qs),
            "levels": Level.choices,
            "level": level,
            "show": show,
            "faces": FACES,
            "reviewer": selectors.is_reviewer(request.user),
        },
    )


@staff_only
def rating_detail(request: AuthedRequest, rating_id: int) -> HttpResponse:
    try:
        rating = selectors.access_rating(request.user, rating_id)
    except NotFound:
        raise Http404() from None
    own = request.user.department_id == rating.department_id
    appeal = getattr(rating, "appeal", None)
    return render(
        request,
        "ratings/rating.html",
        {
            "r": rating,
            "face": FACES[rating.level],
            "appeal": appeal,
            "rect": getattr(rating, "rectification", None),
            "may_appeal": own
            and selectors.is_handler(request.user)
            and rating.negative
            and not rating.excluded
            and appeal is None,
            "errors": {},
            "notes_max": NOTES_MAX,
        },
    )


@_guard(selectors.is_handler, _to("rating", "rating_id"))
@require_POST
def appeal(request: AuthedRequest, rating_id: int) -> HttpResponse:
    try:
        actions.do_appeal_rating(
            actor=request.user, rating_id=rating_id, reason=request.POST.get("reason", "")
        )
    except ValidationFailed as exc:
        rating = selectors.access_rating(request.user, rating_id)
        return render(
            request,
            "ratings/rating.html",
            {
                "r": rating,
                "face": FACES[rating.level],
                "appeal": None,
                "rect": getattr(rating, "rectification", None),
                "may_appeal": True,
                "errors": exc.fields,
                "reason": request.POST.get("reason", ""),
                "notes_max": NOTES_MAX,
            },
            status=422,
        )
    messages.success(request, _("The appeal has been filed with the rating authority."))
    return redirect("ratings:rating", rating_id=rating_id)


@handler_only
def rectifications(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", "pending")
    if status not in {"pending", "", *RectificationStatus.values}:
        status = "pending"
    overdue = True if request.GET.get("overdue") == "1" else None
    qs = selectors.list_rectifications_for(request.user, status=status, overdue=overdue)
    return render(
        request,
        "ratings/rectifications.html",
        {
            "page": _page(request, qs),
            "status": status,
            "overdue": overdue,
            "statuses": RectificationStatus.choices,
        },
    )


def _rect_context(request: AuthedRequest, rect: Any, **extra: Any) -> dict[str, Any]:
    rater = rect.rating.rater
    ctx = {
        "rect": rect,
        "r": rect.rating,
        "face": FACES[rect.rating.level],
        "rater_masked": {"name": mask_name(rater.display_name), "phone": mask_phone(rater.phone)},
        "contact": None,
        "errors": {},
        "form": {},
        "notes_max": NOTES_MAX,
    }
    ctx.update(extra)
    return ctx


@handler_only
def rectification_detail(request: AuthedRequest, rectification_id: int) -> HttpResponse:
    try:
        rect = selectors.access_rectification(request.user, rectification_id)
    except NotFound:
        raise Http404() from None
    return render(request, "ratings/rectification.html", _rect_context(request, rect))


@_guard(selectors.is_handler, _to("rectification", "rectification_id"))
@require_POST
def rectification_contact(request: AuthedRequest, rectification_id: int) -> HttpResponse:
    contact = actions.do_read_rater_contact(actor=request.user, rectification_id=rectification_id)
    rect = selectors.access_rectification(request.user, rectification_id)
    return render(
        request, "ratings/rectification.html", _rect_context(request, rect, contact=contact)
    )


def _rect_step(request: AuthedRequest, rectification_id: int, step: str) -> HttpResponse:
    text = request.POST.get("text", "")
    try:
        if step == "callback":
            actions.do_record_callback(
                actor=request.user, rectification_id=rectification_id, notes=text
            )
            messages.success(request, _("The callback has been recorded."))
        else:
            actions.do_record_rectification(
                actor=request.user, rectification_id=rectification_id, result=text
            )
            messages.success(request, _("The rectification has been recorded."))
    except ValidationFailed as exc:
        rect = selectors.access_rectification(request.user, rectification_id)
        errors = {step: [m for msgs in exc.fields.values() for m in msgs]}
        return render(
            request,
            "ratings/rectification.html",
            _rect_context(request, rect, errors=errors, form={step: text}),
            status=422,
        )
    return redirect("ratings:rectification", rectification_id=rectification_id)


@_guard(selectors.is_handler, _to("rectification", "rectification_id"))
@require_POST
def rectification_callback(request: AuthedRequest, rectification_id: int) -> HttpResponse:
    return _rect_step(request, rectification_id, "callback")


@_guard(selectors.is_handler, _to("rectification", "rectification_id"))
@require_POST
def rectification_result(request: AuthedRequest, rectification_id: int) -> HttpResponse:
    return _rect_step(request, rectification_id, "result")


@staff_only
def appeals(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in AppealStatus.values:
        status = ""
    qs = selectors.list_appeals_for(request.user, status=status)
    user = request.user
    return render(
        request,
        "ratings/appeals.html",
        {
            "page": _page(request, qs),
            "status": status,
            "statuses": AppealStatus.choices,
            "reviewer": selectors.is_reviewer(user),
            "own_department": user.department_id,
            "errors": {},
        },
    )


@_guard(selectors.is_reviewer, _to("appeals"))
@require_POST
def decide(request: AuthedRequest, appeal_id: int) -> HttpResponse:
    try:
        actions.do_decide_appeal(
            actor=request.user,
            appeal_id=appeal_id,
            exclude=request.POST.get("exclude") == "1",
            notes=request.POST.get("notes", ""),
        )
    except ValidationFailed as exc:
        for msgs in exc.fields.values():
            for m in msgs:
                messages.error(request, m)
    else:
        messages.success(request, _("The appeal has been decided."))
    return redirect("ratings:appeals")
