"""Case pages: the console list, case page with one form per allowed step, statistics; the
intake pages (resident report, grid patrol, 12345 desk); a resident's own cases and rating.

Thin: reads through ``selectors`` (and the helpers in ``pages``), writes through ``actions``.
A case outside the actor's scope is a 404; a form that fails shows its field messages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from yiwang.accounts.roles import Cap, Role
from yiwang.accounts.types import AuthedRequest
from yiwang.cases import actions, pages, selectors
from yiwang.cases.models import Channel, Priority, Rating, RequestType
from yiwang.core.errors import DomainError, NotFound, ValidationFailed
from yiwang.web.views import requires

STAT_GROUPS = [
    ("grid", gettext_lazy("Grid")),
    ("community", gettext_lazy("Community")),
    ("street", gettext_lazy("Street")),
    ("department", gettext_lazy("Department")),
    ("category", gettext_lazy("Category")),
]


def _access(request: AuthedRequest, case_id: int) -> Any:
    try:
        return selectors.access_case(request.user, case_id)
    except NotFound:
        raise Http404() from None


# --- Console: list, case page, transitions ----------------------------------------------------
@requires(Cap.CONSOLE)
def case_list(request: AuthedRequest) -> HttpResponse:
    qs, chosen = pages.filtered_cases(request.user, request.GET)
    page = Paginator(qs, pages.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [selectors.case_view(request.user, c) for c in page]
    ctx = {
        "page": page,
        "rows": rows,
        "f": chosen,
        "filtered": any(chosen.values()),
        **pages.filter_choices(request.user),
        "may_patrol": pages.intake_channel(request.user, Channel.PATROL),
        "may_hotline": pages.intake_channel(request.user, Channel.HOTLINE),
    }
    return render(request, "cases/list.html", ctx)


def _detail_context(request: AuthedRequest, case: Any, **forms: Any) -> dict[str, Any]:
    return {
        "case": case,
        "c": selectors.case_view(request.user, case),
        "timeline": pages.timeline(request.user, case),
        "steps": pages.step_forms(request.user, case, **forms),
        "departments": pages.departments_for_dispatch(request.user),
        "may_unmask": request.user.role == Role.OPERATOR and request.user.can(Cap.UNMASK),
    }


@requires(Cap.CONSOLE)
def case_detail(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _access(request, case_id)
    return render(request, "cases/detail.html", _detail_context(request, case))


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@require_POST
@requires(Cap.CONSOLE)
def case_transition(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _access(request, case_id)
    form = request.POST
    code = form.get("transition", "")
    bad: dict[str, list[str]] = {}
    for name in ("department_id", "hours", "target_id"):
        if form.get(name) and _int_or_none(form.get(name)) is None:
            bad[name] = [_("Enter a whole number.")]
    try:
        if bad:
            raise ValidationFailed(fields=bad)
        actions.do_transition_case(
            actor=request.user,
            case_id=case.pk,
            transition=code,
            note=form.get("note", ""),
            department_id=_int_or_none(form.get("department_id")),
            hours=_int_or_none(form.get("hours")),
            target_id=_int_or_none(form.get("target_id")),
            files=request.FILES.getlist("attachments"),
        )
    except ValidationFailed as exc:
        case = _access(request, case_id)
        ctx = _detail_context(request, case, failed=code, errors=exc.fields, values=form.dict())
        ctx["step_error"] = str(exc.message)
        return render(request, "cases/detail.html", ctx, status=422)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404() from None
        messages.error(request, str(exc.message))
        return redirect("cases:detail", case_id=case.pk)
    messages.success(request, _("Done: %(step)s.") % {"step": pages.transition_label(code)})
    try:
        selectors.access_case(request.user, case.pk)
    except NotFound:
        # The step moved the case out of the actor's sight (e.g. returned to the centre).
        return redirect("cases:list")
    return redirect("cases:detail", case_id=case.pk)


# --- Statistics -------------------------------------------------------------------------------
@requires(Cap.CONSOLE)
def statistics(request: AuthedRequest) -> HttpResponse:
    by = request.GET.get("by", "department")
    if by not in selectors.GROUPS:
        by = "department"
    rows = selectors.statistics_for(request.user, by)
    chart = {
        "names": [r["name"] or r["key"] or "—" for r in rows],
        "series": [
            {"key": "total", "name": _("Cases"), "data": [r["total"] for r in rows]},
            {"key": "open", "name": _("Open"), "data": [r["open"] for r in rows]},
            {"key": "overdue", "name": _("Overdue"), "data": [r["overdue"] for r in rows]},
        ],
        "rates": [
            {"key": k, "name": str(n), "data": [r[k] for r in rows]}
            for k, n in (
                ("response_rate", _("Response rate")),
                ("resolution_rate", _("Resolution rate")),
                ("satisfaction_rate", _("Satisfaction rate")),
                ("on_time_rate", _("On-time rate")),
            )
        ],
    }
    ctx = {
        "rows": rows,
        "by": by,
        "groups": STAT_GROUPS,
        "chart": chart,
        "totals": {k: sum(r[k] for r in rows) for k in ("total", "open", "overdue")},
    }
    return render(request, "cases/statistics.html", ctx)


# --- Intake: resident report, grid patrol, 12345 desk -----------------------------------------
def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _intake_data(form: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The form as the action's ``data`` plus the errors of values that are not numbers."""
    bad: dict[str, list[str]] = {}
    lng, lat = _float(form.get("lng")), _float(form.get("lat"))
    if (form.get("lng") and lng is None) or (form.get("lat") and lat is None):
        bad["lat"] = [_("Longitude and latitude must both be numbers.")]
    code = form.get("category", "").strip().upper()
    prefix = f"attr-{code}-"
    attrs: dict[str, Any] = {}
    for key in form:
        if key.startswith(prefix):
            values = [v for v in form.getlist(key) if v != ""]
            if values:
                attrs[key[len(prefix) :]] = values if len(values) > 1 else values[0]
    data = {
        "category": code,
        "description": form.get("description", ""),
        "lng": lng,
        "lat": lat,
        "coord_system": form.get("coord_system", "wgs84") or "wgs84",
        "address": form.get("address", ""),
        "attributes": attrs,
        "anonymous": form.get("anonymous") == "1",
        "contact_name": form.get("contact_name", ""),
        "contact_phone": form.get("contact_phone", ""),
        "contact_email": form.get("contact_email", ""),
        "request_type": form.get("request_type", ""),
        "priority": form.get("priority", ""),
    }
    return data, bad


def _intake(request: AuthedRequest, channel: str, template: str, done: str) -> HttpResponse:
    if not pages.intake_channel(request.user, channel):
        raise Http404()
    staff = request.user.role in {Role.OPERATOR, Role.GRID_WORKER}
    ctx: dict[str, Any] = {
        "categories": list(selectors.list_categories(public_only=not staff)),
        "request_types": RequestType.choices,
        "priorities": Priority.choices,
        "form": {},
        "errors": {},
        "channel": channel,
    }
    if request.method == "POST":
        data, bad = _intake_data(request.POST)
        try:
            if bad:
                raise ValidationFailed(fields=bad)
            files = request.FILES.getlist("photos") if channel != Channel.HOTLINE else []
            case = actions.do_report_case(
                actor=request.user, data=data, channel=channel, files=files
            )
        except ValidationFailed as exc:
            ctx.update(form=request.POST, errors=exc.fields, error=str(exc.message))
            ctx["attr_groups"] = pages.attribute_groups(ctx["categories"], request.POST)
            return render(request, template, ctx, status=422)
        messages.success(request, _("Case #%(id)s was received. Thank you.") % {"id": case.pk})
        return redirect(done, case_id=case.pk)
    ctx["attr_groups"] = pages.attribute_groups(ctx["categories"], QueryDict())
    return render(request, template, ctx)


@require_http_methods(["GET", "POST"])
@requires(Cap.PORTAL)
def report(request: AuthedRequest) -> HttpResponse:
    return _intake(request, Channel.PORTAL, "cases/report.html", "cases:my_case")


@require_http_methods(["GET", "POST"])
@requires(Cap.CONSOLE)
def patrol(request: AuthedRequest) -> HttpResponse:
    return _intake(request, Channel.PATROL, "cases/patrol.html", "cases:detail")


@require_http_methods(["GET", "POST"])
@requires(Cap.CONSOLE)
def hotline(request: AuthedRequest) -> HttpResponse:
    return _intake(request, Channel.HOTLINE, "cases/hotline.html", "cases:detail")


@login_required
def territory(request: AuthedRequest) -> HttpResponse:
    """The map behind the report forms, for whoever may report through the portal or on
    patrol: community outlines for residents, the grids in scope for grid workers."""
    if not (
        pages.intake_channel(request.user, Channel.PORTAL)
        or pages.intake_channel(request.user, Channel.PATROL)
    ):
        raise Http404()
    return JsonResponse(pages.territory_geojson(request.user))


@login_required
def photo(request: AuthedRequest, case_id: int, sha256: str) -> HttpResponseBase:
    """A photo of a case (its report or a timeline step), for those who may see the case;
    residents only the photos of the public steps."""
    from django.http import FileResponse

    from yiwang.cases import photos

    case = _access(request, case_id)
    found = photos.find(case, sha256, public_only=not selectors.is_staff_viewer(request.user))
    if found is None:
        raise Http404()
    path = photos.path_for(found["sha256"], found["content_type"])
    if not path.is_file():
        raise Http404()
    resp = FileResponse(path.open("rb"), content_type=found["content_type"])
    resp["Cache-Control"] = "private, max-age=3600"
    resp["X-Content-Type-Options"] = "nosniff"
    resp["Content-Disposition"] = "inline"
    return resp


# --- A resident's own cases -------------------------------------------------------------------
@requires(Cap.PORTAL)
def my_cases(request: AuthedRequest) -> HttpResponse:
    qs = selectors.list_cases_for(request.user).filter(reporter=request.user)
    page = Paginator(qs.order_by("-created_at", "-pk"), pages.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    ctx = {
        "page": page,
        "settings": selectors.reporter_settings(request.user),
        "unread": selectors.unread_count(request.user),
    }
    return render(request, "cases/mine.html", ctx)


@require_POST
@requires(Cap.PORTAL)
def my_settings(request: AuthedRequest) -> HttpResponse:
    opt_out = request.POST.get("notify_opt_out") == "1"
    actions.do_set_reporter_settings(actor=request.user, notify_opt_out=opt_out)
    messages.success(
        request,
        _("You will get in-app messages only.")
        if opt_out
        else _("You will get email and SMS about your reports again."),
    )
    return redirect("cases:mine")


def _my_case_context(request: AuthedRequest, case: Any, **extra: Any) -> dict[str, Any]:
    from yiwang.cases.followup import pending_question

    return {
        "follow_up": pending_question(case),
        "case": case,
        "c": selectors.case_view(request.user, case),
        "steps": pages.milestones(case),
        "timeline": pages.timeline(request.user, case),
        "may_rate": pages.may_rate(request.user, case),
        "ratings": Rating.choices,
        "form": {},
        "errors": {},
        **extra,
    }


@requires(Cap.PORTAL)
def my_case(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _access(request, case_id)
    if case.reporter_id != request.user.pk:
        raise Http404()
    return render(request, "cases/my_case.html", _my_case_context(request, case))


@require_POST
@requires(Cap.PORTAL)
def my_case_rate(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _access(request, case_id)
    if case.reporter_id != request.user.pk:
        raise Http404()
    rating = _int_or_none(request.POST.get("rating"))
    try:
        actions.do_rate_case(
            actor=request.user,
            case_id=case.pk,
            rating=rating if rating is not None else 0,
            comment=request.POST.get("comment", ""),
            reopen=request.POST.get("reopen") == "1",
        )
    except ValidationFailed as exc:
        ctx = _my_case_context(request, case, form=request.POST, errors=exc.fields)
        return render(request, "cases/my_case.html", ctx, status=422)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404() from None
        messages.error(request, str(exc.message))
        return redirect("cases:my_case", case_id=case.pk)
    messages.success(request, _("Thank you for your rating."))
    return redirect("cases:my_case", case_id=case.pk)


@require_POST
@requires(Cap.PORTAL)
def my_case_follow_up(request: AuthedRequest, case_id: int) -> HttpResponse:
    """The reporter's answer to the four-week "still fixed?" question."""
    from yiwang.cases.followup import do_answer_follow_up

    case = _access(request, case_id)
    if case.reporter_id != request.user.pk:
        raise Http404()
    answer = request.POST.get("still_fixed", "")
    if answer not in {"yes", "no"}:
        ctx = _my_case_context(request, case, fu_errors={"still_fixed": [_("Answer yes or no.")]})
        return render(request, "cases/my_case.html", ctx, status=422)
    try:
        do_answer_follow_up(
            actor=request.user,
            case_id=case.pk,
            still_fixed=answer == "yes",
            note=request.POST.get("note", ""),
        )
    except ValidationFailed as exc:
        ctx = _my_case_context(request, case, fu_errors=exc.fields)
        return render(request, "cases/my_case.html", ctx, status=422)
    messages.success(
        request,
        _("Thank you: glad it is still fixed.")
        if answer == "yes"
        else _("Thank you: the centre will review the case and may reopen it."),
    )
    return redirect("cases:my_case", case_id=case.pk)


# --- In-app messages --------------------------------------------------------------------------
@login_required
def inbox(request: AuthedRequest) -> HttpResponse:
    """My in-app messages (and my department's, for staff), newest first; unread marked."""
    qs = selectors.messages_for(request.user)
    page = Paginator(qs, pages.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "m": m,
            "text": m.render(),
            "unread": m.read_at is None and m.recipient_id == request.user.pk,
            "own": m.recipient_id == request.user.pk,
            "link": pages.message_link(request.user, m),
        }
        for m in page
    ]
    ctx = {"page": page, "rows": rows, "unread": selectors.unread_count(request.user)}
    return render(request, "cases/messages.html", ctx)


@require_POST
@login_required
def inbox_read(request: AuthedRequest) -> HttpResponse:
    raw = request.POST.get("id", "")
    ids = None if raw == "all" else [i for i in [_int_or_none(raw)] if i is not None]
    actions.do_mark_messages_read(actor=request.user, ids=ids)
    return redirect("cases:messages")
