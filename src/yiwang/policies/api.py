"""The policies API (mounted at /api/v1/policies/): the library, items with their versions
and maker–checker steps, matching (preview, per item, per enterprise, calculator), the
enterprise profile, facts, corrections, inbox and preferences. Thin: schema in →
action/selector → out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import File, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from yiwang.accounts.models import Department
from yiwang.accounts.roles import Cap
from yiwang.core.api import AUTH, PageNumber, error_responses
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.policies import actions, factstore, matching, selectors
from yiwang.policies.models import (
    ItemStatus,
    PolicyDelivery,
    PolicyDocument,
    PolicyItem,
    PolicyItemVersion,
    VersionStatus,
)
from yiwang.policies.profile import today
from yiwang.policies.schemas import (
    AttachmentOut,
    CalculatorIn,
    CorrectionIn,
    CorrectionOut,
    DecisionIn,
    DeliveryOut,
    DocumentDetailOut,
    DocumentIn,
    DocumentOut,
    DocumentPatch,
    EnterpriseMatchOut,
    FactIn,
    FactOut,
    ItemDetailOut,
    ItemIn,
    ItemMatchesOut,
    ItemOut,
    ItemPatch,
    NoteIn,
    PreferenceIn,
    PreferenceOut,
    PreviewIn,
    ProfileOut,
    ReasonIn,
    RuleIn,
    SummaryOut,
    VersionOut,
)
from yiwang.registry.models import Organisation
from yiwang.rules import RuleError
from yiwang.rules.errors import FactError

router = Router(tags=["policies"])
ERRORS: dict[int, Any] = error_responses(409)


def _anyone(request: HttpRequest) -> bool:
    """The library is public: after the session and token checks, anonymous callers pass."""
    return True


PUBLIC = [*AUTH, _anyone]


def _lang(request: HttpRequest, lang: str = "") -> str:
    return lang or translation.get_language() or "zh-hans"


# --- output helpers -----------------------------------------------------------------------------
def _dept(d: Department) -> dict[str, Any]:
    return {"id": d.pk, "code": d.code, "name": d.name}


def _document(d: PolicyDocument) -> dict[str, Any]:
    return {
        "id": d.pk,
        "title": d.title,
        "doc_number": d.doc_number,
        "issuer_names": d.issuer_names,
        "issuers": [_dept(x) for x in d.issuers.all()],
        "issued_on": d.issued_on,
        "effective_from": d.effective_from,
        "effective_to": d.effective_to,
        "region_code": d.region.code,
        "region_name": d.region.name,
        "source_url": d.source_url,
        "synthetic": d.synthetic,
    }


def _attachment(a: Any) -> dict[str, Any]:
    return {"id": a.pk, "name": a.name, "url": a.file.url, "sha256": a.sha256, "size": a.size}


def _is_open(i: PolicyItem) -> bool:
    day = today()
    return (
        i.status == ItemStatus.PUBLISHED
        and (i.closes_on is None or i.closes_on >= day)
        and (i.opens_on is None or i.opens_on <= day)
    )


def _item(i: PolicyItem) -> dict[str, Any]:
    return {
        "id": i.pk,
        "code": i.code,
        "title": i.title,
        "benefit_type": i.benefit_type,
        "target": i.target,
        "status": i.status,
        "document_id": i.document_id,
        "document_title": i.document.title,
        "department": _dept(i.department),
        "summary": i.summary,
        "opens_on": i.opens_on,
        "closes_on": i.closes_on,
        "no_application": i.no_application,
        "published_version": i.published_version.number if i.published_version else None,
        "is_open": _is_open(i),
    }


def _who(u: Any) -> str:
    return u.get_username() if u is not None else ""


def _version(v: PolicyItemVersion) -> dict[str, Any]:
    return {
        "number": v.number,
        "status": v.status,
        "rule": v.rule,
        "diff": v.diff or {},
        "created_by": _who(v.created_by),
        "created_at": v.created_at,
        "submitted_by": _who(v.submitted_by),
        "submitted_at": v.submitted_at,
        "reviewed_by": _who(v.reviewed_by),
        "reviewed_at": v.reviewed_at,
        "review_note": v.review_note,
    }


def _atoms(v: PolicyItemVersion | None) -> list[dict[str, Any]]:
    if v is None:
        return []
    try:
        rule = matching.rule_of(v)
    except (RuleError, ValueError):
        return []
    return [
        {
            "id": a.id,
            "kind": a.kind,
            "label": {"zh": a.label.zh, "en": a.label.en},
            "clause": a.clause,
            "fact": a.ref.text if a.ref is not None else None,
            "test": {"zh": a.shown[0], "en": a.shown[1]},
            "expr": a.expr,
        }
        for a in rule.iter_atoms()
    ]


def _item_detail(actor: Any, i: PolicyItem) -> dict[str, Any]:
    staff = (
        selectors.is_policy_staff(actor)
        and PolicyItem.objects.filter(selectors.staff_item_q(actor), pk=i.pk).exists()
    )
    versions = i.versions.select_related("created_by", "submitted_by", "reviewed_by")
    if not staff:
        versions = versions.filter(status__in=(VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED))
    shown = i.published_version or (i.current_version if staff else None)
    out = _item(i)
    out["rule"] = shown.rule if shown else None
    out["atoms"] = _atoms(shown)
    out["versions"] = [_version(v) for v in versions.order_by("number")]
    return out


def _correction(c: Any) -> dict[str, Any]:
    return {
        "id": c.pk,
        "organisation_id": c.organisation_id,
        "organisation_name": c.organisation.name,
        "name": c.name,
        "period": c.period,
        "value": c.value,
        "reason": c.reason,
        "status": c.status,
        "requested_at": c.requested_at,
        "decided_at": c.decided_at,
        "note": c.note,
    }


def _delivery(d: PolicyDelivery) -> dict[str, Any]:
    return {
        "id": d.pk,
        "item": d.item_id,
        "code": d.item.code,
        "title": d.item.title,
        "verdict": d.verdict,
        "version": d.version.number,
        "delivered_at": d.delivered_at,
        "read_at": d.read_at,
        "channels": d.channels or [],
        "closes_on": d.item.closes_on,
    }


def _rule_error(e: RuleError) -> ValidationFailed:
    return ValidationFailed(fields={"rule": actions.rule_problems(e.problems)})


# --- documents ----------------------------------------------------------------------------------
@router.get(
    "/documents",
    auth=PUBLIC,
    response={200: list[DocumentOut], **ERRORS},
    summary="Policy documents (public; staff also see their territory's drafts)",
)
@paginate(PageNumber)
def list_documents(
    request: HttpRequest, department: int | None = None, region: str = "", q: str = ""
) -> Any:
    f = selectors.DocumentFilters(department=department, region=region, q=q)
    qs = selectors.documents(request.user, f).select_related("region").prefetch_related("issuers")
    return [_document(d) for d in qs]


@router.get(
    "/documents/{document_id}",
    auth=PUBLIC,
    response={200: DocumentDetailOut, **ERRORS},
    summary="A policy document with its full text, 解读 and items",
)
def get_document(request: HttpRequest, document_id: int) -> Any:
    d = selectors.document(request.user, document_id)
    out = _document(d)
    out["full_text"] = d.full_text
    out["interpretation"] = d.interpretation
    out["attachments"] = [_attachment(a) for a in d.attachments.all()]
    out["items"] = [
        _item(i) for i in selectors.items(request.user, selectors.ItemFilters(document=d.pk))
    ]
    return out


@router.post("/documents", response={201: DocumentOut, **ERRORS}, summary="Create a document")
def create_document(request: HttpRequest, payload: DocumentIn) -> Any:
    if not request.user.can(Cap.POLICY_EDIT):  # type: ignore[union-attr]
        raise Forbidden()
    data = payload.dict()
    issuers = list(Department.objects.filter(pk__in=data.pop("issuer_ids")))
    d = actions.create_document(request.user, issuers=issuers, **data)
    return Status(201, _document(d))


@router.patch(
    "/documents/{document_id}", response={200: DocumentOut, **ERRORS}, summary="Edit a document"
)
def update_document(request: HttpRequest, document_id: int, payload: DocumentPatch) -> Any:
    d = selectors.editable_document(request.user, document_id)
    changes = payload.dict(exclude_unset=True)
    return _document(actions.update_document(request.user, d, **changes))


@router.post(
    "/documents/{document_id}/attachments",
    response={201: AttachmentOut, **ERRORS},
    summary="Attach a file (multipart field 'file') to a document",
)
def add_attachment(
    request: HttpRequest,
    document_id: int,
    file: UploadedFile | None = File(None),  # type: ignore[type-arg]  # noqa: B008
) -> Any:
    d = selectors.editable_document(request.user, document_id)
    if file is None:
        raise ValidationFailed(fields={"file": [_("Choose a file.")]})
    att = actions.add_attachment(request.user, d, name=file.name or "", content=file.read())
    return Status(201, _attachment(att))


# --- items --------------------------------------------------------------------------------------
@router.get(
    "/items",
    auth=PUBLIC,
    response={200: list[ItemOut], **ERRORS},
    summary="Policy items (申报项目) with filters",
)
@paginate(PageNumber)
def list_items(
    request: HttpRequest,
    department: int | None = None,
    benefit_type: str = "",
    industry: str = "",
    region: str = "",
    open_now: bool = False,
    q: str = "",
    status: str = "",
    document: int | None = None,
) -> Any:
    f = selectors.ItemFilters(
        department=department,
        benefit_type=benefit_type,
        industry=industry,
        region=region,
        open_now=open_now,
        q=q,
        status=status,
        document=document,
    )
    return [_item(i) for i in selectors.items(request.user, f)]


@router.get(
    "/items/{item_id}",
    auth=PUBLIC,
    response={200: ItemDetailOut, **ERRORS},
    summary="An item with its rule, atoms and versions (each with its diff)",
)
def get_item(request: HttpRequest, item_id: int) -> Any:
    return _item_detail(request.user, selectors.item(request.user, item_id))


@router.get(
    "/items/{item_id}/versions/{number}",
    auth=PUBLIC,
    response={200: VersionOut, **ERRORS},
    summary="One version of an item's rule with its diff against the published one",
)
def get_version(request: HttpRequest, item_id: int, number: int) -> Any:
    detail = _item_detail(request.user, selectors.item(request.user, item_id))
    for v in detail["versions"]:
        if v["number"] == number:
            return v
    raise NotFound()


@router.post("/items", response={201: ItemDetailOut, **ERRORS}, summary="Create an item (draft)")
def create_item(request: HttpRequest, payload: ItemIn) -> Any:
    if not request.user.can(Cap.POLICY_EDIT):  # type: ignore[union-attr]
        raise Forbidden()
    data = payload.dict()
    document = selectors.editable_document(request.user, data.pop("document_id"))
    department = Department.objects.filter(pk=data.pop("department_id")).first()
    if department is None:
        raise ValidationFailed(fields={"department_id": ["Unknown department."]})
    item = actions.create_item(request.user, document, department=department, **data)
    return Status(201, _item_detail(request.user, item))


@router.patch("/items/{item_id}", response={200: ItemOut, **ERRORS}, summary="Edit an item")
def update_item(request: HttpRequest, item_id: int, payload: ItemPatch) -> Any:
    item = selectors.editable_item(request.user, item_id)
    return _item(actions.update_item(request.user, item, **payload.dict(exclude_unset=True)))


@router.put(
    "/items/{item_id}/rule",
    response={200: VersionOut, **ERRORS},
    summary="Change the conditions (a new draft version after publication)",
)
def update_rule(request: HttpRequest, item_id: int, payload: RuleIn) -> Any:
    item = selectors.editable_item(request.user, item_id)
    return _version(actions.update_rule(request.user, item, payload.rule))


@router.post(
    "/items/{item_id}/submit", response={200: VersionOut, **ERRORS}, summary="Submit for review"
)
def submit_item(request: HttpRequest, item_id: int) -> Any:
    item = selectors.editable_item(request.user, item_id)
    return _version(actions.submit_for_review(request.user, item))


@router.post(
    "/items/{item_id}/approve",
    response={200: VersionOut, **ERRORS},
    summary="Approve and publish (a second person with policies.review)",
)
def approve_item(request: HttpRequest, item_id: int, payload: NoteIn) -> Any:
    item = selectors.editable_item(request.user, item_id, Cap.POLICY_REVIEW)
    return _version(actions.approve(request.user, item, payload.note))


@router.post("/items/{item_id}/reject", response={200: VersionOut, **ERRORS}, summary="Send back")
def reject_item(request: HttpRequest, item_id: int, payload: ReasonIn) -> Any:
    item = selectors.editable_item(request.user, item_id, Cap.POLICY_REVIEW)
    return _version(actions.reject(request.user, item, payload.reason))


@router.post(
    "/items/{item_id}/withdraw", response={200: ItemOut, **ERRORS}, summary="Withdraw an item"
)
def withdraw_item(request: HttpRequest, item_id: int, payload: ReasonIn) -> Any:
    item = selectors.editable_item(request.user, item_id, Cap.POLICY_REVIEW)
    return _item(actions.withdraw(request.user, item, payload.reason))


# --- matching -----------------------------------------------------------------------------------
@router.post(
    "/preview",
    response={200: SummaryOut, **ERRORS},
    summary="Who would match a rule now (count by verdict, street, industry; a sample)",
)
def preview(request: HttpRequest, payload: PreviewIn) -> Any:
    user: Any = request.user
    if not (user.can(Cap.POLICY_EDIT) and user.can(Cap.POLICY_MATCHES)):
        raise Forbidden()
    try:
        summary = matching.preview(payload.rule, as_of=payload.as_of)
    except RuleError as e:
        raise _rule_error(e) from e
    allowed = set(selectors.staff_organisations(user).values_list("pk", flat=True))
    summary.sample = [s for s in summary.sample if s["id"] in allowed]
    return summary.to_dict()


@router.get(
    "/items/{item_id}/matches",
    response={200: ItemMatchesOut, **ERRORS},
    summary="Eligible and possibly eligible enterprises for an item (staff)",
)
def item_matches(
    request: HttpRequest,
    item_id: int,
    verdict: str = "",
    street: str = "",
    industry: str = "",
    page: int = 1,
    page_size: int = 50,
) -> Any:
    user: Any = request.user
    item = selectors.editable_item(user, item_id, Cap.POLICY_MATCHES)
    if page < 1 or not 1 <= page_size <= 500:
        raise ValidationFailed(fields={"page_size": ["must be between 1 and 500"]})
    # the fact columns (no organisation or fact rows read), limited to the territory
    snap = factstore.current()
    scope = matching.enterprises().filter(pk__in=selectors.staff_organisations(user))
    within = np.fromiter(scope.values_list("pk", flat=True).iterator(20000), dtype=np.int64)
    summary = matching.for_item(item, within=within, snapshot=snap)
    ids = [(i, "pass") for i in summary.pass_ids] if verdict != "unknown" else []
    if verdict != "pass":
        ids += [(i, "unknown") for i in summary.unknown_ids]
    listed = np.fromiter((i for i, _v in ids), dtype=np.int64, count=len(ids))
    pos, _found = snap.positions(listed)
    keep = np.ones(listed.size, dtype=np.bool_)
    if street:
        keep &= _codes_where(snap.street, pos, lambda c: c == street)
    if industry and snap.industry_code is not None:
        keep &= _codes_where(snap.industry_code, pos, lambda c: c.startswith(industry))
    kept = np.flatnonzero(keep)
    start = (page - 1) * page_size
    shown = [ids[k] for k in kept[start : start + page_size].tolist()]
    orgs = {
        pk: (name, cc)
        for pk, name, cc in Organisation.objects.filter(pk__in=[i for i, _v in shown]).values_list(
            "pk", "name", "credit_code"
        )
    }
    rows = [
        {
            "organisation_id": oid,
            "name": orgs.get(oid, ("", ""))[0],
            "credit_code": orgs.get(oid, ("", ""))[1],
            "verdict": v,
            "amount": summary.amounts.get(oid),
        }
        for oid, v in shown
    ]
    return {
        "summary": summary.to_dict(),
        "items": rows,
        "count": int(kept.size),
        "page": page,
        "page_size": page_size,
    }


def _codes_where(cat: Any, pos: Any, test: Any) -> Any:
    """Whether the entities at ``pos`` have a category that passes ``test``."""
    wanted = [k for k, c in enumerate(cat.categories) if test(c)]
    return np.isin(cat.codes[pos], np.asarray(wanted, dtype=np.int32))


@router.post(
    "/calculate",
    auth=PUBLIC,
    response={200: list[EnterpriseMatchOut], **ERRORS},
    summary="政策计算器: facts in, every open item as eligible / possibly / not out (anonymous)",
)
def calculate(request: HttpRequest, payload: CalculatorIn) -> Any:
    try:
        found = matching.evaluate_facts(
            payload.facts, as_of=payload.as_of, lang=_lang(request, payload.lang)
        )
    except FactError as e:
        fields: dict[str, list[str]] = {}
        for p in e.problems:
            fields.setdefault(f"facts.{p.path}", []).append(p.message)
        raise ValidationFailed(fields=fields) from e
    return [m.to_dict() for m in found]


# --- the enterprise's own side ------------------------------------------------------------------
def _profile(org: Any, facts: list[Any]) -> dict[str, Any]:
    return {
        "organisation_id": org.pk,
        "name": org.name,
        "credit_code": org.credit_code,
        "facts": [f.to_dict() for f in facts],
    }


@router.get("/me/profile", response={200: ProfileOut, **ERRORS}, summary="My enterprise profile")
def my_profile(request: HttpRequest) -> Any:
    from yiwang.policies.profile import profile_for

    org = selectors.my_enterprise(request.user)
    return _profile(org, profile_for(org))


@router.post(
    "/me/facts",
    response={201: FactOut, **ERRORS},
    summary="Supply a missing fact (marked self-declared)",
)
def declare_fact(request: HttpRequest, payload: FactIn) -> Any:
    from yiwang.policies.profile import profile_for

    org = selectors.my_enterprise(request.user)
    fact = actions.declare_fact(request.user, org, payload.name, payload.value, payload.period)
    for f in profile_for(org):
        if f.key == fact.key and f.source_kind == fact.source_kind:
            return Status(201, f.to_dict())
    raise NotFound()  # pragma: no cover - the fact was just stored


@router.post(
    "/me/corrections",
    response={201: CorrectionOut, **ERRORS},
    summary="Ask for a fact to be corrected",
)
def request_correction(request: HttpRequest, payload: CorrectionIn) -> Any:
    org = selectors.my_enterprise(request.user)
    c = actions.request_correction(
        request.user, org, payload.name, payload.value, payload.reason, payload.period
    )
    return Status(201, _correction(c))


@router.get(
    "/me/matches",
    response={200: list[EnterpriseMatchOut], **ERRORS},
    summary="Every open item for my enterprise: eligible, possibly (facts to provide), not",
)
def my_matches(request: HttpRequest, outcome: str = "", lang: str = "") -> Any:
    org = selectors.my_enterprise(request.user)
    found = matching.for_enterprise(org, lang=_lang(request, lang))
    return [m.to_dict() for m in found if not outcome or m.outcome == outcome]


@router.get("/me/inbox", response={200: list[DeliveryOut], **ERRORS}, summary="My policy inbox")
@paginate(PageNumber)
def my_inbox(request: HttpRequest, unread: bool = False) -> Any:
    selectors.my_enterprise(request.user)
    qs = selectors.inbox(request.user)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return [_delivery(d) for d in qs]


@router.post(
    "/me/inbox/{delivery_id}/read", response={200: DeliveryOut, **ERRORS}, summary="Mark read"
)
def mark_read(request: HttpRequest, delivery_id: int) -> Any:
    d = selectors.delivery(request.user, delivery_id)
    return _delivery(actions.mark_read(request.user, d))


@router.get(
    "/me/preference", response={200: PreferenceOut, **ERRORS}, summary="My delivery preference"
)
def get_preference(request: HttpRequest) -> Any:
    pref = selectors.preference(selectors.my_enterprise(request.user))
    return {"push": pref.push, "email": pref.email, "sms": pref.sms}


@router.put(
    "/me/preference",
    response={200: PreferenceOut, **ERRORS},
    summary="Opt in or out of policy delivery",
)
def set_preference(request: HttpRequest, payload: PreferenceIn) -> Any:
    org = selectors.my_enterprise(request.user)
    pref = actions.set_preference(request.user, org, **payload.dict())
    return {"push": pref.push, "email": pref.email, "sms": pref.sms}


@router.get(
    "/me/corrections",
    response={200: list[CorrectionOut], **ERRORS},
    summary="My correction requests",
)
def my_corrections(request: HttpRequest) -> Any:
    org = selectors.my_enterprise(request.user)
    qs = selectors.corrections(request.user).filter(organisation=org)
    return [_correction(c) for c in qs]


# --- staff: profiles and corrections ------------------------------------------------------------
@router.get(
    "/enterprises/{org_id}/profile",
    response={200: ProfileOut, **ERRORS},
    summary="An enterprise's profile (policies.matches; a purpose; audited as a data access)",
)
def enterprise_profile(
    request: HttpRequest, org_id: int, purpose: str = "", as_of: dt.date | None = None
) -> Any:
    org, facts = selectors.enterprise_profile(request.user, org_id, purpose=purpose, as_of=as_of)
    return _profile(org, facts)


@router.get(
    "/corrections",
    response={200: list[CorrectionOut], **ERRORS},
    summary="Correction requests of enterprises in my territory",
)
@paginate(PageNumber)
def list_corrections(request: HttpRequest, status: str = "") -> Any:
    if not request.user.can(Cap.POLICY_MATCHES):  # type: ignore[union-attr]
        raise Forbidden()
    return [_correction(c) for c in selectors.corrections(request.user, status=status)]


@router.post(
    "/corrections/{correction_id}/decide",
    response={200: CorrectionOut, **ERRORS},
    summary="Accept (the value becomes official) or reject a correction request",
)
def decide_correction(request: HttpRequest, correction_id: int, payload: DecisionIn) -> Any:
    user: Any = request.user
    c = selectors.correction(user, correction_id)
    if not user.can(Cap.POLICY_MATCHES):
        raise Forbidden()
    c = actions.decide_correction(user, c, accept=payload.accept, note=payload.note)
    return _correction(c)
