"""Plain-dict views of bundles, applications and tasks shared by the API and the pages."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from yiwang.core.masking import mask_credit_code, mask_id_number, mask_phone
from yiwang.onestop import actions, selectors
from yiwang.onestop.models import (
    Application,
    ApplicationMaterial,
    ApprovalTask,
    Bundle,
    FieldKind,
    MaterialState,
    TaskState,
)


def bundle(b: Bundle, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": b.code,
        "name": b.name,
        "audience": b.audience,
        "theme": b.theme,
        "summary": b.summary,
        "completion": b.completion,
        "lead_department": b.lead_department.name,
        "promised_days": b.promised_days,
        "version": b.version,
    }
    if detail:
        out["questions"] = [
            {
                "key": q.key,
                "text": q.text,
                "kind": q.kind,
                "choices": q.choices or [],
                "shown_when": q.shown_when,
            }
            for q in b.questions.all()
        ]
        out["items"] = [
            item(i)
            for i in b.items.select_related("implementation__matter", "implementation__department")
        ]
        out["fields"] = [
            {
                "key": f.key,
                "label": f.label,
                "kind": f.kind,
                "required": f.required,
                "prefill": f.prefill,
                "applies_when": f.applies_when,
                "choices": f.choices or [],
            }
            for f in b.fields.all()
        ]
    return out


def item(i: Any) -> dict[str, Any]:
    impl = i.implementation
    return {
        "implementation": impl.code,
        "matter": impl.matter.name,
        "department": impl.department.name,
        "stage": i.stage,
        "promised_days": impl.promised_limit,
        "applies_when": i.applies_when,
    }


def plan(b: Bundle, answers: dict[str, Any]) -> dict[str, Any]:
    p = actions.plan(b, answers)
    return {
        "complete": p.situation.complete and not p.undecided,
        "unanswered": [q.key for q in p.situation.unanswered],
        "matters": [item(i) for i in p.items],
        "undecided": [i.implementation.code for i in p.undecided],
        "materials": [
            {
                "key": m.key,
                "name": m.name,
                "matter": m.implementation.matter.name,
                "required": m.required,
                "deferrable": m.deferrable,
                "source": m.source,
            }
            for m in p.materials
        ],
        "fields": [f.key for f in p.fields],
    }


def material(am: ApplicationMaterial) -> dict[str, Any]:
    m = am.material
    return {
        "material_id": m.pk,
        "key": m.key,
        "name": m.name,
        "matter": m.implementation.matter.name,
        "state": am.state,
        "state_label": str(MaterialState(am.state).label),
        "waived_by": am.waived_by,
        "required": m.required,
        "deferrable": m.deferrable,
        "formats": list(m.formats or []),
        "max_size_kb": m.max_size_kb,
        "file_name": am.file_name,
        "size": am.size,
        "sha256": am.sha256,
    }


def task(t: ApprovalTask) -> dict[str, Any]:
    return {
        "id": t.pk,
        "matter": t.implementation.matter.name,
        "implementation": t.implementation.code,
        "department": t.department.name,
        "stage": t.stage,
        "state": t.state,
        "state_label": str(TaskState(t.state).label),
        "started_at": t.started_at,
        "due_at": t.due_at,
        "decided_at": t.decided_at,
        "reason": t.reason,
        "certificate_id": t.certificate_id,
        "version": t.version,
    }


def application(app: Application) -> dict[str, Any]:
    pr = selectors.progress(app)
    return {
        "id": app.pk,
        "number": app.number,
        "bundle": app.bundle.code,
        "bundle_name": app.bundle.name,
        "status": app.status,
        "status_label": app.get_status_display(),
        "answers": app.answers,
        "form": actions.form_values(app),
        "prefilled": app.prefilled,
        "commitment": app.commitment,
        "created_at": app.created_at,
        "submitted_at": app.submitted_at,
        "completed_at": app.completed_at,
        "materials": [material(am) for am in pr.materials if am.state != MaterialState.NOT_NEEDED],
        "tasks": [task(t) for t in pr.tasks],
        "supplements": [
            {
                "department": s.task.department.name,
                "matter": s.task.implementation.matter.name,
                "note": s.note,
                "materials": s.materials,
                "requested_at": s.requested_at,
            }
            for s in pr.supplements
        ],
        "timeline": [
            {"kind": e.kind, "note": e.note, "department": e.actor_label, "at": e.at}
            for e in pr.timeline
        ],
    }


MASKERS = {
    FieldKind.ID_NUMBER: mask_id_number,
    FieldKind.PHONE: mask_phone,
    FieldKind.CREDIT_CODE: mask_credit_code,
}


def masked_form(app: Application) -> dict[str, Any]:
    kinds = {f.key: f for f in app.bundle.fields.all()}
    out: dict[str, Any] = {}
    for key, value in actions.form_values(app).items():
        f = kinds.get(key)
        if f is not None and f.personal:
            masker = MASKERS.get(f.kind)  # type: ignore[call-overload]
            out[key] = masker(str(value)) if masker else "***"
        else:
            out[key] = value
    return out


def staff_task(t: ApprovalTask, *, detail: bool = False) -> dict[str, Any]:
    app = t.application
    code = app.applicant_code or ""
    out = {
        **task(t),
        "application_id": app.pk,
        "application_number": app.number,
        "bundle": app.bundle.name,
        "applicant_name": app.applicant_name,
        "applicant_code": mask_credit_code(code)
        if len(code) == 18 and not code[:17].isdigit()
        else mask_id_number(code),
        "claimed_by": t.claimed_by.get_username() if t.claimed_by_id and t.claimed_by else "",
        "overdue": bool(
            t.due_at
            and t.state in (TaskState.PENDING, TaskState.CLAIMED)
            and t.due_at < timezone.now()
        ),
    }
    if detail:
        out["form"] = masked_form(app)
        out["answers"] = app.answers
        out["commitment"] = app.commitment
        out["materials"] = [
            material(am)
            for am in app.materials.select_related("material__implementation__matter")
            if am.material.implementation_id == t.implementation_id
            and am.state != MaterialState.NOT_NEEDED
        ]
    return out
