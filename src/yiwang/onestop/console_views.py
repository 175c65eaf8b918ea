"""The department console of 一网通办: the task inbox (filters, search, counts per state, due
times in Beijing time), one task (the application as the department needs it — personal fields
masked — this matter's materials, the timeline, the other departments' progress and the
claim / release / 补正 / decide forms the task's state allows), the download of an uploaded
material (audited) and the department's statistics.

Thin: reads through ``selectors`` (scoped to the actor's department: anything else is a 404),
writes through ``actions``. A form that fails re-renders with its field messages and changes
nothing; a conflict (stale version, a step the state does not allow) comes back as a message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiwang.accounts.roles import Cap, Role
from yiwang.accounts.types import AuthedRequest
from yiwang.core import audit
from yiwang.core.errors import DomainError
from yiwang.onestop import actions, present, selectors, workflow
from yiwang.onestop.models import (
    ApplicationMaterial,
    ApprovalTask,
    Material,
    MaterialState,
    QuestionKind,
    TaskState,
)
from yiwang.web.views import requires

PAGE_SIZE = 20
READ_PURPOSE = "examining an application"
staff = requires(Cap.SERVICE_TASKS)

#: the states the inbox shows (tasks waiting for an earlier stage are not the department's yet)
INBOX_STATES = [s for s in TaskState if s != TaskState.WAITING]

TIMELINE_KINDS: dict[str, Any] = {
    "started": gettext_lazy("Application started"),
    "submitted": gettext_lazy("Application submitted"),
    "task_opened": gettext_lazy("Task opened"),
    "task_waiting": gettext_lazy("Task waits for an earlier stage"),
    "task_claimed": gettext_lazy("Examination started"),
    "supplement_requested": gettext_lazy("Supplement requested"),
    "supplement_answered": gettext_lazy("Supplement provided"),
    "task_approved": gettext_lazy("Approved"),
    "task_rejected": gettext_lazy("Rejected"),
    "task_cancelled": gettext_lazy("No longer needed"),
    "reminded": gettext_lazy("Reminder: due within one working day"),
    "escalated": gettext_lazy("Escalated: overdue"),
    "finished": gettext_lazy("Finished"),
    "withdrawn": gettext_lazy("Withdrawn by the applicant"),
}


def _task(request: AuthedRequest, task_id: int, *, purpose: str = "") -> ApprovalTask:
    try:
        return selectors.access_task(request.user, task_id, purpose=purpose)
    except DomainError:
        raise Http404() from None


def _version(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


def _deadline(t: ApprovalTask, now: dt.datetime, soon: dt.datetime) -> str:
    """``paused`` (补正), ``overdue``, ``soon`` (within one working day), ``ok`` or ``""``."""
    if t.state == TaskState.SUPPLEMENT:
        return "paused"
    if t.state not in (TaskState.PENDING, TaskState.CLAIMED) or t.due_at is None:
        return ""
    if t.due_at < now:
        return "overdue"
    if t.due_at <= soon:
        return "soon"
    return "ok"


# --- The inbox ----------------------------------------------------------------------------------
@staff
def tasks(request: AuthedRequest) -> HttpResponse:
    """The department's tasks: counts per state, filters, search, one page of rows."""
    user = request.user
    state = request.GET.get("state", "")
    if state not in [s.value for s in INBOX_STATES]:
        state = ""
    q = request.GET.get("q", "").strip()[:100]
    overdue = request.GET.get("overdue") == "1"
    qs = selectors.list_tasks_for(user, state=state, q=q, overdue=overdue).select_related(
        "department"
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    soon = selectors.CALENDAR.add_days(now, 1)
    rows = [{**present.staff_task(t), "deadline": _deadline(t, now, soon)} for t in page]
    by_state = {
        r["state"]: r["n"]
        for r in selectors.list_tasks_for(user).order_by().values("state").annotate(n=Count("id"))
    }
    counts = [
        {"state": s.value, "label": s.label, "n": by_state.get(s.value, 0)} for s in INBOX_STATES
    ]
    if rows:
        # applicant names are personal data: record who listed which applications, and why
        audit.record(
            "onestop.task_list_read",
            actor=user,
            object_type="onestop.application",
            fields=["applicant_name", "applicant_code"],
            purpose="department task inbox",
            detail={"applications": sorted({r["application_id"] for r in rows})},
        )
    ctx = {
        "page": page,
        "rows": rows,
        "counts": counts,
        "total": sum(by_state.get(s.value, 0) for s in INBOX_STATES),
        "overdue_count": selectors.list_tasks_for(user, overdue=True).count(),
        "states": [(s.value, s.label) for s in INBOX_STATES],
        "state": state,
        "q": q,
        "overdue": overdue,
    }
    return render(request, "onestop/console/tasks.html", ctx)


# --- One task -----------------------------------------------------------------------------------
def _answer_text(kind: str, choices: list[Any], value: Any) -> str:
    if value is None or value == "":
        return "—"
    if kind == QuestionKind.YES_NO:
        return str(_("Yes") if value is True or str(value).lower() in ("true", "1") else _("No"))
    if kind == QuestionKind.CHOICE:
        for c in choices or []:
            if isinstance(c, dict) and c.get("value") == value:
                return str(c.get("label") or value)
    return str(value)


def _material_rows(t: ApprovalTask, data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for m in data["materials"]:
        rows.append(
            {
                **m,
                "downloadable": m["state"] == MaterialState.UPLOADED and bool(m["file_name"]),
            }
        )
    return rows


def _task_context(
    request: AuthedRequest,
    t: ApprovalTask,
    *,
    errors: dict[str, list[str]] | None = None,
    failed: str = "",
    posted: dict[str, Any] | None = None,
) -> dict[str, Any]:
    user = request.user
    app = t.application
    data = present.staff_task(t, detail=True)
    now = timezone.now()
    data["deadline"] = _deadline(t, now, selectors.CALENDAR.add_days(now, 1))
    bundle = app.bundle
    answers = [
        {"key": q.key, "text": q.text, "value": _answer_text(q.kind, q.choices, app.answers[q.key])}
        for q in bundle.questions.all()
        if q.key in app.answers
    ]
    form = data["form"]
    fields = [
        {
            "key": f.key,
            "label": f.label,
            "value": form[f.key],
            "personal": f.personal,
            "source": (app.prefilled.get(f.key) or {}).get("source", ""),
        }
        for f in bundle.fields.all()
        if f.key in form
    ]
    pr = selectors.progress(app)
    timeline = [
        {
            "kind": e.kind,
            "label": TIMELINE_KINDS.get(e.kind, e.kind),
            "department": e.actor_label,
            "note": _("to follow under the commitment: %(keys)s") % {"keys": e.note}
            if e.kind == "submitted" and e.note
            else e.note,
            "at": e.at,
            "own": e.task_id == t.pk,
        }
        for e in pr.timeline
    ]
    others = [
        {
            "department": o.department.name,
            "matter": o.implementation.matter.name,
            "state": o.state,
            "state_label": TaskState(o.state).label,
        }
        for o in pr.tasks
        if o.pk != t.pk
    ]
    allowed = set(workflow.allowed_events(t))
    may_decide = t.claimed_by_id == user.pk or user.role == Role.DEPT_LEADER
    supplements = list(t.supplements.order_by("-requested_at"))
    names = {m.key: m.name for m in Material.objects.filter(implementation=t.implementation)}
    posted = posted or {}
    return {
        "t": t,
        "task": data,
        "app": app,
        "answers": answers,
        "fields": fields,
        "materials": _material_rows(t, data),
        "timeline": timeline,
        "others": others,
        "supplements": [
            {
                "note": s.note,
                "materials": [names.get(k, k) for k in s.materials],
                "requested_at": s.requested_at,
                "answered_at": s.answered_at,
                "answer": s.answer,
            }
            for s in supplements
        ],
        "matter_materials": [
            {"key": k, "name": n, "checked": k in posted.get("materials", [])}
            for k, n in names.items()
        ],
        "can_claim": "claim" in allowed,
        "can_release": "release" in allowed and may_decide,
        "can_supplement": "request_supplement" in allowed and may_decide,
        "can_decide": bool({"approve", "reject"} & allowed) and may_decide,
        "claimed_by_other": t.state == TaskState.CLAIMED and not may_decide,
        "errors": errors or {},
        "failed": failed,
        "posted": posted,
    }


def _render_task(
    request: AuthedRequest, t: ApprovalTask, status: int = 200, **kw: Any
) -> HttpResponse:
    return render(
        request, "onestop/console/task.html", _task_context(request, t, **kw), status=status
    )


@staff
def task(request: AuthedRequest, task_id: int) -> HttpResponse:
    """One task; reading the application is audited as a personal-data access."""
    t = _task(request, task_id, purpose=READ_PURPOSE)
    return _render_task(request, t)


def _back(task_id: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("onestop:console_task", args=[task_id]) + anchor)


SHOWN_FIELDS = frozenset({"reason", "decision", "note", "materials"})


def _failed(
    request: AuthedRequest, task_id: int, exc: DomainError, form: str, posted: dict[str, Any]
) -> HttpResponse:
    """A 404 stays a 404; field errors re-render the page (nothing changed); anything else —
    a conflict, a step the state does not allow, another claimant — is a message."""
    if exc.status == 404:
        raise Http404()
    if exc.fields:
        # errors of fields the forms do not have (e.g. the certificate the approval would
        # issue lacks data) are shown as messages, so nothing fails silently
        for key, msgs in exc.fields.items():
            if key not in SHOWN_FIELDS:
                for msg in msgs:
                    messages.error(request, f"{key}: {msg}")
        t = _task(request, task_id, purpose=READ_PURPOSE)
        return _render_task(
            request, t, status=exc.status, errors=exc.fields, failed=form, posted=posted
        )
    messages.error(request, str(exc.message))
    return _back(task_id)


@require_POST
@staff
def claim(request: AuthedRequest, task_id: int) -> HttpResponse:
    _task(request, task_id)
    try:
        actions.do_claim_task(
            actor=request.user, task_id=task_id, version=_version(request.POST.get("version"))
        )
    except DomainError as exc:
        return _failed(request, task_id, exc, "claim", {})
    messages.success(request, _("You have claimed this task; the examination is yours."))
    return _back(task_id)


@require_POST
@staff
def release(request: AuthedRequest, task_id: int) -> HttpResponse:
    _task(request, task_id)
    try:
        actions.do_release_task(actor=request.user, task_id=task_id)
    except DomainError as exc:
        return _failed(request, task_id, exc, "release", {})
    messages.success(request, _("Released: the task is back in the department's inbox."))
    return _back(task_id)


@require_POST
@staff
def supplement(request: AuthedRequest, task_id: int) -> HttpResponse:
    _task(request, task_id)
    note = request.POST.get("note", "")
    keys = [str(k) for k in request.POST.getlist("materials")]
    posted: dict[str, Any] = {"note": note, "materials": keys}
    try:
        actions.do_request_supplement(
            actor=request.user, task_id=task_id, note=note, materials=keys
        )
    except DomainError as exc:
        return _failed(request, task_id, exc, "supplement", posted)
    messages.success(
        request, _("Supplement requested. The clock is paused until the applicant answers.")
    )
    return _back(task_id)


@require_POST
@staff
def decide(request: AuthedRequest, task_id: int) -> HttpResponse:
    _task(request, task_id)
    decision = request.POST.get("decision", "")
    posted = {"reason": request.POST.get("reason", ""), "decision": decision}
    if decision not in ("approve", "reject"):
        exc = DomainError(fields={"decision": [_("Choose approve or reject.")]}, status=422)
        return _failed(request, task_id, exc, "decide", posted)
    try:
        t = actions.do_decide_task(
            actor=request.user,
            task_id=task_id,
            approve=decision == "approve",
            reason=posted["reason"],
            version=_version(request.POST.get("version")),
        )
    except DomainError as exc:
        return _failed(request, task_id, exc, "decide", posted)
    if decision == "reject":
        messages.success(request, _("Rejected. The applicant sees the reason."))
    elif t.certificate_id:
        messages.success(
            request,
            _("Approved. Electronic certificate %(id)s issued.") % {"id": t.certificate_id},
        )
    else:
        messages.success(request, _("Approved."))
    return _back(task_id)


@staff
def material_file(request: AuthedRequest, task_id: int, material_id: int) -> HttpResponse:
    """The uploaded file of one of this task's materials, as an attachment (audited)."""
    t = _task(request, task_id)
    am: ApplicationMaterial | None = (
        t.application.materials.filter(
            material_id=material_id, material__implementation_id=t.implementation_id
        )
        .exclude(file="")
        .first()
    )
    if am is None or not am.file:
        raise Http404()
    try:
        handle = am.file.open("rb")
    except FileNotFoundError:
        raise Http404() from None
    audit.record(
        "onestop.material_downloaded",
        actor=request.user,
        obj=t.application,
        fields=["materials.file"],
        purpose=READ_PURPOSE,
        detail={"task": t.pk, "material": material_id, "sha256": am.sha256},
    )
    # a streaming response; ``requires`` is typed for HttpResponse views
    return cast(
        HttpResponse,
        FileResponse(
            handle,
            as_attachment=True,
            filename=am.file_name or "material",
            content_type=am.content_type or "application/octet-stream",
        ),
    )


# --- Statistics ---------------------------------------------------------------------------------
@staff
def statistics(request: AuthedRequest) -> HttpResponse:
    s = selectors.department_statistics(request.user)
    day_hours = selectors.CALENDAR.day_length.total_seconds() / 3600
    hours = s.average_working_hours
    chart = {
        "names": [r["name"] for r in s.by_matter],
        "series": [
            {"name": str(_("Approved")), "data": [r["approved"] for r in s.by_matter]},
            {"name": str(_("Rejected")), "data": [r["rejected"] for r in s.by_matter]},
            {"name": str(_("Open")), "data": [r["open"] for r in s.by_matter]},
        ],
    }
    ctx = {
        "s": s,
        "on_time_percent": None if s.on_time_rate is None else round(s.on_time_rate * 100, 1),
        "hours": None if hours is None else round(hours, 1),
        "days": None if hours is None else round(hours / day_hours, 1),
        "day_hours": round(day_hours),
        "chart": chart,
    }
    return render(request, "onestop/console/statistics.html", ctx)
