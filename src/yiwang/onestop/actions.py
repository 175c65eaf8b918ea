"""Writes of 一网通办: start, fill, upload, submit an application; claim, approve, reject,
request supplements on a department's task; answer supplements; the deadline sweep.

Every action is atomic and audited; the applicant's timeline records each step under the
department's name (never a staff member's); events are published after commit
(``onestop.submitted``, ``onestop.task_changed``, ``onestop.matter_completed``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.cn import ric, uscc

from yiwang.accounts.models import User
from yiwang.accounts.roles import Cap, Role
from yiwang.cases.calendar import SHANGHAI, WorkCalendar
from yiwang.core import audit, events
from yiwang.core.errors import Conflict, Errors, Forbidden, NotFound, ValidationFailed
from yiwang.onestop import prefill as prefill_mod
from yiwang.onestop import situations, workflow
from yiwang.onestop.models import (
    Application,
    ApplicationMaterial,
    ApplicationStatus,
    ApprovalTask,
    Bundle,
    BundleStatus,
    FieldKind,
    FormField,
    Material,
    MaterialSource,
    MaterialState,
    SupplementRequest,
    TaskState,
    TimelineEntry,
)

CALENDAR = WorkCalendar()
ANSWER_LABEL = gettext_lazy("your answer above")
MAX_ANSWER_TEXT = 2000
#: magic bytes of the formats materials may come in
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "ofd": (b"PK\x03\x04",),
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "ofd": "application/ofd",
}


# --- The bundle as plain data ------------------------------------------------------------------
def questions_of(bundle: Bundle) -> list[situations.Question]:
    return [
        situations.Question(
            key=q.key,
            text=q.text,
            text_en=q.text_en,
            kind=q.kind,
            choices=tuple(str(c.get("value")) for c in q.choices or []),
            shown_when=q.shown_when,
        )
        for q in bundle.questions.all()
    ]


@dataclass
class Plan:
    """What the answers decide for one bundle."""

    situation: situations.Situation
    items: list[Any]  # BundleItem rows that apply
    undecided: list[Any]  # items whose condition needs answers not yet given
    fields: list[FormField]
    materials: list[Material]


def plan(bundle: Bundle, answers: Mapping[str, Any]) -> Plan:
    qs = questions_of(bundle)
    items = list(
        bundle.items.select_related("implementation__department", "implementation__matter")
    )
    fields = list(bundle.fields.all())
    s = situations.decide(qs, answers, [])
    chosen, undecided = [], []
    for item in items:
        verdict = situations.holds(item.applies_when, qs, answers)
        if verdict is True:
            chosen.append(item)
        elif verdict is None:
            undecided.append(item)
    impl_ids = [i.implementation_id for i in chosen]
    materials = [
        m
        for m in Material.objects.filter(implementation_id__in=impl_ids).select_related(
            "implementation"
        )
        if situations.holds(m.applies_when, qs, answers) is True
    ]
    materials.sort(key=lambda m: (impl_ids.index(m.implementation_id), m.order, m.pk))
    shown_fields = [f for f in fields if situations.holds(f.applies_when, qs, answers) is True]
    return Plan(s, chosen, undecided, shown_fields, materials)


# --- Validation of the form ----------------------------------------------------------------------
def _clean_field(f: FormField, raw: Any, errors: Errors) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    if f.kind == FieldKind.NUMBER:
        try:
            number = float(text)
        except ValueError:
            errors.add(f.key, _("Enter a number."))
            return None
        if number < 0:
            errors.add(f.key, _("Enter a number that is not negative."))
            return None
        return int(number) if number.is_integer() else number
    if f.kind == FieldKind.DATE:
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            errors.add(f.key, _("Enter a date as YYYY-MM-DD."))
            return None
    if f.kind == FieldKind.CHOICE:
        allowed = [str(c.get("value")) for c in f.choices or []]
        if text not in allowed:
            errors.add(f.key, _("Choose one of the listed values."))
            return None
        return text
    if f.kind == FieldKind.ID_NUMBER:
        if not ric.is_valid(text.upper()):
            errors.add(f.key, _("This is not a valid resident ID number."))
            return None
        return text.upper()
    if f.kind == FieldKind.CREDIT_CODE:
        if not uscc.is_valid(text.upper()):
            errors.add(f.key, _("This is not a valid unified social credit code."))
            return None
        return text.upper()
    if f.kind == FieldKind.PHONE:
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) != 11 or not digits.startswith("1"):
            errors.add(f.key, _("Enter an 11-digit mobile number."))
            return None
        return digits
    if len(text) > f.max_length:
        errors.add(f.key, _("At most %(n)d characters.") % {"n": f.max_length})
        return None
    return text


def _split_form(app: Application) -> dict[str, Any]:
    values = dict(app.form or {})
    if app.sealed_fields:
        values.update(json.loads(app.sealed_fields))
    return values


def _store_form(app: Application, values: Mapping[str, Any], personal: set[str]) -> None:
    app.form = {k: v for k, v in values.items() if k not in personal}
    sealed = {k: v for k, v in values.items() if k in personal}
    app.sealed_fields = json.dumps(sealed, ensure_ascii=False) if sealed else ""


def form_values(app: Application) -> dict[str, Any]:
    """All form values (personal ones unsealed) — for the applicant and deciding staff."""
    return _split_form(app)


# --- Helpers -------------------------------------------------------------------------------------
def _timeline(
    app: Application, kind: str, note: str = "", *, task: Any = None, label: str = ""
) -> None:
    TimelineEntry.objects.create(
        application=app, task=task, kind=kind, note=note, actor_label=label, at=timezone.now()
    )


def _new_number() -> str:
    local = timezone.now().astimezone(SHANGHAI)
    return f"YW{local:%Y%m%d}{secrets.randbelow(10**8):08d}"


def _own(actor: User, application_id: int, *, lock: bool = False) -> Application:
    qs = Application.objects.filter(pk=application_id, applicant=actor)
    if lock:
        qs = qs.select_for_update(of=("self",))
    app = qs.select_related("bundle").first()
    if app is None:
        raise NotFound()
    return app


def _require_portal(actor: User) -> None:
    if not actor.is_authenticated or not actor.can(Cap.PORTAL):
        raise Forbidden(_("Sign in as a resident or enterprise to apply."))


def _sync_materials(app: Application, p: Plan) -> None:
    """Bring the application's material rows in line with the plan, keeping uploads."""
    issued_here = {
        i.implementation.certificate_type for i in p.items if i.implementation.certificate_type
    }
    wanted = {m.pk: m for m in p.materials}
    existing = {am.material_id: am for am in app.materials.all()}
    for mid, am in existing.items():
        if mid not in wanted and am.state != MaterialState.NOT_NEEDED:
            am.state = MaterialState.NOT_NEEDED
            am.save(update_fields=["state"])
    for mid, m in wanted.items():
        am = existing.get(mid) or ApplicationMaterial(application=app, material=m)
        if am.file:
            am.state = MaterialState.UPLOADED
        else:
            waiver = prefill_mod.Waiver(False)
            if m.source in (MaterialSource.CERTIFICATE, MaterialSource.GOVERNMENT) and m.source_ref:
                waiver = prefill_mod.certificate_waiver(app.applicant, m.source_ref, issued_here)
            elif m.source == MaterialSource.SHARED:
                waiver = prefill_mod.shared_waiver(app.applicant, m.source_ref)
            if waiver.waived:
                am.state, am.waived_by = MaterialState.WAIVED, waiver.by
            elif am.state not in (MaterialState.DEFERRED,):
                am.state, am.waived_by = MaterialState.MISSING, ""
        am.save()


# --- Applicant actions ---------------------------------------------------------------------------
def do_start_application(
    *, actor: User, bundle_code: str, idempotency_key: str = ""
) -> Application:
    """A draft for ``bundle_code`` with the form prefilled; a retry with the same key returns
    the same draft."""
    _require_portal(actor)
    bundle = Bundle.objects.filter(code=bundle_code, status=BundleStatus.PUBLISHED).first()
    if bundle is None:
        raise NotFound()
    key = (idempotency_key or "")[:80]
    if key:
        found = Application.objects.filter(applicant=actor, idempotency_key=key).first()
        if found is not None:
            return found
    fields = list(bundle.fields.all())
    number = _new_number()
    # The shared data is fetched before the draft's transaction: each exchange message is
    # counted, logged and audited in its own short transaction (the grant's row is locked
    # only for the count, not until this draft commits), and the record that the data was
    # read stays even if creating the draft fails after it.
    got = prefill_mod.prefill_form(
        actor,
        fields,
        department=bundle.lead_department,
        purpose=_("Prefilling the application form for the applicant"),
        ref=f"onestop:{number}",
    )
    try:
        with transaction.atomic():
            app = Application(
                number=number,
                bundle=bundle,
                bundle_version=bundle.version,
                applicant=actor,
                applicant_name=(actor.enterprise_name if actor.role == Role.ENTERPRISE else "")
                or actor.display_name
                or actor.get_username(),
                applicant_code=prefill_mod.subject_code(actor),
                idempotency_key=key,
            )
            app.save()
            _store_form(app, got.values, {f.key for f in fields if f.personal})
            app.prefilled = got.sources
            app.save(update_fields=["form", "sealed_fields", "prefilled"])
            _sync_materials(app, plan(bundle, {}))
            _timeline(app, "started")
            audit.record(
                "onestop.application_started",
                actor=actor,
                obj=app,
                purpose="one-stop service application",
                fields=sorted(got.values),
                detail={"bundle": bundle.code, "prefilled": sorted(got.sources)},
            )
    except IntegrityError:
        found = Application.objects.filter(applicant=actor, idempotency_key=key).first()
        if key and found is not None:
            return found
        raise
    return app


def do_save_draft(
    *,
    actor: User,
    application_id: int,
    answers: Mapping[str, Any] | None = None,
    form: Mapping[str, Any] | None = None,
) -> tuple[Application, dict[str, list[str]]]:
    """Save answers and form values as given; the field problems found are returned (a draft
    may be incomplete and is saved anyway; a value that is not valid is not kept)."""
    errors = Errors()
    with transaction.atomic():
        app = _own(actor, application_id, lock=True)
        if app.status != ApplicationStatus.DRAFT:
            raise Conflict(_("This application has been submitted; it can no longer be edited."))
        qs = questions_of(app.bundle)
        if answers is not None:
            raw = {**app.answers, **answers}
            cleaned, bad = situations.clean_answers(qs, raw)
            for key, kind in bad.items():
                errors.add(f"answers.{key}", _answer_message(kind))
            app.answers = cleaned
        p = plan(app.bundle, app.answers)
        known = {f.key: f for f in app.bundle.fields.all()}
        values = _split_form(app)
        # a form field named like a situation question takes the answer: asked once
        for key, answer in app.answers.items():
            if key in known:
                values[key] = answer
                app.prefilled[key] = {"source": f"answer:{key}", "label": str(ANSWER_LABEL)}
        if form is not None:
            for key, raw_value in form.items():
                f = known.get(key)
                if f is None or key in app.answers:
                    continue
                value = _clean_field(f, raw_value, errors)
                if value is None and key in errors:
                    continue
                if value is None:
                    values.pop(key, None)
                else:
                    if values.get(key) != value and key in app.prefilled:
                        app.prefilled[key]["changed"] = "true"
                    values[key] = value
        _store_form(app, values, {k for k, f in known.items() if f.personal})
        app.save()
        _sync_materials(app, p)
        audit.record(
            "onestop.draft_saved",
            actor=actor,
            obj=app,
            purpose="one-stop service application",
            fields=sorted((form or {}).keys()),
        )
    return app, dict(errors)


def _answer_message(kind: str) -> str:
    return {
        "yes_no": _("Answer yes or no."),
        "choice": _("Choose one of the listed answers."),
        "number": _("Enter a number that is not negative."),
    }.get(kind, _("Not a valid answer."))


def check_upload(material: Material, name: str, data: bytes) -> list[str]:
    """Problems with one file for one material: format by extension and content, size."""
    problems: list[str] = []
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    formats = [f.lower() for f in (material.formats or ["pdf", "jpg", "png"])]
    if ext not in formats:
        problems.append(
            _("%(name)s: accepted formats are %(formats)s.")
            % {"name": name, "formats": ", ".join(formats)}
        )
    elif not any(data.startswith(sig) for sig in SIGNATURES.get(ext, (b"",))):
        problems.append(
            _("%(name)s: the content is not a %(fmt)s file.") % {"name": name, "fmt": ext}
        )
    if len(data) > material.max_size_kb * 1024:
        problems.append(
            _("%(name)s is %(size)d KB; at most %(max)d KB.")
            % {"name": name, "size": (len(data) + 1023) // 1024, "max": material.max_size_kb}
        )
    if not data:
        problems.append(_("%(name)s is empty.") % {"name": name})
    return problems


def do_upload_material(
    *, actor: User, application_id: int, material_id: int, name: str, data: bytes
) -> ApplicationMaterial:
    """Attach one file to a material of an application in draft or under supplement."""
    from django.core.files.base import ContentFile

    with transaction.atomic():
        app = _own(actor, application_id, lock=True)
        if app.status not in (ApplicationStatus.DRAFT, ApplicationStatus.SUPPLEMENT):
            raise Conflict(_("Materials can be added only to a draft or when asked to."))
        am = (
            app.materials.select_related("material")
            .filter(material_id=material_id)
            .exclude(state=MaterialState.NOT_NEEDED)
            .first()
        )
        if am is None:
            raise ValidationFailed(
                fields={"material": [_("This material is not part of this application.")]}
            )
        problems = check_upload(am.material, name, data)
        if problems:
            raise ValidationFailed(fields={f"materials.{am.material.key}": problems})
        ext = name.rsplit(".", 1)[-1].lower()
        if am.file and not app.materials.filter(file=am.file.name).exclude(pk=am.pk).exists():
            am.file.delete(save=False)
        digest = hashlib.sha256(data).hexdigest()
        am.file.save(
            f"{app.number}-{am.material.key}-{digest[:12]}.{ext}", ContentFile(data), save=False
        )
        am.file_name = name[:200]
        am.content_type = CONTENT_TYPES.get(ext, "application/octet-stream")
        am.size = len(data)
        am.sha256 = digest
        am.uploaded_at = timezone.now()
        am.state = MaterialState.UPLOADED
        am.waived_by = ""
        am.save()
        shared = _share_upload(app, am, name, data)
        audit.record(
            "onestop.material_uploaded",
            actor=actor,
            obj=app,
            purpose="one-stop service application",
            detail={
                "material": am.material.key,
                "size": am.size,
                "sha256": digest,
                "also_for": shared,
            },
        )
    return am


def _share_upload(app: Application, am: ApplicationMaterial, name: str, data: bytes) -> list[int]:
    """One set of materials: the same material (same key) asked by other matters of the
    application takes the same file, where its own format and size rules accept it."""
    shared = []
    siblings = (
        app.materials.select_related("material")
        .filter(material__key=am.material.key)
        .exclude(pk=am.pk)
        .exclude(state__in=[MaterialState.NOT_NEEDED, MaterialState.WAIVED])
    )
    for other in siblings:
        if check_upload(other.material, name, data):
            continue
        other.file.name = am.file.name
        other.file_name, other.content_type = am.file_name, am.content_type
        other.size, other.sha256, other.uploaded_at = am.size, am.sha256, am.uploaded_at
        other.state, other.waived_by = MaterialState.UPLOADED, ""
        other.save()
        shared.append(other.material.implementation_id)
    return shared


def submission_problems(app: Application, p: Plan, *, commitment: bool) -> Errors:
    errors = Errors()
    for q in p.situation.unanswered:
        errors.add(f"answers.{q.key}", _("Answer this question."))
    if not p.items and not p.undecided:
        errors.add("answers", _("By these answers no matter of this bundle applies."))
    values = _split_form(app)
    for f in p.fields:
        if f.required and values.get(f.key) in (None, ""):
            errors.add(f.key, _("This field is required."))
    for am in app.materials.select_related("material"):
        m = am.material
        if am.state in (MaterialState.NOT_NEEDED, MaterialState.WAIVED, MaterialState.UPLOADED):
            continue
        if not m.required:
            continue
        if m.deferrable and commitment:
            continue
        if m.deferrable:
            errors.add(
                f"materials.{m.key}",
                _("Upload it, or sign the commitment to provide it later (容缺受理)."),
            )
        else:
            errors.add(f"materials.{m.key}", _("This material is required."))
    return errors


def _due(start: dt.datetime, days: int) -> dt.datetime:
    return CALENDAR.add_days(start, days)


def do_submit_application(
    *, actor: User, application_id: int, commitment: bool = False
) -> Application:
    """Submit once: check everything, then open one task per applicable matter (stage 1
    pending, later stages waiting) with its promised working-day deadline."""
    now = timezone.now()
    with transaction.atomic():
        app = _own(actor, application_id, lock=True)
        if app.status != ApplicationStatus.DRAFT:
            raise Conflict(_("This application has already been submitted."))
        p = plan(app.bundle, app.answers)
        _sync_materials(app, p)
        errors = submission_problems(app, p, commitment=commitment)
        if p.undecided:
            errors.add("answers", _("Answer the remaining questions."))
        errors.raise_if_any()
        deferred = []
        for am in app.materials.select_related("material").filter(state=MaterialState.MISSING):
            if am.material.deferrable and commitment and am.material.required:
                am.state = MaterialState.DEFERRED
                am.save(update_fields=["state"])
                deferred.append(am.material.key)
        first = min(i.stage for i in p.items)
        for item in p.items:
            impl = item.implementation
            active = item.stage == first
            task = ApprovalTask.objects.create(
                application=app,
                implementation=impl,
                implementation_version=impl.version,
                department=impl.department,
                stage=item.stage,
                state=TaskState.PENDING if active else TaskState.WAITING,
                started_at=now if active else None,
                due_at=_due(now, impl.promised_limit) if active else None,
            )
            _timeline(
                app,
                "task_opened" if active else "task_waiting",
                impl.matter.name,
                task=task,
                label=impl.department.name,
            )
        app.status = ApplicationStatus.SUBMITTED
        app.submitted_at = now
        app.commitment = bool(commitment and deferred)
        app.save()
        _timeline(app, "submitted", ", ".join(deferred))
        audit.record(
            "onestop.application_submitted",
            actor=actor,
            obj=app,
            purpose="one-stop service application",
            detail={
                "bundle": app.bundle.code,
                "matters": [i.implementation.code for i in p.items],
                "deferred": deferred,
            },
        )
        events.publish("onestop.submitted", {"application_id": app.pk})
    return app


def do_answer_supplement(*, actor: User, application_id: int, note: str = "") -> Application:
    """The applicant has provided what was asked (files through ``do_upload_material``); every
    task waiting on a supplement resumes with its clock moved by the paused time."""
    note = (note or "").strip()
    if len(note) > MAX_ANSWER_TEXT:
        raise ValidationFailed(fields={"note": [_("At most 2000 characters.")]})
    now = timezone.now()
    with transaction.atomic():
        app = _own(actor, application_id, lock=True)
        waiting = list(
            app.tasks.select_for_update(of=("self",))
            .filter(state=TaskState.SUPPLEMENT)
            .select_related("department")
        )
        if not waiting:
            raise Conflict(_("No department is waiting for a supplement."))
        for task in waiting:
            req = task.supplements.filter(answered_at__isnull=True).first()
            if req is not None:
                missing = [
                    key
                    for key in req.materials
                    if not app.materials.filter(
                        material__key=key,
                        material__implementation=task.implementation,
                        state=MaterialState.UPLOADED,
                        uploaded_at__gt=req.requested_at,
                    ).exists()
                ]
                if missing:
                    raise ValidationFailed(
                        fields={
                            f"materials.{k}": [_("Upload the new file asked for.")] for k in missing
                        }
                    )
                req.answered_at, req.answer = now, note
                req.save(update_fields=["answered_at", "answer"])
            workflow.fire(task, "resume")
            if task.due_at and task.paused_at:
                task.due_at = CALENDAR.resume_due(task.due_at, task.paused_at, now)
            task.paused_at = None
            task.version += 1
            task.save()
            _timeline(app, "supplement_answered", note, task=task, label=task.department.name)
        _refresh_status(app)
        audit.record(
            "onestop.supplement_answered",
            actor=actor,
            obj=app,
            purpose="one-stop service application",
            detail={"tasks": [t.pk for t in waiting]},
        )
        events.publish("onestop.task_changed", {"application_id": app.pk})
    return app


def do_withdraw_application(*, actor: User, application_id: int) -> Application:
    with transaction.atomic():
        app = _own(actor, application_id, lock=True)
        if app.status in (
            ApplicationStatus.COMPLETED,
            ApplicationStatus.PARTLY,
            ApplicationStatus.REJECTED,
            ApplicationStatus.WITHDRAWN,
        ):
            raise Conflict(_("This application is already finished."))
        for task in app.tasks.select_for_update(of=("self",)):
            if task.state in workflow.OPEN:
                workflow.fire(task, "cancel")
                task.save()
        app.status = ApplicationStatus.WITHDRAWN
        app.save(update_fields=["status", "updated_at"])
        _timeline(app, "withdrawn")
        audit.record("onestop.application_withdrawn", actor=actor, obj=app)
    return app


# --- Department actions --------------------------------------------------------------------------
STAFF_ROLES = (Role.DEPT_STAFF, Role.DEPT_LEADER)


def _task_for_update(actor: User, task_id: int) -> ApprovalTask:
    if not actor.is_authenticated or actor.role not in STAFF_ROLES or not actor.department_id:
        raise NotFound()
    # Lock order everywhere: the application, then its tasks — two departments deciding on
    # one application at once take turns instead of deadlocking.
    app_id = (
        ApprovalTask.objects.filter(pk=task_id).values_list("application_id", flat=True).first()
    )
    if app_id is None:
        raise NotFound()
    list(
        Application.objects.select_for_update(of=("self",))
        .filter(pk=app_id)
        .values_list("pk", flat=True)
    )
    task = (
        ApprovalTask.objects.select_for_update(of=("self",))
        .select_related("application__bundle", "department", "implementation__matter")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise NotFound()
    if task.department_id != actor.department_id:
        sees_application = ApprovalTask.objects.filter(
            application_id=task.application_id, department_id=actor.department_id
        ).exists()
        if not sees_application:
            raise NotFound()
        raise Forbidden(
            _("This task belongs to %(dept)s; only its staff may act on it.")
            % {"dept": task.department.name}
        )
    return task


def _step(task: ApprovalTask, event: str) -> None:
    try:
        workflow.fire(task, event)
    except workflow.StepNotAllowed as exc:
        raise Conflict(
            _("This step is not possible while the task is “%(state)s”.")
            % {"state": TaskState(exc.state).label}
        ) from exc


def _check_version(task: ApprovalTask, expected: int | None) -> None:
    if expected is not None and expected != task.version:
        raise Conflict(_("Someone else changed this task; reload it and try again."))


def do_claim_task(*, actor: User, task_id: int, version: int | None = None) -> ApprovalTask:
    with transaction.atomic():
        task = _task_for_update(actor, task_id)
        _check_version(task, version)
        _step(task, "claim")
        task.claimed_by = actor
        task.version += 1
        task.save()
        _refresh_status(task.application)
        _timeline(task.application, "task_claimed", task=task, label=task.department.name)
        audit.record("onestop.task_claimed", actor=actor, obj=task, purpose="approval")
    return task


def do_release_task(*, actor: User, task_id: int) -> ApprovalTask:
    with transaction.atomic():
        task = _task_for_update(actor, task_id)
        _step(task, "release")
        task.claimed_by = None
        task.version += 1
        task.save()
        _refresh_status(task.application)
        audit.record("onestop.task_released", actor=actor, obj=task, purpose="approval")
    return task


def _require_claimant(actor: User, task: ApprovalTask) -> None:
    if task.claimed_by_id not in (None, actor.pk) and actor.role != Role.DEPT_LEADER:
        raise Forbidden(_("Another member of staff has claimed this task."))


def do_request_supplement(
    *, actor: User, task_id: int, note: str, materials: list[str] | None = None
) -> ApprovalTask:
    """补正: ask the applicant for more; the task's clock pauses until they answer."""
    note = (note or "").strip()
    errors = Errors()
    if not note:
        errors.add("note", _("Say what is needed."))
    elif len(note) > MAX_ANSWER_TEXT:
        errors.add("note", _("At most 2000 characters."))
    now = timezone.now()
    with transaction.atomic():
        task = _task_for_update(actor, task_id)
        keys = set(
            Material.objects.filter(implementation=task.implementation).values_list(
                "key", flat=True
            )
        )
        unknown = [k for k in materials or [] if k not in keys]
        if unknown:
            errors.add(
                "materials",
                _("Not materials of this matter: %(keys)s") % {"keys": ", ".join(unknown)},
            )
        errors.raise_if_any()
        _require_claimant(actor, task)
        _step(task, "request_supplement")
        task.paused_at = now
        task.version += 1
        task.save()
        SupplementRequest.objects.create(
            task=task,
            materials=list(materials or []),
            note=note,
            requested_by=actor,
            requested_at=now,
        )
        app = task.application
        app.materials.filter(
            material__key__in=materials or [], material__implementation=task.implementation
        ).update(state=MaterialState.MISSING)
        _refresh_status(app)
        _timeline(app, "supplement_requested", note, task=task, label=task.department.name)
        audit.record(
            "onestop.supplement_requested",
            actor=actor,
            obj=task,
            purpose="approval",
            detail={"materials": list(materials or [])},
        )
        events.publish("onestop.task_changed", {"application_id": app.pk, "task_id": task.pk})
    return task


def do_decide_task(
    *, actor: User, task_id: int, approve: bool, reason: str = "", version: int | None = None
) -> ApprovalTask:
    """Approve (issuing the matter's electronic certificate, if it has one) or reject with a
    reason. The application's status follows; under "any" the other tasks are cancelled; the
    next stage opens when this one is done."""
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationFailed(fields={"reason": [_("Give the reason for the rejection.")]})
    if len(reason) > MAX_ANSWER_TEXT:
        raise ValidationFailed(fields={"reason": [_("At most 2000 characters.")]})
    now = timezone.now()
    completed: list[dict[str, Any]] = []
    with transaction.atomic():
        task = _task_for_update(actor, task_id)
        _check_version(task, version)
        _require_claimant(actor, task)
        _step(task, "approve" if approve else "reject")
        task.decided_at, task.decided_by, task.reason = now, actor, reason
        task.version += 1
        app = task.application
        if approve and task.implementation.certificate_type:
            task.certificate_id = _issue_certificate(actor, task)
        task.save()
        _timeline(
            app,
            "task_approved" if approve else "task_rejected",
            reason or task.certificate_id,
            task=task,
            label=task.department.name,
        )
        if approve:
            completed.append(_completion_payload(app, task, now))
        _advance(app, now)
        audit.record(
            "onestop.task_approved" if approve else "onestop.task_rejected",
            actor=actor,
            obj=task,
            purpose="approval",
            detail={"application": app.number, "certificate": task.certificate_id},
        )
        for payload in completed:
            events.publish("onestop.matter_completed", payload)
        events.publish("onestop.task_changed", {"application_id": app.pk, "task_id": task.pk})
    return task


def _completion_payload(app: Application, task: ApprovalTask, now: dt.datetime) -> dict[str, Any]:
    return {
        "service_ref": f"onestop.approvaltask:{task.pk}",
        "application_no": app.number,
        "matter_code": task.implementation.code,
        "matter_name": task.implementation.matter.name,
        "department_id": task.department_id,
        "department_name": task.department.name,
        "applicant_user_id": app.applicant_id,
        "channel": "online",
        "completed_at": now.astimezone(dt.UTC).isoformat(),
    }


def _issue_certificate(actor: User, task: ApprovalTask) -> str:
    if not apps.is_installed("yiwang.certs"):
        return ""
    from yiwang.certs.actions import do_issue_certificate

    app = task.application
    values = _split_form(app)
    data = {
        target: values.get(source)
        for source, target in (task.implementation.certificate_fields or {}).items()
        if values.get(source) not in (None, "")
    }
    enterprise = app.applicant.role == Role.ENTERPRISE
    cert = do_issue_certificate(
        actor=actor,
        type_code=task.implementation.certificate_type,
        holder_name=app.applicant_name,
        holder_code=app.applicant_code,
        holder_code_type="uscc" if enterprise else "ric",
        holder_user=app.applicant,
        issuing_department=task.department,
        data=data,
        valid_from=timezone.now().astimezone(SHANGHAI).date(),
        valid_to=None,
        area_code=(task.department.division.code if task.department.division_id else "")[:6],
        source_ref=f"onestop.approvaltask:{task.pk}",
    )
    return str(cert.identifier)


def _advance(app: Application, now: dt.datetime) -> None:
    tasks = list(
        app.tasks.select_for_update(of=("self",)).select_related("implementation", "department")
    )
    completion = app.bundle.completion
    if completion == "any" and any(t.state == TaskState.APPROVED for t in tasks):
        for t in tasks:
            if t.state in workflow.OPEN:
                workflow.fire(t, "cancel")
                t.save()
                _timeline(app, "task_cancelled", task=t, label=t.department.name)
    elif workflow.blocked_by_rejection(tasks, completion):
        for t in tasks:
            if t.state == TaskState.WAITING:
                workflow.fire(t, "cancel")
                t.save()
                _timeline(app, "task_cancelled", task=t, label=t.department.name)
    stage = workflow.next_stage(tasks)
    if stage is not None:
        for t in tasks:
            if t.stage == stage and t.state == TaskState.WAITING:
                workflow.fire(t, "activate")
                t.started_at = now
                t.due_at = _due(now, t.implementation.promised_limit)
                t.save()
                _timeline(app, "task_opened", task=t, label=t.department.name)
    _refresh_status(app, tasks)


def _refresh_status(app: Application, tasks: list[ApprovalTask] | None = None) -> None:
    if app.status == ApplicationStatus.WITHDRAWN:
        return
    tasks = tasks if tasks is not None else list(app.tasks.all())
    status = workflow.application_status(tasks, app.bundle.completion)
    if status != app.status:
        app.status = status
        if status in (
            ApplicationStatus.COMPLETED,
            ApplicationStatus.PARTLY,
            ApplicationStatus.REJECTED,
        ):
            app.completed_at = timezone.now()
            _timeline(app, "finished", str(ApplicationStatus(status).label))
        app.save(update_fields=["status", "completed_at", "updated_at"])


# --- Deadlines -----------------------------------------------------------------------------------
def do_sweep_deadlines(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Remind a department one working day before a task falls due; escalate an overdue task
    to the department's leaders and the bundle's lead department. Paused tasks (补正) are
    skipped; each task is reminded and escalated once."""
    from yiwang.core import notify

    now = now or timezone.now()
    counts = {"reminded": 0, "escalated": 0}
    soon = CALENDAR.add_days(now, 1)
    open_states = [TaskState.PENDING, TaskState.CLAIMED]
    with transaction.atomic():
        # skip_locked: a task being decided right now is left to the next sweep
        qs = ApprovalTask.objects.select_for_update(of=("self",), skip_locked=True).select_related(
            "application__bundle__lead_department", "department", "implementation__matter"
        )
        for task in qs.filter(state__in=open_states, due_at__lte=soon, reminded_at__isnull=True):
            task.reminded_at = now
            task.save(update_fields=["reminded_at"])
            _timeline(task.application, "reminded", task=task, label=task.department.name)
            _notify_staff(task, escalate=False, notify=notify)
            counts["reminded"] += 1
        for task in qs.filter(state__in=open_states, due_at__lt=now, escalated_at__isnull=True):
            task.escalated_at = now
            task.save(update_fields=["escalated_at"])
            _timeline(task.application, "escalated", task=task, label=task.department.name)
            _notify_staff(task, escalate=True, notify=notify)
            counts["escalated"] += 1
        if counts["reminded"] or counts["escalated"]:
            audit.record("onestop.deadlines_swept", detail=counts)
    return counts


def _notify_staff(task: ApprovalTask, *, escalate: bool, notify: Any) -> None:
    roles = [Role.DEPT_LEADER] if escalate else [Role.DEPT_STAFF, Role.DEPT_LEADER]
    departments = [task.department_id]
    if escalate:
        departments.append(task.application.bundle.lead_department_id)
    from yiwang.accounts.language import in_language_of

    values = {"matter": task.implementation.matter.name, "no": task.application.number}
    for user in User.objects.filter(department_id__in=departments, role__in=roles, is_active=True):
        if user.email:
            with in_language_of(user):  # ADR 0022
                subject = (
                    _("Overdue: %(matter)s, application %(no)s")
                    if escalate
                    else _("Due within one working day: %(matter)s, application %(no)s")
                ) % values
            key = f"onestop-{'esc' if escalate else 'rem'}-{task.pk}-{user.pk}"
            transaction.on_commit(_sender(notify, user.email, subject, key))


def _sender(notify: Any, to: str, subject: str, key: str) -> Any:
    def send() -> None:
        notify.send_email(to, subject, subject, key=key)

    return send
