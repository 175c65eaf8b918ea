"""API shapes of electronic certificates. The holder code is never sent in full."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema

from yiwang.certs import signing


class VerifyIn(Schema):
    qr_payload: str
    holder_code: str = ""


class ReasonOut(Schema):
    code: str
    message: str


class VerificationOut(Schema):
    valid: bool
    kind: str
    reasons: list[ReasonOut]
    claims: dict[str, Any]
    signature_ok: bool
    checked_registry: bool


class CertificateOut(Schema):
    identifier: str
    number: str
    type_code: str
    type_name: str
    holder_name: str
    holder_code_masked: str
    holder_code_type: str
    issuer_name: str
    issuer_code: str
    issue_date: dt.date
    valid_from: dt.date
    valid_to: dt.date | None
    area_code: str
    status: str
    data: dict[str, Any]
    kid: str
    algorithm: str
    source_ref: str
    qr_payload: str
    revoked_at: dt.datetime | None = None
    revocation_reason: str = ""

    @staticmethod
    def resolve_type_code(obj: Any) -> str:
        return str(obj.type.code)

    @staticmethod
    def resolve_type_name(obj: Any) -> str:
        return str(obj.type.name)

    @staticmethod
    def resolve_holder_code_masked(obj: Any) -> str:
        return signing.mask_code(obj.holder_code, obj.holder_code_type)

    @staticmethod
    def resolve_status(obj: Any) -> str:
        return str(obj.effective_status())

    @staticmethod
    def resolve_kid(obj: Any) -> str:
        return str(obj.key.kid)

    @staticmethod
    def resolve_qr_payload(obj: Any) -> str:
        return str(obj.payload())

    @staticmethod
    def resolve_revoked_at(obj: Any) -> dt.datetime | None:
        rev = getattr(obj, "revocation", None) if obj.status == "revoked" else None
        return rev.revoked_at if rev else None

    @staticmethod
    def resolve_revocation_reason(obj: Any) -> str:
        rev = getattr(obj, "revocation", None) if obj.status == "revoked" else None
        return str(rev.reason) if rev else ""


class CopyIn(Schema):
    purpose: str
    recipient_department: str
    expires_at: dt.date | None = None


class CopyOut(Schema):
    identifier: str
    certificate: str
    type_name: str
    purpose: str
    recipient_department_code: str
    recipient_department_name: str
    created_at: dt.datetime
    expires_at: dt.datetime
    expired: bool
    qr_payload: str

    @staticmethod
    def resolve_certificate(obj: Any) -> str:
        return str(obj.certificate.identifier)

    @staticmethod
    def resolve_type_name(obj: Any) -> str:
        return str(obj.certificate.type.name)

    @staticmethod
    def resolve_recipient_department_code(obj: Any) -> str:
        return str(obj.recipient_department.code)

    @staticmethod
    def resolve_recipient_department_name(obj: Any) -> str:
        return str(obj.recipient_department.name)

    @staticmethod
    def resolve_qr_payload(obj: Any) -> str:
        return str(obj.payload())


class RevokeIn(Schema):
    reason: str
