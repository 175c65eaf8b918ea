"""Scoped reads of the data system, and ``fetch_for_case`` for other modules.

The catalog is visible to every holder of ``exchange.catalog``; rows, loads and the exchange
log of a dataset only to its owning department; a grant to the requesting and the owning
department. Anything else is a 404 (``NotFound``); a missing capability on a collection is
a 403.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Cap
from yiwang.core.errors import Forbidden, NotFound
from yiwang.exchange.keys import subject_hash
from yiwang.exchange.models import (
    DataElement,
    Dataset,
    DatasetVersion,
    ExchangeClient,
    ExchangeLog,
    Grant,
    Record,
)


def _need(actor: User, cap: str, *, collection: bool = True) -> None:
    if not actor.is_authenticated or not actor.can(cap):
        raise (Forbidden() if collection else NotFound())


def list_datasets_for(actor: User, q: str = "", department: str = "", share_type: str = "") -> Any:
    _need(actor, Cap.DATA_CATALOG)
    qs = Dataset.objects.select_related("owner")
    if q:
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(code__icontains=q)
            | Q(description__icontains=q)
            | Q(keywords__icontains=q)
            | Q(owner__name__icontains=q)
        )
    if department:
        qs = qs.filter(owner__code=department)
    if share_type:
        qs = qs.filter(share_type=share_type)
    return qs.order_by("owner__code", "code")


def access_dataset(actor: User, code: str) -> Dataset:
    _need(actor, Cap.DATA_CATALOG, collection=False)
    ds = Dataset.objects.select_related("owner").filter(code=code).first()
    if ds is None:
        raise NotFound()
    return ds


def owns(actor: User, ds: Dataset) -> bool:
    return bool(actor.is_authenticated and actor.department_id == ds.owner_id)


def access_owned_dataset(actor: User, code: str, cap: str = Cap.DATA_PUBLISH) -> Dataset:
    """A dataset of the actor's own department, for loading, rows and logs."""
    ds = access_dataset(actor, code)
    if not owns(actor, ds) or not actor.can(cap):
        raise NotFound()
    return ds


def list_versions_for(actor: User, code: str) -> QuerySet[DatasetVersion]:
    ds = access_owned_dataset(actor, code)
    return ds.versions.select_related("loaded_by").order_by("-number")


def access_version(actor: User, code: str, number: int) -> DatasetVersion:
    v = list_versions_for(actor, code).filter(number=number).first()
    if v is None:
        raise NotFound()
    return v


def list_quality_runs_for(actor: User, code: str) -> Any:
    ds = access_owned_dataset(actor, code)
    return ds.quality_runs.order_by("-at")


def list_elements(actor: User) -> QuerySet[DataElement]:
    _need(actor, Cap.DATA_CATALOG)
    return DataElement.objects.all()


def record_values(ds: Dataset, rec: Record) -> dict[str, Any]:
    """All fields of a row, personal ones decrypted (callers mask or log as they must)."""
    values = dict(rec.data)
    if rec.sealed:
        values.update(json.loads(rec.sealed))
    return {n: values.get(n) for n in ds.field_names}


def list_records_for(actor: User, code: str) -> tuple[Dataset, QuerySet[Record]]:
    ds = access_owned_dataset(actor, code)
    return ds, ds.records.order_by("id")


# --- Grants -----------------------------------------------------------------------------------
def list_grants_for(actor: User, side: str = "") -> QuerySet[Grant]:
    """``side``: ``requested`` (my department asked), ``owned`` (asked of my department)."""
    _need(actor, Cap.DATA_CATALOG)
    qs = Grant.objects.select_related("dataset", "dataset__owner", "requester")
    dept = actor.department_id
    if dept is None:
        return qs.none()
    if side == "requested":
        return qs.filter(requester_id=dept)
    if side == "owned":
        return qs.filter(dataset__owner_id=dept)
    return qs.filter(Q(requester_id=dept) | Q(dataset__owner_id=dept))


def access_grant(actor: User, grant_id: int) -> Grant:
    if not actor.is_authenticated or not actor.can(Cap.DATA_CATALOG):
        raise NotFound()
    g = list_grants_for(actor).filter(pk=grant_id).first()
    if g is None:
        raise NotFound()
    return g


# --- Clients and the log ----------------------------------------------------------------------
def list_clients_for(actor: User) -> QuerySet[ExchangeClient]:
    _need(actor, Cap.DATA_GRANT)
    if actor.department_id is None:
        return ExchangeClient.objects.none()
    return ExchangeClient.objects.filter(department_id=actor.department_id)


def list_logs_for(actor: User, side: str = "", dataset: str = "", case: str = "") -> Any:
    """Exchange messages about my department's datasets (``owned``) or made by it
    (``requested``); both when ``side`` is empty."""
    _need(actor, Cap.DATA_CATALOG)
    qs = ExchangeLog.objects.select_related("dataset", "requester", "client")
    dept = actor.department_id
    if dept is None:
        return qs.none()
    if side == "owned":
        qs = qs.filter(dataset__owner_id=dept)
    elif side == "requested":
        qs = qs.filter(requester_id=dept)
    else:
        qs = qs.filter(Q(dataset__owner_id=dept) | Q(requester_id=dept))
    if dataset:
        qs = qs.filter(dataset__code=dataset)
    if case:
        qs = qs.filter(case_ref=case)
    return qs


# --- Individuals' rights ----------------------------------------------------------------------
def own_subject_hashes(actor: User) -> list[str]:
    """The blind indexes under which the actor's own data is filed (ID number, credit code)."""
    if not actor.is_authenticated:
        return []
    out = []
    if actor.id_number:
        out.append(subject_hash(actor.id_number))
    if actor.credit_code:
        out.append(subject_hash(actor.credit_code))
    return [h for h in out if h]


def list_my_accesses(actor: User) -> QuerySet[ExchangeLog]:
    """Who asked for my data: every exchange message whose subject is me."""
    if not actor.is_authenticated or not actor.can(Cap.PORTAL):
        raise Forbidden()
    hashes = own_subject_hashes(actor)
    return (
        ExchangeLog.objects.filter(subject_hash__in=hashes)
        .select_related("requester", "dataset", "dataset__owner")
        .order_by("-at", "-id")
    )


def my_data(actor: User) -> dict[str, Any]:
    """Everything the data system holds about the actor, by dataset (for the JSON export)."""
    if not actor.is_authenticated or not actor.can(Cap.PORTAL):
        raise Forbidden()
    hashes = own_subject_hashes(actor)
    out: dict[str, Any] = {}
    recs = (
        Record.objects.filter(subject_hash__in=hashes)
        .select_related("dataset", "dataset__owner")
        .order_by("dataset__code", "id")
    )
    for rec in recs:
        ds = rec.dataset
        entry = out.setdefault(
            ds.code,
            {"dataset": ds.name, "owner": ds.owner.name, "version": ds.version, "rows": []},
        )
        entry["rows"].append(record_values(ds, rec))
    return out


def my_datasets(actor: User) -> list[Dataset]:
    """The datasets that hold rows about the actor (their fields, for correction requests)."""
    hashes = own_subject_hashes(actor)
    ids = Record.objects.filter(subject_hash__in=hashes).values_list("dataset_id", flat=True)
    return list(Dataset.objects.filter(id__in=ids).select_related("owner").order_by("code"))


def list_my_corrections(actor: User) -> Any:
    from yiwang.exchange.models import CorrectionRequest

    if not actor.is_authenticated or not actor.can(Cap.PORTAL):
        raise Forbidden()
    return CorrectionRequest.objects.filter(requester=actor).select_related("dataset")


def list_corrections_for(actor: User) -> Any:
    """Correction requests on my department's datasets (routed to the owner)."""
    from yiwang.exchange.models import CorrectionRequest

    _need(actor, Cap.DATA_PUBLISH)
    if actor.department_id is None:
        return CorrectionRequest.objects.none()
    return CorrectionRequest.objects.filter(dataset__owner_id=actor.department_id).select_related(
        "dataset"
    )


# --- Pre-fill for other modules ---------------------------------------------------------------
@dataclass
class FetchResult:
    """Values by ``"<dataset>.<field>"``; refusals by dataset with their reasons."""

    values: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    denied: dict[str, str] = field(default_factory=dict)
    log_ids: list[int] = field(default_factory=list)


def fetch_for_case(
    actor: User | None,
    subject: str,
    fields: list[str],
    purpose: str,
    case: str,
    *,
    department: Department | None = None,
    user_label: str = "",
) -> FetchResult:
    """Fetch ``fields`` (``"<dataset code>.<field>"``) about ``subject`` (credit code or ID
    number) for ``case``, under the actor's department's grants — or, for a service acting for
    a member of the public (``actor`` None), under ``department``'s grants with ``user_label``
    naming on whose behalf. Each dataset consulted is one exchange message, logged and chained
    into the audit log like an API call; a refusal does not raise but is reported in
    ``denied`` (and logged with its reason).
    """
    from yiwang.core.errors import DomainError
    from yiwang.exchange import actions

    wanted: dict[str, list[str]] = {}
    for item in fields:
        code, _, name = item.rpartition(".")
        wanted.setdefault(code, []).append(name)
    result = FetchResult()
    caller = (
        actions.Caller.for_user(actor)
        if actor is not None
        else actions.Caller(department=department, user_label=user_label[:150])
    )
    for code, names in wanted.items():
        try:
            answer = actions.do_exchange(
                caller=caller,
                dataset_code=code,
                subject=subject,
                fields=names,
                purpose=purpose,
                case_ref=case,
            )
        except DomainError as exc:
            result.denied[code] = str(exc.message)
            continue
        result.log_ids.append(answer["log_id"])
        result.rows[code] = answer["records"]
        if answer["records"]:
            first = answer["records"][0]
            for n in names:
                result.values[f"{code}.{n}"] = first.get(n)
    return result


# --- Bulk reads for other modules -------------------------------------------------------------
@dataclass
class BulkFetch:
    """Rows changed after ``since_version`` (granted fields only), in batches of messages."""

    dataset: str
    version: int = 0
    loaded_on: Any = None  # the local date of the dataset's latest load
    fields: list[str] = field(default_factory=list)  # the fields served
    withheld: list[str] = field(default_factory=list)  # asked for but outside the grant
    rows: list[dict[str, Any]] = field(default_factory=list)
    log_ids: list[int] = field(default_factory=list)


def fetch_rows_for_grant(
    caller: Any,
    dataset_code: str,
    fields: list[str],
    purpose: str,
    *,
    since_version: int = 0,
    case_ref: str = "",
    partial: bool = False,
    batch_size: int = 500,
) -> BulkFetch:
    """Read the rows of a dataset changed after ``since_version`` under the caller's
    department's live grant — the bulk form of ``do_exchange`` for systems that keep a copy
    (政策通's enterprise profiles).

    The grant decides as for one message: a department, a live (approved, within its validity)
    grant, the fields inside it — with ``partial`` the fields outside it are left out and
    reported in ``withheld`` instead of refusing the lot. Each batch of ``batch_size`` rows is
    one exchange message, counted against the grant's quota and logged (``ExchangeLog`` with
    the purpose, and an audit record). A refusal is logged the same way and raised
    (``actions.Refused``); then nothing is read.
    """
    from django.db import transaction
    from django.utils import timezone

    from yiwang.core import audit
    from yiwang.core.models import AuditResult
    from yiwang.exchange import actions
    from yiwang.exchange.keys import message_hash
    from yiwang.exchange.models import ACTIVE_GRANT, PERSONAL_LEVELS, ExchangeResult, GrantStatus

    fields = [str(f) for f in fields or []]
    purpose, case_ref = (purpose or "").strip()[:200], (case_ref or "").strip()[:100]
    case_ref = case_ref or f"bulk:{dataset_code}>v{since_version}"[:100]
    grants, ds = actions._grants_and_dataset(caller, dataset_code)
    out = BulkFetch(dataset=dataset_code)

    def log(
        grant: Grant | None, served: list[str], response: dict[str, Any], refusal: Any = None
    ) -> ExchangeLog:
        now = timezone.now()
        request_doc = {
            "department": caller.department.code if caller.department else "",
            "client": caller.client.client_id if caller.client else "",
            "user": caller.user_label,
            "service": dataset_code,
            "bulk": True,
            "since_version": since_version,
            "fields": fields,
            "purpose": purpose,
            "case": case_ref,
            "at": now.isoformat(),
        }
        status = refusal.status if refusal else 200
        reason = str(refusal.message) if refusal else ""
        with transaction.atomic():
            entry = ExchangeLog.objects.create(
                at=now,
                client=caller.client,
                requester=caller.department,
                user=caller.user_label,
                dataset=ds,
                service=dataset_code[:100],
                grant=grant,
                case_ref=case_ref,
                purpose=purpose,
                fields=fields,
                fields_served=served,
                request_hash=message_hash(request_doc),
                response_hash=message_hash(response),
                result=refusal.result if refusal else ExchangeResult.OK,
                status_code=status,
                reason=reason[:300],
            )
            audit.record(
                "exchange.bulk_call",
                actor=caller.user,
                obj=entry,
                fields=served or fields,
                purpose=purpose,
                result=AuditResult.OK if refusal is None else AuditResult.DENIED,
                detail={
                    "service": dataset_code[:100],
                    "department": request_doc["department"],
                    "case": case_ref,
                    "since_version": since_version,
                    "rows": len(response.get("records", [])),
                    "request_hash": entry.request_hash,
                    "response_hash": entry.response_hash,
                    "status": status,
                    "reason": reason[:300],
                },
            )
        return entry

    def refuse(exc: Any, grant: Grant | None = None) -> Any:
        log(grant, [], {"refused": str(exc.message), "status": exc.status}, exc)
        return exc

    R = actions.Refused
    if caller.department is None:
        raise refuse(R(_t("The caller belongs to no department.")))
    if not purpose:
        raise refuse(
            R(
                _t("State the purpose of the call."),
                result=ExchangeResult.INVALID,
                status=422,
                code="validation_error",
                fields={"purpose": [_t("State the purpose of the call.")]},
            )
        )
    if ds is None:
        raise refuse(R(_t("No such service."), result=ExchangeResult.NOT_FOUND, status=404))
    if ds.owner_id == caller.department.pk:
        raise refuse(R(_t("Read your own dataset through its pages, not the exchange.")))
    unknown = sorted(set(fields) - set(ds.field_names))
    if not fields or unknown:
        raise refuse(
            R(
                _t("Fields outside the grant: %s") % ", ".join(unknown or ["—"]),
                result=ExchangeResult.INVALID,
                status=422,
                code="validation_error",
                fields={"fields": [_t("not granted")]},
            )
        )
    today = timezone.localdate()
    live = [
        g
        for g in grants
        if g.status in ACTIVE_GRANT
        and g.valid_from is not None
        and g.valid_to is not None
        and g.valid_from <= today <= g.valid_to
    ]
    if not live:
        if any(g.status == GrantStatus.REVOKED for g in grants):
            raise refuse(R(_t("The grant has been revoked.")))
        if any(
            g.status == GrantStatus.EXPIRED
            or (g.status in ACTIVE_GRANT and g.valid_to and g.valid_to < today)
            for g in grants
        ):
            raise refuse(R(_t("The grant has expired.")))
        if any(g.status in ACTIVE_GRANT for g in grants):
            raise refuse(R(_t("The grant is not valid yet.")))
        raise refuse(R(_t("No grant for this dataset: request one first.")))
    # the grant covering most of the fields asked for
    grant = max(live, key=lambda g: (len(set(fields) & set(g.fields)), -g.pk))
    served = [f for f in fields if f in set(grant.fields)]
    withheld = [f for f in fields if f not in set(grant.fields)]
    if (withheld and not partial) or not served:
        raise refuse(
            R(
                _t("Fields outside the grant: %s") % ", ".join(withheld),
                fields={"fields": [_t("not granted")]},
            ),
            grant,
        )
    unmasked = set(grant.unmasked_fields)
    masked = [f for f in served if ds.sensitivity(f) in PERSONAL_LEVELS and f not in unmasked]
    out.version = ds.version
    out.loaded_on = timezone.localdate(ds.loaded_at) if ds.loaded_at else today
    out.fields, out.withheld = served, withheld
    qs = Record.objects.filter(dataset=ds, version__gt=since_version).order_by("id")
    last_id = 0
    first = True
    while True:
        batch = list(qs.filter(id__gt=last_id)[:batch_size])
        if not batch and not first:
            break
        first = False
        try:
            actions._count_call(grant)
        except R as exc:
            raise refuse(exc, grant) from None
        rows = []
        for rec in batch:
            values = record_values(ds, rec)
            rows.append(
                {
                    f: (
                        actions._mask(values.get(f), (ds.field(f) or {}).get("mask", ""))
                        if f in masked
                        else values.get(f)
                    )
                    for f in served
                }
            )
        entry = log(
            grant,
            served,
            {"dataset": ds.code, "version": ds.version, "fields": served, "records": rows},
        )
        out.log_ids.append(entry.pk)
        out.rows.extend(rows)
        if len(batch) < batch_size:
            break
        last_id = batch[-1].pk
    return out


def _t(message: str) -> str:
    from django.utils.translation import gettext

    return gettext(message)


def dataset_titles(codes: list[str]) -> dict[str, str]:
    """Catalog titles of datasets (public catalog metadata)."""
    return dict(Dataset.objects.filter(code__in=codes).values_list("code", "name"))


def dataset_has_subject(code: str, subject: str) -> bool:
    """Whether ``code`` holds a row about ``subject`` — a presence check for the subject's own
    service (no field is read or disclosed)."""
    sh = subject_hash(subject)
    return bool(sh) and Record.objects.filter(dataset__code=code, subject_hash=sh).exists()
