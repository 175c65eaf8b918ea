"""Writes of the data system: elements, publishing, loading, grants, clients, the exchange.

Every action is atomic and audited. The exchange itself (``do_exchange``) writes its log row
and audit record also when it refuses, then raises the refusal: nothing is served without a
grant, and every refusal leaves its reason.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Cap
from yiwang.core import audit, codetables, events
from yiwang.core.crypto import sm3_hex
from yiwang.core.errors import Conflict, DomainError, Errors, Forbidden, NotFound, ValidationFailed
from yiwang.core.masking import MASKERS
from yiwang.core.models import AuditResult
from yiwang.exchange import selectors
from yiwang.exchange.keys import key_hash, message_hash, subject_hash
from yiwang.exchange.models import (
    ACTIVE_GRANT,
    PERSONAL_LEVELS,
    DataElement,
    Dataset,
    DatasetVersion,
    ExchangeClient,
    ExchangeLog,
    ExchangeResult,
    Frequency,
    Grant,
    GrantStatus,
    Record,
    RecordRevision,
    ShareType,
    SubjectKind,
)
from yiwang.exchange.tableschema import FIELD_TYPES, check_codes, check_schema, read_rows

MAX_QUOTA = 1_000_000
MAX_GRANT_DAYS = 3 * 366


def _require(actor: User | None, cap: str) -> None:
    if actor is not None and not actor.can(cap):
        raise Forbidden()


def _own_department(actor: User) -> Department:
    if actor.department_id is None:
        raise Forbidden(_("Only staff of a department may do this."))
    return actor.department  # type: ignore[return-value]


# --- Standards library ------------------------------------------------------------------------
def do_define_element(
    *,
    actor: User | None,
    code: str,
    name: str,
    type: str,
    code_table: str = "",
    validator: str = "",
    definition: str = "",
) -> DataElement:
    _require(actor, Cap.DATA_PUBLISH)
    errors = Errors()
    code, name = code.strip(), name.strip()
    if not code:
        errors.add("code", _("Give the element a code."))
    if not name:
        errors.add("name", _("Give the element a name."))
    if type not in FIELD_TYPES:
        errors.add("type", _("Unknown field type."))
    if code_table.strip() and (
        codetables.parse_ref(code_table)[0] not in codetables.known_tables()
    ):
        errors.add("code_table", _("No such code table."))
    if validator:
        from yiwang.exchange.quality import stdnum_module

        if stdnum_module(validator) is None:
            errors.add("validator", _("No such python-stdnum module."))
    errors.raise_if_any()
    with transaction.atomic():
        el, created = DataElement.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "type": type,
                "code_table": code_table.strip(),
                "validator": validator.strip(),
                "definition": definition.strip(),
            },
        )
        audit.record("exchange.element_defined", actor=actor, obj=el, detail={"created": created})
    return el


# --- Publishing -------------------------------------------------------------------------------
def do_publish_dataset(
    *,
    actor: User,
    code: str,
    name: str,
    schema: dict[str, Any],
    description: str = "",
    share_type: str = ShareType.CONDITIONAL,
    frequency: str = Frequency.MONTHLY,
    subject_kind: str = "",
    subject_field: str = "",
    keywords: str = "",
    owner: Department | None = None,
    retention_days: int | None = None,
    retention_action: str = "delete",
) -> Dataset:
    """Publish a dataset with its Table Schema for the actor's department (or republish an
    own dataset with a new schema: the schema version goes up; rows keep their values)."""
    _require(actor, Cap.DATA_PUBLISH)
    dept = owner if actor is None else _own_department(actor)
    assert dept is not None
    errors = Errors()
    code, name = code.strip(), name.strip()
    if not code or not all(c.isalnum() or c in "-_" for c in code) or len(code) > 64:
        errors.add("code", _("Use letters, digits, - and _ (at most 64)."))
    if not name:
        errors.add("name", _("Give the dataset a name."))
    if share_type not in ShareType.values:
        errors.add("share_type", _("Unknown share type."))
    if frequency not in Frequency.values:
        errors.add("frequency", _("Unknown update frequency."))
    if retention_days is not None and not 1 <= retention_days <= 36500:
        errors.add("retention_days", _("Between 1 and 36,500 days, or none."))
    if retention_action not in ("delete", "anonymise"):
        errors.add("retention_action", _("Use delete or anonymise."))
    if subject_kind not in SubjectKind.values:
        errors.add("subject_kind", _("Unknown kind of data subject."))
    elements = {e.code: e for e in DataElement.objects.all()}
    try:
        check_schema(schema, elements, codetables.known_tables())
    except ValidationFailed as exc:
        for k, msgs in exc.fields.items():
            for m in msgs:
                errors.add(k, m)
    names = [str(f.get("name")) for f in schema.get("fields", []) if isinstance(f, dict)]
    if subject_kind and subject_field not in names:
        errors.add("subject_field", _("Name the field that identifies the data subject."))
    errors.raise_if_any()
    with transaction.atomic():
        ds = Dataset.objects.select_for_update().filter(code=code).first()
        if ds is not None and ds.owner_id != dept.pk:
            raise ValidationFailed(
                fields={"code": [_("Another department already publishes this code.")]}
            )
        created = ds is None
        if ds is None:
            ds = Dataset(code=code, owner=dept)
        elif ds.schema != schema:
            if (
                ds.primary_key
                != (
                    [schema["primaryKey"]]
                    if isinstance(schema["primaryKey"], str)
                    else list(schema["primaryKey"])
                )
                and ds.rows
            ):
                raise ValidationFailed(
                    fields={"schema.primaryKey": [_("The primary key of loaded data is fixed.")]}
                )
            ds.schema_version += 1
        ds.name = name
        ds.description = description.strip()
        ds.schema = schema
        ds.share_type = share_type
        ds.frequency = frequency
        ds.subject_kind = subject_kind
        ds.subject_field = subject_field if subject_kind else ""
        ds.keywords = keywords.strip()[:200]
        ds.retention_days = retention_days
        ds.retention_action = retention_action
        ds.save()
        audit.record(
            "exchange.dataset_published",
            actor=actor,
            obj=ds,
            fields=names,
            detail={"created": created, "schema_version": ds.schema_version},
        )
    return ds


# --- Loading ----------------------------------------------------------------------------------
#: Key in ``Record.data`` naming the personal fields that have a value (not the values), so
#: completeness can be checked without decrypting.
FILLED_KEY = "_pi"


def _split(ds: Dataset, row: dict[str, Any]) -> tuple[dict[str, Any], str]:
    personal = set(ds.personal_field_names)
    data = {k: v for k, v in row.items() if k not in personal}
    if not personal:
        return data, ""
    sealed = {k: row.get(k) for k in ds.field_names if k in personal}
    data[FILLED_KEY] = sorted(k for k, v in sealed.items() if v not in (None, "", []))
    return data, json.dumps(sealed, ensure_ascii=False, sort_keys=True)


def _content_hash(source: str, content: Any) -> str:
    if isinstance(content, bytes):
        return sm3_hex(content)
    if isinstance(content, str):
        return sm3_hex(content.encode())
    return message_hash(content)


def do_load_dataset(
    *,
    actor: User | None,
    code: str,
    source: str,
    content: Any,
    filename: str = "",
    dataset: Dataset | None = None,
) -> DatasetVersion:
    """Validate ``content`` against the dataset's schema and upsert the good rows by primary
    key. Returns the new version (or, for content identical to the latest load, that one)."""
    if dataset is None:
        assert actor is not None
        ds = selectors.access_owned_dataset(actor, code)
    else:
        ds = dataset
    if source not in DatasetVersion.Source.values:
        raise ValidationFailed(fields={"source": [_("Use csv, xlsx, json or api.")]})
    if content in (None, b"", "", []):
        raise ValidationFailed(fields={"file": [_("The file is empty.")]})
    digest = _content_hash(source, content)
    latest = ds.versions.order_by("-number").first()
    if latest is not None and latest.content_hash == digest:
        return latest  # re-loading the same content changes nothing
    import frictionless

    schema = frictionless.Schema.from_descriptor(ds.schema)
    read = read_rows(schema, "json" if source == "api" else source, content)
    elements = {e.code: e for e in DataElement.objects.all()}
    check_codes(read, ds.fields, elements, timezone.localdate())
    pk = ds.primary_key
    incoming: dict[str, tuple[dict[str, Any], str, str]] = {}
    for _number, row in read.good:
        kh = key_hash(ds.code, [row.get(p) for p in pk])
        sh = subject_hash(row.get(ds.subject_field)) if ds.subject_field else ""
        data, sealed = _split(ds, row)
        incoming[kh] = (data, sealed, sh)
    now = timezone.now()
    with transaction.atomic():
        ds = Dataset.objects.select_for_update().get(pk=ds.pk)
        number = ds.version + 1
        existing: dict[str, Record] = {}
        keys = list(incoming)
        for i in range(0, len(keys), 500):
            for found in Record.objects.filter(dataset=ds, key_hash__in=keys[i : i + 500]):
                existing[found.key_hash] = found
        new: list[Record] = []
        changed: list[Record] = []
        revisions: list[RecordRevision] = []
        unchanged = 0
        for kh, (data, sealed, sh) in incoming.items():
            rec = existing.get(kh)
            if rec is None:
                new.append(
                    Record(
                        dataset=ds,
                        key_hash=kh,
                        subject_hash=sh,
                        data=data,
                        sealed=sealed,
                        version=number,
                    )
                )
            elif rec.data == data and (rec.sealed or "") == sealed and rec.subject_hash == sh:
                unchanged += 1
            else:
                revisions.append(
                    RecordRevision(
                        record=rec, version=rec.version, data=rec.data, sealed=rec.sealed
                    )
                )
                rec.data, rec.sealed, rec.subject_hash, rec.version = data, sealed, sh, number
                rec.updated_at = now
                changed.append(rec)
        Record.objects.bulk_create(new, batch_size=500)
        Record.objects.bulk_update(
            changed, ["data", "sealed", "subject_hash", "version", "updated_at"], batch_size=500
        )
        RecordRevision.objects.bulk_create(revisions, batch_size=500)
        version = DatasetVersion.objects.create(
            dataset=ds,
            number=number,
            source=source,
            filename=filename[:200],
            content_hash=digest,
            rows_total=read.total,
            rows_accepted=len(read.good),
            rows_rejected=read.rejected,
            inserted=len(new),
            updated=len(changed),
            unchanged=unchanged,
            errors=[e.as_dict() for e in read.errors],
            loaded_by=actor,
        )
        ds.version = number
        ds.rows = Record.objects.filter(dataset=ds).count()
        ds.loaded_at = now
        ds.save(update_fields=["version", "rows", "loaded_at", "updated_at"])
        audit.record(
            "exchange.dataset_loaded",
            actor=actor,
            obj=ds,
            detail={
                "version": number,
                "source": source,
                "accepted": version.rows_accepted,
                "rejected": version.rows_rejected,
                "inserted": version.inserted,
                "updated": version.updated,
            },
        )
        events.publish("exchange.dataset_loaded", {"dataset": ds.code, "version": number})
    return version


# --- Grants -----------------------------------------------------------------------------------
def _check_fields(ds: Dataset, fields: list[str], key: str, errors: Errors) -> list[str]:
    if not fields:
        errors.add(key, _("Choose at least one field."))
    unknown = [f for f in fields if f not in ds.field_names]
    if unknown:
        errors.add(key, _("Not fields of this dataset: %s") % ", ".join(unknown))
    return [f for f in ds.field_names if f in fields]  # schema order, no duplicates


def do_request_grant(
    *,
    actor: User,
    dataset_code: str,
    fields: list[str],
    purpose: str,
    legal_basis: str,
    valid_from: dt.date,
    valid_to: dt.date,
    daily_quota: int,
) -> Grant:
    """Ask for fields of a dataset. Unconditional datasets are granted at once, as asked."""
    _require(actor, Cap.DATA_CATALOG)
    dept = _own_department(actor)
    ds = selectors.access_dataset(actor, dataset_code)
    errors = Errors()
    if ds.owner_id == dept.pk:
        errors.add("dataset", _("Your department owns this dataset already."))
    if ds.share_type == ShareType.NOT_SHARED:
        errors.add("dataset", _("This dataset is not shared."))
    clean = _check_fields(ds, list(fields), "fields", errors)
    if not purpose.strip():
        errors.add("purpose", _("State the purpose."))
    if not legal_basis.strip():
        errors.add("legal_basis", _("State the legal basis."))
    if valid_to < valid_from:
        errors.add("valid_to", _("The end must not be before the start."))
    elif (valid_to - valid_from).days > MAX_GRANT_DAYS:
        errors.add("valid_to", _("A grant lasts at most three years."))
    if valid_to < timezone.localdate():
        errors.add("valid_to", _("The period is already over."))
    if not 1 <= daily_quota <= MAX_QUOTA:
        errors.add("daily_quota", _("Between 1 and 1,000,000 calls a day."))
    errors.raise_if_any()
    with transaction.atomic():
        g = Grant.objects.create(
            dataset=ds,
            requester=dept,
            requested_by=actor,
            purpose=purpose.strip()[:200],
            legal_basis=legal_basis.strip()[:300],
            requested_fields=clean,
            requested_from=valid_from,
            requested_to=valid_to,
            requested_quota=daily_quota,
        )
        audit.record(
            "exchange.grant_requested",
            actor=actor,
            obj=g,
            fields=clean,
            purpose=g.purpose,
            detail={"dataset": ds.code, "to": str(valid_to), "quota": daily_quota},
        )
        if ds.share_type == ShareType.UNCONDITIONAL:
            g.status = GrantStatus.APPROVED
            g.fields = clean
            g.valid_from, g.valid_to, g.daily_quota = valid_from, valid_to, daily_quota
            g.decided_at = timezone.now()
            g.reason = _("Unconditional sharing: granted as requested.")
            g.save()
            audit.record(
                "exchange.grant_decided",
                obj=g,
                fields=clean,
                detail={"decision": "approve", "automatic": True},
            )
    return g


def do_decide_grant(
    *,
    actor: User,
    grant_id: int,
    decision: str,
    reason: str = "",
    fields: list[str] | None = None,
    valid_to: dt.date | None = None,
    daily_quota: int | None = None,
    unmasked_fields: list[str] | None = None,
) -> Grant:
    """The owner approves (as asked), narrows (fewer fields, shorter period, smaller quota)
    or refuses (with a reason) a requested grant."""
    g = selectors.access_grant(actor, grant_id)
    if g.dataset.owner_id != actor.department_id or not actor.can(Cap.DATA_GRANT):
        raise NotFound()
    if g.status != GrantStatus.REQUESTED:
        raise Conflict(_("This request has been decided already."))
    errors = Errors()
    if decision not in {"approve", "narrow", "refuse"}:
        errors.add("decision", _("Approve, narrow or refuse."))
    if decision in {"refuse", "narrow"} and not reason.strip():
        errors.add("reason", _("Give the reason."))
    errors.raise_if_any()
    granted = list(g.requested_fields)
    to, quota = g.requested_to, g.requested_quota
    if decision == "narrow":
        if fields is not None:
            granted = _check_fields(g.dataset, fields, "fields", errors)
            if set(granted) - set(g.requested_fields):
                errors.add("fields", _("Narrowing cannot add fields that were not asked for."))
        if valid_to is not None:
            if valid_to > g.requested_to:
                errors.add("valid_to", _("Narrowing cannot lengthen the period."))
            elif valid_to < g.requested_from:
                errors.add("valid_to", _("The end must not be before the start."))
            to = valid_to
        if daily_quota is not None:
            if not 1 <= daily_quota <= g.requested_quota:
                errors.add("daily_quota", _("Narrowing can only lower the quota (at least 1)."))
            quota = daily_quota
        if (granted, to, quota) == (list(g.requested_fields), g.requested_to, g.requested_quota):
            errors.add("decision", _("Nothing was narrowed; approve instead."))
    unmasked = [f for f in (unmasked_fields or []) if f in granted]
    if unmasked_fields and set(unmasked_fields) - set(granted):
        errors.add("unmasked_fields", _("Only granted fields can be served unmasked."))
    errors.raise_if_any()
    with transaction.atomic():
        g = Grant.objects.select_for_update().get(pk=g.pk)
        if g.status != GrantStatus.REQUESTED:
            raise Conflict(_("This request has been decided already."))
        g.decided_by, g.decided_at, g.reason = actor, timezone.now(), reason.strip()
        if decision == "refuse":
            g.status = GrantStatus.REFUSED
        else:
            g.status = GrantStatus.APPROVED if decision == "approve" else GrantStatus.NARROWED
            g.fields, g.unmasked_fields = granted, unmasked
            g.valid_from, g.valid_to, g.daily_quota = g.requested_from, to, quota
        g.save()
        audit.record(
            "exchange.grant_decided",
            actor=actor,
            obj=g,
            fields=g.fields,
            detail={
                "decision": decision,
                "valid_to": str(g.valid_to or ""),
                "quota": g.daily_quota,
                "unmasked": unmasked,
            },
        )
    return g


def do_revoke_grant(*, actor: User, grant_id: int, reason: str) -> Grant:
    """The owner revokes an active grant (or the requester gives it up)."""
    g = selectors.access_grant(actor, grant_id)
    owner_side = g.dataset.owner_id == actor.department_id and actor.can(Cap.DATA_GRANT)
    requester_side = g.requester_id == actor.department_id
    if not (owner_side or requester_side):
        raise NotFound()
    if not reason.strip():
        raise ValidationFailed(fields={"reason": [_("Give the reason.")]})
    with transaction.atomic():
        g = Grant.objects.select_for_update().get(pk=g.pk)
        if g.status not in ACTIVE_GRANT and g.status != GrantStatus.REQUESTED:
            raise Conflict(_("Only a pending or active grant can be revoked."))
        g.status, g.revoked_at, g.reason = GrantStatus.REVOKED, timezone.now(), reason.strip()
        g.save()
        audit.record("exchange.grant_revoked", actor=actor, obj=g, detail={"reason": g.reason})
    return g


def expire_grants(today: dt.date | None = None) -> int:
    """Mark active grants whose period is over as expired (scheduled daily)."""
    today = today or timezone.localdate()
    n = 0
    with transaction.atomic():
        for g in Grant.objects.select_for_update().filter(
            status__in=ACTIVE_GRANT, valid_to__lt=today
        ):
            g.status = GrantStatus.EXPIRED
            g.save(update_fields=["status"])
            audit.record("exchange.grant_expired", obj=g, detail={"valid_to": str(g.valid_to)})
            n += 1
    return n


# --- Clients ----------------------------------------------------------------------------------
CLIENT_PREFIX = "ywc_"


def do_create_client(
    *, actor: User | None, name: str, department: Department | None = None
) -> tuple[ExchangeClient, str]:
    """A credential for one of the actor's department's systems; the secret is shown once.
    (``actor=None`` with a ``department`` is for seeding and the command line.)"""
    _require(actor, Cap.DATA_GRANT)
    dept = _own_department(actor) if actor is not None else department
    if dept is None:
        raise ValidationFailed(fields={"department": [_("Name the department.")]})
    if not name.strip():
        raise ValidationFailed(fields={"name": [_("Name the system.")]})
    client_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        c = ExchangeClient.objects.create(
            department=dept,
            name=name.strip()[:100],
            client_id=client_id,
            digest=sm3_hex(secret.encode()),
            created_by=actor,
        )
        audit.record("exchange.client_created", actor=actor, obj=c)
    return c, f"{CLIENT_PREFIX}{client_id}_{secret}"


def do_revoke_client(*, actor: User, client_pk: int) -> ExchangeClient:
    c = selectors.list_clients_for(actor).filter(pk=client_pk).first()
    if c is None:
        raise NotFound()
    with transaction.atomic():
        c.revoked_at = c.revoked_at or timezone.now()
        c.save(update_fields=["revoked_at"])
        audit.record("exchange.client_revoked", actor=actor, obj=c)
    return c


def client_for(token: str) -> ExchangeClient | None:
    """The active client a ``ywc_<id>_<secret>`` credential belongs to, if any."""
    if not token.startswith(CLIENT_PREFIX):
        return None
    client_id, sep, secret = token[len(CLIENT_PREFIX) :].partition("_")
    if not sep:
        return None
    c = (
        ExchangeClient.objects.select_related("department")
        .filter(client_id=client_id, revoked_at__isnull=True)
        .first()
    )
    if c is None or not hmac.compare_digest(c.digest, sm3_hex(secret.encode())):
        return None
    now = timezone.now()
    if c.last_used_at is None or now - c.last_used_at > dt.timedelta(minutes=5):
        ExchangeClient.objects.filter(pk=c.pk).update(last_used_at=now)
    return c


def log_refused_credential(
    *,
    authorization: str,
    dataset_code: str,
    body: bytes,
    ip: str | None,
    session_user: User | None = None,
) -> ExchangeLog:
    """A call to the exchange without a valid credential (none, malformed, unknown, wrong
    secret, revoked): logged like every other refusal (401), with the client when the
    credential names one, and chained into the audit log."""
    token = authorization.split(" ", 1)[1].strip() if " " in authorization else ""
    client = None
    if not authorization and session_user is not None:
        reason = "session not accepted (CSRF check failed)"
    elif not authorization:
        reason = "no credential"
    elif not token.startswith(CLIENT_PREFIX):
        reason = "not an exchange credential"
    else:
        client_id = token[len(CLIENT_PREFIX) :].partition("_")[0]
        client = (
            ExchangeClient.objects.select_related("department").filter(client_id=client_id).first()
        )
        if client is None:
            reason = "unknown credential"
        elif client.revoked_at is not None:
            reason = "revoked credential"
        else:
            reason = "wrong secret"
    now = timezone.now()
    request_doc = {"service": dataset_code[:100], "body_sm3": sm3_hex(body)}
    response_doc = {"refused": reason, "status": 401}
    with transaction.atomic():
        log = ExchangeLog.objects.create(
            at=now,
            client=client,
            requester=client.department if client is not None else None,
            dataset=Dataset.objects.filter(code=dataset_code).first(),
            service=dataset_code[:100],
            request_hash=message_hash(request_doc),
            response_hash=message_hash(response_doc),
            result=ExchangeResult.DENIED,
            status_code=401,
            reason=reason,
        )
        audit.record(
            "exchange.call",
            actor=session_user,
            obj=log,
            result=AuditResult.DENIED,
            ip=ip,
            detail={
                "service": dataset_code[:100],
                "client": client.client_id if client is not None else "",
                "status": 401,
                "reason": reason,
                "request_hash": log.request_hash,
                "response_hash": log.response_hash,
            },
        )
    return log


# --- The exchange -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    """Who asks: a department, through one of its systems (client) or a staff member."""

    department: Department | None
    client: ExchangeClient | None = None
    user: User | None = None
    user_label: str = ""

    @classmethod
    def for_user(cls, user: User) -> Caller:
        return cls(department=user.department, user=user, user_label=user.get_username())

    @classmethod
    def for_client(cls, client: ExchangeClient, user_label: str = "") -> Caller:
        return cls(department=client.department, client=client, user_label=user_label[:150])


class Refused(DomainError):
    status = 403
    code = "exchange_denied"

    def __init__(self, message: Any, *, result: str = ExchangeResult.DENIED, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.result = result


def _mask(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return value
    masker = MASKERS.get(kind)
    text = str(value)
    if masker is not None:
        return masker(text)
    return text[:1] + "*" * max(len(text) - 1, 1)


def _grants_and_dataset(caller: Caller, dataset_code: str) -> tuple[list[Grant], Dataset | None]:
    """The caller's decided grants on the dataset, and the dataset (one query when granted)."""
    grants: list[Grant] = []
    if caller.department is not None:
        grants = list(
            Grant.objects.select_related("dataset")
            .filter(dataset__code=dataset_code, requester=caller.department)
            .exclude(status=GrantStatus.REQUESTED)
        )
    ds = grants[0].dataset if grants else Dataset.objects.filter(code=dataset_code).first()
    return grants, ds


def _decide(
    caller: Caller,
    ds: Dataset | None,
    grants: list[Grant],
    subject: str,
    fields: list[str],
    purpose: str,
    case: str,
) -> tuple[Grant, dict[str, Any]]:
    """Decide and answer one message (all but the quota), or raise ``Refused``."""
    if caller.department is None:
        raise Refused(_("The caller belongs to no department."))
    if caller.user is not None and not caller.user.can(Cap.DATA_CATALOG):
        raise Refused(_("You may not query the data exchange."))
    errors: dict[str, list[str]] = {}
    if not purpose.strip():
        errors["purpose"] = [_("State the purpose of the call.")]
    if not case.strip():
        errors["case"] = [_("Name the case or application the call serves.")]
    if not subject.strip():
        errors["subject"] = [_("Name the data subject (credit code or ID number).")]
    if not fields:
        errors["fields"] = [_("Ask for at least one field.")]
    if errors:
        raise Refused(
            _("The request is incomplete."),
            result=ExchangeResult.INVALID,
            status=422,
            code="validation_error",
            fields=errors,
        )
    if ds is None:
        raise Refused(_("No such service."), result=ExchangeResult.NOT_FOUND, status=404)
    if ds.owner_id == caller.department.pk:
        raise Refused(_("Read your own dataset through its pages, not the exchange."))
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
            raise Refused(_("The grant has been revoked."))
        if any(
            g.status == GrantStatus.EXPIRED
            or (g.status in ACTIVE_GRANT and g.valid_to and g.valid_to < today)
            for g in grants
        ):
            raise Refused(_("The grant has expired."))
        if any(g.status in ACTIVE_GRANT for g in grants):
            raise Refused(_("The grant is not valid yet."))
        raise Refused(_("No grant for this dataset: request one first."))
    covering = [g for g in live if set(fields) <= set(g.fields)]
    if not covering:
        outside = sorted(set(fields) - set().union(*(set(g.fields) for g in live)))
        raise Refused(
            _("Fields outside the grant: %s") % ", ".join(outside or fields),
            fields={"fields": [_("not granted")]},
        )
    grant = covering[0]
    sh = subject_hash(subject)
    recs = list(Record.objects.filter(dataset=ds, subject_hash=sh).order_by("id")) if sh else []
    unmasked = set(grant.unmasked_fields)
    masked_fields = [
        f for f in fields if ds.sensitivity(f) in PERSONAL_LEVELS and f not in unmasked
    ]
    rows = []
    for rec in recs:
        values = selectors.record_values(ds, rec)
        row = {}
        for f in fields:
            v = values.get(f)
            row[f] = _mask(v, (ds.field(f) or {}).get("mask", "")) if f in masked_fields else v
        rows.append(row)
    payload = {
        "dataset": ds.code,
        "version": ds.version,
        "fields": fields,
        "masked_fields": masked_fields,
        "records": rows,
    }
    return grant, payload


_COUNT_SQL = (
    "UPDATE exchange_grant SET "
    "calls_today = CASE WHEN calls_day = %s THEN calls_today + 1 ELSE 1 END, "
    "calls_day = %s, "
    "calls_this_minute = CASE WHEN calls_minute = %s THEN calls_this_minute + 1 ELSE 1 END, "
    "calls_minute = %s, "
    "calls_total = calls_total + 1 "
    "WHERE id = %s "
    "AND (calls_day IS NULL OR calls_day <> %s OR calls_today < daily_quota) "
    "AND (calls_minute <> %s OR calls_this_minute < rate_per_minute)"
)


def _count_call(grant: Grant) -> None:
    """Count one call against the grant's daily quota and per-minute rate: one conditional
    UPDATE (atomic under concurrency); ``Refused`` with 429 when either is used up."""
    from django.db import connection

    today = timezone.localdate()
    minute = int(timezone.now().timestamp() // 60)
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cur:
        cur.execute(_COUNT_SQL, [day, day, minute, minute, grant.pk, day, minute])
        ok = cur.rowcount
    if not ok:
        g = Grant.objects.get(pk=grant.pk)
        why = (
            _("The daily call quota of this grant is used up.")
            if g.calls_day == today and g.calls_today >= g.daily_quota
            else _("Too many calls this minute; slow down.")
        )
        raise Refused(why, result=ExchangeResult.LIMITED, status=429, code="too_many_requests")


def do_exchange(
    *,
    caller: Caller,
    dataset_code: str,
    subject: str,
    fields: list[str],
    purpose: str,
    case_ref: str,
    ip: str | None = None,
) -> dict[str, Any]:
    """Answer one exchange message with the granted fields (masked as granted), or refuse.

    The decision and the row read happen first; then the call is counted against the quota
    (one conditional UPDATE, committed on its own so the grant's row is locked only for it),
    and in one short transaction one ``ExchangeLog`` row and one audit record are written —
    also for a refusal, which is raised after they are committed.
    """
    fields = [str(f) for f in (fields or [])]
    purpose, case_ref = (purpose or "").strip()[:200], (case_ref or "").strip()[:100]
    grants, ds = _grants_and_dataset(caller, dataset_code)
    sh = subject_hash(subject)
    now = timezone.now()
    request_doc = {
        "department": caller.department.code if caller.department else "",
        "client": caller.client.client_id if caller.client else "",
        "user": caller.user_label,
        "service": dataset_code,
        "subject": sh,
        "fields": fields,
        "purpose": purpose,
        "case": case_ref,
        "at": now.isoformat(),
    }
    refusal: Refused | None = None
    grant: Grant | None = None
    payload: dict[str, Any] = {}
    try:
        grant, payload = _decide(caller, ds, grants, subject, fields, purpose, case_ref)
    except Refused as exc:
        refusal = exc
    if refusal is None and grant is not None:
        # Counted in its own statement (committed at once), so concurrent calls on one grant
        # do not queue behind each other's log and audit writes while its row is locked. A
        # call counted but then not logged (a crash in between) errs on the safe side.
        try:
            _count_call(grant)
        except Refused as exc:
            refusal = exc
    with transaction.atomic():
        if refusal is None and not payload["records"]:
            refusal = Refused(
                _("No record for this subject."), result=ExchangeResult.NOT_FOUND, status=404
            )
        result = refusal.result if refusal else ExchangeResult.OK
        status = refusal.status if refusal else 200
        reason = str(refusal.message) if refusal else ""
        served = payload.get("fields", []) if refusal is None else []
        response_doc = payload if refusal is None else {"refused": reason, "status": status}
        log = ExchangeLog.objects.create(
            at=now,
            client=caller.client,
            requester=caller.department,
            user=caller.user_label,
            dataset=ds,
            service=dataset_code[:100],
            grant=grant,
            case_ref=case_ref,
            purpose=purpose,
            subject_hash=sh,
            fields=fields,
            fields_served=served,
            request_hash=message_hash(request_doc),
            response_hash=message_hash(response_doc),
            result=result,
            status_code=status,
            reason=reason[:300],
        )
        audit.record(
            "exchange.call",
            actor=caller.user,
            obj=log,
            subject_id=sh,
            fields=served or fields,
            purpose=purpose,
            result=AuditResult.OK if refusal is None else AuditResult.DENIED,
            ip=ip,
            detail={
                "service": dataset_code[:100],
                "department": request_doc["department"],
                "client": request_doc["client"],
                "user": caller.user_label,
                "case": case_ref,
                "request_hash": log.request_hash,
                "response_hash": log.response_hash,
                "status": status,
                "reason": reason[:300],
            },
        )
    if refusal is not None:
        raise refusal
    return {
        **payload,
        "log_id": log.pk,
        "request_hash": log.request_hash,
        "response_hash": log.response_hash,
    }


# --- Individuals' rights ----------------------------------------------------------------------
def do_export_own_data(*, actor: User) -> dict[str, Any]:
    """Everything the data system holds about the actor, as JSON (the export is audited)."""
    data = selectors.my_data(actor)
    audit.record(
        "exchange.own_data_exported",
        actor=actor,
        object_type="accounts.user",
        object_id=str(actor.pk),
        subject_id=str(actor.pk),
        fields=sorted(data),
        purpose="data subject's own export",
    )
    return {"subject": actor.get_username(), "datasets": data}


# --- Quality ----------------------------------------------------------------------------------
def do_run_quality(*, actor: User, code: str) -> Any:
    """Run the dataset's quality rules now (the owner; also run nightly for every dataset)."""
    from yiwang.exchange.quality import run_quality

    ds = selectors.access_owned_dataset(actor, code)
    return run_quality(ds, actor=actor)


CORRECTION_DAYS = 15


def do_request_correction(
    *, actor: User, dataset_code: str, field: str, value: str, explanation: str = ""
) -> Any:
    """A resident or enterprise asks the owner to correct one field of their own row; the
    request goes to the owning department with an answer-by date."""
    from yiwang.exchange.models import CorrectionRequest

    if not actor.can(Cap.PORTAL):
        raise Forbidden()
    hashes = selectors.own_subject_hashes(actor)
    ds = Dataset.objects.filter(code=dataset_code).first()
    rec = (
        Record.objects.filter(dataset=ds, subject_hash__in=hashes).order_by("id").first()
        if ds is not None and hashes
        else None
    )
    if ds is None or rec is None:
        raise NotFound()
    errors = Errors()
    if field not in ds.field_names:
        errors.add("field", _("Not a field of this dataset."))
    elif field in ds.primary_key:
        errors.add("field", _("The identifying fields cannot be corrected this way."))
    if not str(value).strip():
        errors.add("value", _("Give the correct value."))
    errors.raise_if_any()
    with transaction.atomic():
        c = CorrectionRequest.objects.create(
            dataset=ds,
            record=rec,
            requester=actor,
            field=field,
            proposed=str(value).strip()[:2000],
            explanation=explanation.strip()[:2000],
            due_on=timezone.localdate() + dt.timedelta(days=CORRECTION_DAYS),
        )
        audit.record(
            "exchange.correction_requested",
            actor=actor,
            obj=c,
            subject_id=rec.subject_hash,
            fields=[field],
            detail={"dataset": ds.code, "due_on": str(c.due_on)},
        )
    return c


def do_decide_correction(
    *, actor: User, correction_id: int, accept: bool, response: str = ""
) -> Any:
    """The owner accepts (the row is reloaded with the value, checked against the schema and
    versioned like any load) or rejects (with a response) a correction request."""
    from yiwang.exchange.models import CorrectionRequest, CorrectionStatus

    c = selectors.list_corrections_for(actor).filter(pk=correction_id).first()
    if c is None:
        raise NotFound()
    if c.status != CorrectionStatus.OPEN:
        raise Conflict(_("This request has been decided already."))
    if not accept and not response.strip():
        raise ValidationFailed(fields={"response": [_("Give the reason.")]})
    ds = c.dataset
    with transaction.atomic():
        c = CorrectionRequest.objects.select_for_update().get(pk=c.pk)
        if accept:
            if c.record is None:
                raise Conflict(_("The row no longer exists."))
            row = selectors.record_values(ds, c.record)
            row[c.field] = c.proposed
            version = do_load_dataset(
                actor=actor,
                code=ds.code,
                source="api",
                content=[row],
                filename=f"correction-{c.pk}",
                dataset=ds,
            )
            if version.rows_rejected:
                raise ValidationFailed(
                    fields={
                        "value": [
                            _("The value does not fit the schema: %s")
                            % "; ".join(e["message"] for e in version.errors)
                        ]
                    }
                )
            c.status = CorrectionStatus.ACCEPTED
        else:
            c.status = CorrectionStatus.REJECTED
        c.decided_by, c.decided_at, c.response = actor, timezone.now(), response.strip()
        c.save()
        audit.record(
            "exchange.correction_decided",
            actor=actor,
            obj=c,
            fields=[c.field],
            detail={"accepted": accept, "dataset": ds.code},
        )
    return c


def _anonymise_plan(ds: Dataset) -> tuple[set[str], set[str]]:
    """(fields removed, date fields cut to the year) when ``ds``'s rows are anonymised: the
    personal fields, the data-subject field and fields marked ``"anonymise": "drop"`` go;
    ``"anonymise": "year"`` keeps only the year of a date."""
    removed = set(ds.personal_field_names)
    if ds.subject_field:
        removed.add(ds.subject_field)
    years: set[str] = set()
    for f in ds.fields:
        how = f.get("anonymise")
        if how == "drop":
            removed.add(f["name"])
        elif how == "year":
            years.add(f["name"])
    return removed, years - removed


def _anonymise(ds: Dataset, cutoff: dt.datetime, now: dt.datetime) -> tuple[int, int, list[str]]:
    removed, years = _anonymise_plan(ds)
    old = Record.objects.filter(dataset=ds, updated_at__lt=cutoff, anonymised_at__isnull=True)
    revisions = RecordRevision.objects.filter(record__in=old)
    n_revisions = revisions.count()
    revisions.delete()  # they hold earlier values of the same person
    done = 0
    last = 0
    while True:
        batch = list(old.filter(pk__gt=last).order_by("pk")[:1000])
        if not batch:
            break
        for rec in batch:
            data = {k: v for k, v in rec.data.items() if k not in removed and k != FILLED_KEY}
            for name in years:
                value = data.get(name)
                if isinstance(value, str) and len(value) >= 4:
                    data[name] = value[:4]
            rec.data = data
            rec.sealed = ""
            rec.subject_hash = ""
            # the key may be the person's ID: a random key unlinks the row for good
            rec.key_hash = "anon:" + secrets.token_hex(16)
            rec.anonymised_at = now
        Record.objects.bulk_update(
            batch, ["data", "sealed", "subject_hash", "key_hash", "anonymised_at"]
        )
        done += len(batch)
        last = batch[-1].pk
    return done, n_revisions, sorted(removed)


def purge_expired(now: dt.datetime | None = None) -> list[Any]:
    """Rows of datasets with a retention period that were not updated within it are deleted
    — or anonymised, when the dataset says so (personal fields, the data subject and fields
    marked ``drop`` removed, ``year`` dates cut to the year, the key replaced by a random
    one, earlier revisions deleted); one ``PurgeRun`` (the purge report) and one audit
    record per dataset touched."""
    from yiwang.exchange.models import PurgeRun, RetentionAction

    now = now or timezone.now()
    reports = []
    for ds in Dataset.objects.filter(retention_days__isnull=False).order_by("code"):
        assert ds.retention_days is not None
        cutoff = now - dt.timedelta(days=ds.retention_days)
        with transaction.atomic():
            if ds.retention_action == RetentionAction.ANONYMISE:
                n, revisions, fields = _anonymise(ds, cutoff, now)
                if not n:
                    continue
                run = PurgeRun.objects.create(
                    dataset=ds,
                    at=now,
                    cutoff=cutoff,
                    action=RetentionAction.ANONYMISE,
                    records_anonymised=n,
                    revisions_deleted=revisions,
                    fields_removed=fields,
                )
                detail = {"anonymised": n, "revisions": revisions, "fields_removed": fields}
            else:
                old = Record.objects.filter(dataset=ds, updated_at__lt=cutoff)
                revisions = RecordRevision.objects.filter(record__in=old).count()
                n = old.count()
                if not n:
                    continue
                old.delete()
                ds.rows = Record.objects.filter(dataset=ds).count()
                ds.save(update_fields=["rows", "updated_at"])
                run = PurgeRun.objects.create(
                    dataset=ds,
                    at=now,
                    cutoff=cutoff,
                    records_deleted=n,
                    revisions_deleted=revisions,
                )
                detail = {"records": n, "revisions": revisions}
            audit.record(
                "exchange.retention_purge",
                obj=ds,
                detail={**detail, "action": run.action, "cutoff": cutoff.isoformat()},
            )
        reports.append(run)
    return reports
