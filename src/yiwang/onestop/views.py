"""The applicant's pages of 一网通办: start a bundle, the one form (situation answers, prefilled
fields, materials with uploads and waivers, the 容缺 commitment), submit once, and follow every
department's progress; answer a supplement request; download one's own files.

Thin: actions do the writes (and audit), selectors the scoped reads.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.core import audit
from yiwang.core.errors import DomainError
from yiwang.onestop import actions, selectors
from yiwang.onestop.models import (
    Application,
    ApplicationStatus,
    MaterialSource,
    MaterialState,
)
from yiwang.web.views import requires

portal = requires(Cap.PORTAL)

TIMELINE_LABELS = {
    "started": gettext_lazy("started the application"),
    "submitted": gettext_lazy("submitted; materials to follow:"),
    "task_opened": gettext_lazy("received the task"),
    "task_waiting": gettext_lazy("will start after the earlier stage"),
    "task_claimed": gettext_lazy("began examining"),
    "supplement_requested": gettext_lazy("asked for a supplement"),
    "supplement_answered": gettext_lazy("received the supplement"),
    "task_approved": gettext_lazy("approved"),
    "task_rejected": gettext_lazy("rejected"),
    "task_cancelled": gettext_lazy("no longer needed"),
    "reminded": gettext_lazy("was reminded of the time limit"),
    "escalated": gettext_lazy("passed the time limit; escalated"),
    "finished": gettext_lazy("finished:"),
    "withdrawn": gettext_lazy("withdrawn"),
}


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _own(request: AuthedRequest, application_id: int) -> Application:
    try:
        return selectors.access_my_application(request.user, application_id)
    except DomainError:
        raise Http404() from None


def apply_start(request: HttpRequest, code: str) -> HttpResponse:
    """GET: what applying involves (sign in to start). POST: start a draft and open it."""
    try:
        bundle = selectors.bundle_by_code(code)
    except DomainError:
        raise Http404() from None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?next={request.path}")
        try:
            app = actions.do_start_application(
                actor=request.user,
                bundle_code=code,
                idempotency_key=request.POST.get("key", "")[:80],
            )
        except DomainError as exc:
            if exc.status == 404:
                raise Http404() from None
            messages.error(request, str(exc.message))
            return redirect(request.path)
        return redirect("onestop:application", application_id=app.pk)
    drafts = []
    if request.user.is_authenticated:
        drafts = list(
            selectors.list_my_applications(request.user)
            .filter(bundle=bundle, status=ApplicationStatus.DRAFT)
            .order_by("-updated_at")[:5]
        )
    return render(
        request,
        "onestop/apply_start.html",
        {
            "bundle": bundle,
            "items": bundle.items.select_related(
                "implementation__matter", "implementation__department"
            ),
            "drafts": drafts,
            "can_apply": request.user.is_authenticated and request.user.can(Cap.PORTAL),
        },
    )


@portal
def my_applications(request: AuthedRequest) -> HttpResponse:
    qs = selectors.list_my_applications(request.user).order_by("-created_at")
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    return render(request, "onestop/my_applications.html", {"page": page})


def _draft_context(app: Application, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    p = actions.plan(app.bundle, app.answers)
    questions = {q.key: q for q in app.bundle.questions.all()}
    values = actions.form_values(app)
    shown_questions = [
        {"q": questions[s.key], "value": app.answers.get(s.key)} for s in p.situation.questions
    ]
    fields = [
        {
            "f": f,
            "value": values.get(f.key, ""),
            "source": app.prefilled.get(f.key),
            "errors": (errors or {}).get(f.key, []),
        }
        for f in p.fields
    ]
    rows = {am.material_id: am for am in app.materials.select_related("material")}
    # one set of materials: a material several matters ask for (same key) is one row
    order = [MaterialState.MISSING, MaterialState.DEFERRED, MaterialState.UPLOADED]
    grouped: dict[str, dict[str, Any]] = {}
    for m in p.materials:
        am = rows.get(m.pk)
        state = am.state if am else MaterialState.MISSING
        row = grouped.get(m.key)
        if row is None:
            grouped[m.key] = {
                "m": m,
                "am": am,
                "state": state,
                "matters": [m.implementation.matter.name],
                "errors": (errors or {}).get(f"materials.{m.key}", []),
                "source_label": MaterialSource(m.source).label,
            }
            continue
        row["matters"].append(m.implementation.matter.name)
        rank: dict[str, int] = {str(s): i for i, s in enumerate(order)}
        if rank.get(state, 9) < rank.get(row["state"], 9):
            row.update({"m": m, "am": am, "state": state})
    materials = list(grouped.values())
    for row in materials:
        row["state_label"] = MaterialState(row["state"]).label
    needs_commitment = any(
        r["m"].deferrable and r["state"] == MaterialState.MISSING for r in materials
    )
    general = [
        msg
        for key, msgs in (errors or {}).items()
        if key in ("answers", "material", "file", "__all__")
        for msg in msgs
    ]
    return {
        "plan": p,
        "questions": shown_questions,
        "fields": fields,
        "materials": materials,
        "needs_commitment": needs_commitment,
        "general_errors": general,
        "answer_errors": {
            k.removeprefix("answers."): v
            for k, v in (errors or {}).items()
            if k.startswith("answers.")
        },
    }


@portal
def application_page(request: AuthedRequest, application_id: int) -> HttpResponse:
    app = _own(request, application_id)
    return _render_application(request, app)


def _render_application(
    request: AuthedRequest,
    app: Application,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    ctx: dict[str, Any] = {"app": app, "errors": errors or {}}
    if app.status == ApplicationStatus.DRAFT:
        ctx.update(_draft_context(app, errors))
        template = "onestop/application_form.html"
    else:
        pr = selectors.progress(app)
        for e in pr.timeline:
            e.kind_label = TIMELINE_LABELS.get(e.kind, e.kind)
        ctx.update(
            {
                "progress": pr,
                "materials": [m for m in pr.materials if m.state != MaterialState.NOT_NEEDED],
                "supplement_keys": {k for s in pr.supplements for k in s.materials},
                "finished": app.status
                in (
                    ApplicationStatus.COMPLETED,
                    ApplicationStatus.PARTLY,
                    ApplicationStatus.REJECTED,
                ),
                "rate_url": _url("ratings:mine"),
            }
        )
        template = "onestop/application_progress.html"
    return render(request, template, ctx, status=status)


def _answers_from(post: Any, app: Application) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for q in app.bundle.questions.all():
        name = f"q_{q.key}"
        if name in post:
            answers[q.key] = post.get(name, "")
    return answers


def _form_from(post: Any, app: Application) -> dict[str, Any]:
    return {
        f.key: post.get(f"f_{f.key}", "") for f in app.bundle.fields.all() if f"f_{f.key}" in post
    }


@require_POST
@portal
def save_draft(request: AuthedRequest, application_id: int) -> HttpResponse:
    """Save the draft; with ``action=submit`` also submit it (once)."""
    app = _own(request, application_id)
    try:
        app, problems = actions.do_save_draft(
            actor=request.user,
            application_id=app.pk,
            answers=_answers_from(request.POST, app),
            form=_form_from(request.POST, app),
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("onestop:application", application_id=application_id)
    if request.POST.get("action") != "submit":
        if problems:
            return _render_application(request, app, problems, status=422)
        messages.success(request, _("Draft saved. You can come back to it at any time."))
        return redirect("onestop:application", application_id=app.pk)
    if problems:
        return _render_application(request, app, problems, status=422)
    try:
        actions.do_submit_application(
            actor=request.user,
            application_id=app.pk,
            commitment=request.POST.get("commitment") == "on",
        )
    except DomainError as exc:
        if exc.fields:
            app.refresh_from_db()
            return _render_application(request, app, exc.fields, status=422)
        messages.error(request, str(exc.message))
        return redirect("onestop:application", application_id=app.pk)
    messages.success(
        request, _("Submitted. Each department now examines its part; follow it here.")
    )
    return redirect("onestop:application", application_id=app.pk)


@require_POST
@portal
def upload_material(request: AuthedRequest, application_id: int, material_id: int) -> HttpResponse:
    app = _own(request, application_id)
    upload = request.FILES.get("file")
    if upload is None:
        errors = {"file": [_("Choose a file to upload.")]}
        return _render_application(request, app, errors, status=422)
    try:
        actions.do_upload_material(
            actor=request.user,
            application_id=app.pk,
            material_id=material_id,
            name=upload.name or "upload",
            data=upload.read(),
        )
    except DomainError as exc:
        if exc.fields:
            return _render_application(request, app, exc.fields, status=422)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("File received."))
    return redirect(reverse("onestop:application", args=[app.pk]) + "#materials")


@portal
def material_file(request: AuthedRequest, application_id: int, material_id: int) -> Any:
    app = _own(request, application_id)
    am = app.materials.filter(material_id=material_id).exclude(file="").first()
    if am is None or not am.file:
        raise Http404()
    audit.record(
        "onestop.material_downloaded",
        actor=request.user,
        obj=app,
        purpose="applicant's own file",
        detail={"material": material_id},
    )
    return FileResponse(
        am.file.open("rb"),
        as_attachment=True,
        filename=am.file_name or "material",
        content_type=am.content_type or "application/octet-stream",
    )


@require_POST
@portal
def submit(request: AuthedRequest, application_id: int) -> HttpResponse:
    app = _own(request, application_id)
    try:
        actions.do_submit_application(
            actor=request.user,
            application_id=app.pk,
            commitment=request.POST.get("commitment") == "on",
        )
    except DomainError as exc:
        if exc.fields:
            return _render_application(request, app, exc.fields, status=422)
        messages.error(request, str(exc.message))
    return redirect("onestop:application", application_id=app.pk)


@require_POST
@portal
def answer_supplement(request: AuthedRequest, application_id: int) -> HttpResponse:
    app = _own(request, application_id)
    try:
        actions.do_answer_supplement(
            actor=request.user, application_id=app.pk, note=request.POST.get("note", "")
        )
    except DomainError as exc:
        if exc.fields:
            return _render_application(request, app, exc.fields, status=422)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Sent. The department continues examining your application."))
    return redirect("onestop:application", application_id=app.pk)


@require_POST
@portal
def withdraw(request: AuthedRequest, application_id: int) -> HttpResponse:
    app = _own(request, application_id)
    try:
        actions.do_withdraw_application(actor=request.user, application_id=app.pk)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The application has been withdrawn."))
    return redirect("onestop:application", application_id=app.pk)
