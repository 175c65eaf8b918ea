"""Kernel reads. The audit log is readable by the audit admin only (三权分立).

Out-of-scope answers ``NotFound``: an actor who may not read the audit log is not told it
exists. Reading the log is itself recorded (the auditor is audited too).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from yiwang.core import audit
from yiwang.core.errors import NotFound
from yiwang.core.models import AuditRecord

AUDIT_READ = "audit.read"
AUDIT_VERIFY = "audit.verify"


def _can(user: Any, cap: str) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.can(cap))


def list_audit_records_for(
    user: Any,
    *,
    event: str = "",
    actor: str = "",
    object_type: str = "",
    object_id: str = "",
    subject_id: str = "",
) -> QuerySet[AuditRecord]:
    if not _can(user, AUDIT_READ):
        raise NotFound()
    qs = AuditRecord.objects.order_by("-seq")
    filters = {
        "event__startswith": event,
        "actor": actor,
        "object_type": object_type,
        "object_id": object_id,
        "subject_id": subject_id,
    }
    qs = qs.filter(**{k: v for k, v in filters.items() if v})
    audit.record(
        "audit.read",
        actor=user,
        object_type="core.auditrecord",
        detail={k: v for k, v in filters.items() if v},
    )
    return qs


def verify_audit_chain_for(user: Any) -> audit.VerifyResult:
    if not _can(user, AUDIT_VERIFY):
        raise NotFound()
    result = audit.verify()
    audit.record(
        "audit.verified",
        actor=user,
        object_type="core.auditrecord",
        result="ok" if result.ok else "failed",
        detail={"checked": result.checked, "first_bad_seq": result.first_bad_seq},
    )
    return result


def list_accesses_to(subject_id: str) -> QuerySet[AuditRecord]:
    """Who read a person's data, when and why — for that person's own view."""
    return AuditRecord.objects.filter(subject_id=subject_id).order_by("-seq")
