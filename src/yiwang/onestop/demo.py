"""The demo district's 一网通办: the catalog and bundles from ``content/``, a staff member for
every department that approves, and applications in every state — the demo enterprise's
restaurant opened (every department approved, certificates issued), a second one waiting for a
supplement, the demo resident's newborn registration in review and a draft.

Idempotent: applications are made once (keyed by an idempotency key per demo applicant).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password

from yiwang.accounts import actions as account_actions
from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Role
from yiwang.core.ids import make_resident_id
from yiwang.onestop import actions
from yiwang.onestop.models import (
    Application,
    ApprovalTask,
    Bundle,
    FieldKind,
    MaterialState,
    QuestionKind,
    TaskState,
)

DEMO_PASSWORD = "Yiwang@2026"  # noqa: S105  the demo's documented password (README)
PDF = b"%PDF-1.7\n% Yiwang demo material\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@dataclass
class OnestopSeedReport:
    catalog: Any = None
    users: list[str] = field(default_factory=list)
    applications: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _staff_for(dept: Department, report: OnestopSeedReport, pw: str) -> User:
    """The department's staff member who approves in the demo (``staff_<suffix>``)."""
    found = (
        User.objects.filter(department=dept, role=Role.DEPT_STAFF, is_active=True)
        .order_by("id")
        .first()
    )
    if found is not None:
        return found
    suffix = dept.code.rsplit("-", 1)[-1]
    name = f"staff_{suffix}"
    account_actions.do_create_user(
        actor=None,
        data=account_actions.UserInput(
            username=name,
            role=Role.DEPT_STAFF,
            password=DEMO_PASSWORD,
            display_name="演示用户",
            department_code=dept.code,
            division_code=dept.division.code,
            id_number=make_resident_id(
                dept.division.code[:6], dt.date(1985, 5, 5), random.Random(suffix).randrange(999)
            ),
            email=f"{name}@demo.yiwang.invalid",
        ),
        synthetic=True,
        validated_password_hash=pw,
    )
    report.users.append(name)
    return User.objects.get(username=name)


def _answers(bundle: Bundle) -> dict[str, Any]:
    """Answers that make every matter of the bundle apply where the tree allows."""
    answers: dict[str, Any] = {}
    for _ in range(3):  # shown_when may depend on earlier answers
        p = actions.plan(bundle, answers)
        for q in p.situation.unanswered:
            model = bundle.questions.get(key=q.key)
            if model.kind == QuestionKind.YES_NO:
                answers[q.key] = True
            elif model.kind == QuestionKind.CHOICE:
                answers[q.key] = str((model.choices or [{}])[0].get("value"))
            else:
                answers[q.key] = 320
    return answers


def _value(kind: str, key: str) -> Any:
    today = dt.date.today()
    values: dict[str, Any] = {
        FieldKind.NUMBER: 120,
        FieldKind.DATE: (today - dt.timedelta(days=12)).isoformat(),
        FieldKind.ID_NUMBER: make_resident_id("330106", today - dt.timedelta(days=12), 7),
        FieldKind.PHONE: "13800138000",
        FieldKind.ADDRESS: "演示路88号",
    }
    return values.get(kind, f"演示{key}"[:30])


def _fill(app: Application, applicant: User) -> None:
    bundle = app.bundle
    answers = _answers(bundle)
    p = actions.plan(bundle, answers)
    values = actions.form_values(app)
    form: dict[str, Any] = {}
    for f in p.fields:
        if values.get(f.key) not in (None, ""):
            continue
        if f.kind == FieldKind.CHOICE:
            form[f.key] = str((f.choices or [{}])[0].get("value"))
        elif f.kind == FieldKind.CREDIT_CODE:
            form[f.key] = applicant.credit_code
        else:
            form[f.key] = _value(f.kind, f.key)
    actions.do_save_draft(actor=applicant, application_id=app.pk, answers=answers, form=form)
    for am in app.materials.select_related("material").filter(state=MaterialState.MISSING):
        m = am.material
        if m.deferrable:
            continue
        formats = [x.lower() for x in (m.formats or ["pdf"])]
        ext, data = (
            ("pdf", PDF)
            if "pdf" in formats
            else (("png", PNG) if "png" in formats else ("jpg", JPG))
        )
        actions.do_upload_material(
            actor=applicant,
            application_id=app.pk,
            material_id=m.pk,
            name=f"{m.key}.{ext}",
            data=data,
        )


def _apply(
    bundle_code: str, applicant: User, key: str, report: OnestopSeedReport, *, submit: bool = True
) -> Application | None:
    existing = Application.objects.filter(applicant=applicant, idempotency_key=key).first()
    if existing is not None:
        return None
    app = actions.do_start_application(
        actor=applicant, bundle_code=bundle_code, idempotency_key=key
    )
    _fill(app, applicant)
    if submit:
        actions.do_submit_application(actor=applicant, application_id=app.pk, commitment=True)
    report.applications.append(app.number)
    app.refresh_from_db()
    return app


def _approve_all(app: Application, staff: dict[int, User], *, except_first: bool = False) -> None:
    for round_ in range(4):  # later stages open as earlier ones finish
        open_tasks = list(
            ApprovalTask.objects.filter(application=app, state=TaskState.PENDING).order_by("id")
        )
        if not open_tasks:
            return
        for i, task in enumerate(open_tasks):
            actor = staff[task.department_id]
            actions.do_claim_task(actor=actor, task_id=task.pk)
            if except_first and round_ == 0 and i == 0:
                material = task.implementation.materials.filter(required=True).first()
                actions.do_request_supplement(
                    actor=actor,
                    task_id=task.pk,
                    note="请补充加盖公章的材料页（演示）",
                    materials=[material.key] if material else [],
                )
                continue
            actions.do_decide_task(actor=actor, task_id=task.pk, approve=True)
        if except_first:
            return


def _lead_grants(report: OnestopSeedReport, pw: str) -> None:
    """The 政务服务办 (lead of every bundle) asks the market regulator for the enterprise
    registration fields its forms prefill, and the regulator's leader approves — so the
    relocation form arrives with the legal representative and address from shared data."""
    from yiwang.exchange import actions as exchange_actions
    from yiwang.exchange.models import Dataset, Grant, GrantStatus

    ds = Dataset.objects.filter(code="scj_enterprise_registration").first()
    lead = Bundle.objects.select_related("lead_department__division").first()
    if ds is None or lead is None:
        return
    dept = lead.lead_department
    if Grant.objects.filter(
        dataset=ds, requester=dept, status__in=[GrantStatus.APPROVED, GrantStatus.NARROWED]
    ).exists():
        return
    owner = (
        User.objects.filter(department=ds.owner, role=Role.DEPT_LEADER, is_active=True)
        .order_by("id")
        .first()
    )
    if owner is None:
        return
    requester = _staff_for(dept, report, pw)
    today = dt.date.today()
    fields: list[str] = [f for f in ("name", "legal_rep", "address") if f in ds.field_names]
    grant = exchange_actions.do_request_grant(
        actor=requester,
        dataset_code=ds.code,
        fields=fields,
        purpose="一网通办：预填企业迁移等申请表，减少申请人重复填写",
        legal_basis="《优化营商环境条例》第三十五条；《国务院关于加快推进政务服务标准化规范化便利化的指导意见》",
        valid_from=today,
        valid_to=today + dt.timedelta(days=365),
        daily_quota=10000,
    )
    if grant.status == GrantStatus.REQUESTED:
        exchange_actions.do_decide_grant(actor=owner, grant_id=grant.pk, decision="approve")


def seed(*, district_code: str = "") -> OnestopSeedReport:
    from yiwang.onestop.demo_catalog import seed_catalog

    report = OnestopSeedReport()
    report.catalog = seed_catalog(district_code=district_code)
    pw = make_password(DEMO_PASSWORD)
    staff: dict[int, User] = {}
    for bundle in Bundle.objects.all():
        for item in bundle.items.select_related("implementation__department__division"):
            dept = item.implementation.department
            if dept.pk not in staff:
                staff[dept.pk] = _staff_for(dept, report, pw)
    try:
        _lead_grants(report, pw)
    except Exception as exc:  # the exchange is optional in the demo
        report.problems.append(f"grant: {exc}")
    enterprise = User.objects.filter(username="enterprise").first()
    resident = User.objects.filter(username="resident").first()
    plan = [
        (enterprise, "open-restaurant", "demo-restaurant-done", "approve"),
        (enterprise, "open-restaurant", "demo-restaurant-supplement", "supplement"),
        (enterprise, "enterprise-relocation", "demo-relocation-draft", "draft"),
        (resident, "newborn", "demo-newborn-review", "review"),
    ]
    for applicant, bundle_code, key, outcome in plan:
        if applicant is None or not Bundle.objects.filter(code=bundle_code).exists():
            continue
        try:
            app = _apply(bundle_code, applicant, key, report, submit=outcome != "draft")
        except Exception as exc:  # one demo application must not stop the seed
            report.problems.append(f"{bundle_code}: {exc}")
            continue
        if app is None:
            continue
        if outcome == "approve":
            _approve_all(app, staff)
        elif outcome == "supplement":
            _approve_all(app, staff, except_first=True)
    return report
