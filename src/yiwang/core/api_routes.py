"""Kernel API: the audit log (audit admin only), chain verification, identifier checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from yiwang.core import selectors
from yiwang.core.api import PageNumber, error_responses
from yiwang.core.ids import validate_credit_code, validate_resident_id

router = Router()
ERRORS: dict[int, Any] = error_responses()


class AuditRecordOut(Schema):
    seq: int
    at: datetime
    actor_id: int | None
    actor: str
    department: str
    ip: str
    event: str
    object_type: str
    object_id: str
    fields: list[str]
    purpose: str
    result: str
    detail: dict[str, Any]
    hash: str


class VerifyOut(Schema):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    problem: str


class IdCheckIn(Schema):
    kind: str  # resident_id | credit_code
    value: str


class IdCheckOut(Schema):
    valid: bool
    kind: str
    error: str
    warnings: list[str]
    sex: str
    birth_date: str | None
    division: str


@router.get(
    "/audit/records",
    response={200: list[AuditRecordOut], **ERRORS},
    summary="Audit log (audit admin)",
)
@paginate(PageNumber)
def audit_records(
    request: HttpRequest,
    event: str = "",
    actor: str = "",
    object_type: str = "",
    object_id: str = "",
) -> Any:
    return selectors.list_audit_records_for(
        request.user, event=event, actor=actor, object_type=object_type, object_id=object_id
    )


@router.post("/audit/verify", response={200: VerifyOut, **ERRORS}, summary="Verify the audit chain")
def audit_verify(request: HttpRequest) -> Any:
    return selectors.verify_audit_chain_for(request.user).as_dict()


@router.post(
    "/ids/check",
    response={200: IdCheckOut, **ERRORS},
    summary="Validate an ID number or credit code",
)
def check_id(request: HttpRequest, payload: IdCheckIn) -> Any:
    from yiwang.core.errors import ValidationFailed

    if payload.kind == "resident_id":
        chk = validate_resident_id(payload.value)
    elif payload.kind == "credit_code":
        chk = validate_credit_code(payload.value)
    else:
        raise ValidationFailed(fields={"kind": ["resident_id or credit_code"]})
    return {
        "valid": chk.valid,
        "kind": payload.kind,
        "error": chk.error,
        "warnings": chk.warnings,
        "sex": chk.sex,
        "birth_date": chk.birth_date.isoformat() if chk.birth_date else None,
        "division": chk.division,
    }
