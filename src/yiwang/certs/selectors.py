"""Scoped reads of certificates and copies.

- A holder (resident or enterprise user, ``portal.access``) sees the certificates issued to
  them — linked to their account, or whose holder code is their ID number / credit code —
  and the copies made of them.
- Staff of the issuing department (department staff or leader) see what it issued.
- Staff of a recipient department see the copies addressed to it, while they are in force.
Anything else is a 404 (``NotFound``); a missing capability on a collection is a 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Cap, Role
from yiwang.certs.models import Certificate, CertificateCopy, CertificateStatus, CertificateType
from yiwang.core.errors import Forbidden, NotFound
from yiwang.core.personal import blind_index_for

#: Roles of an issuing department's staff who may issue and revoke (until a dedicated
#: capability exists: see the integration notes in docs/certs.md).
ISSUER_ROLES = frozenset({Role.DEPT_STAFF, Role.DEPT_LEADER})


def is_holder_user(actor: Any) -> bool:
    return bool(actor is not None and actor.is_authenticated and actor.can(Cap.PORTAL))


def is_department_staff(actor: Any, department_id: int | None = None) -> bool:
    if actor is None or not actor.is_authenticated or not actor.can(Cap.CONSOLE):
        return False
    if actor.role not in ISSUER_ROLES or actor.department_id is None:
        return False
    return department_id is None or actor.department_id == department_id


def holder_codes(actor: User) -> list[str]:
    codes = []
    if actor.id_number:
        codes.append(actor.id_number)
    if actor.credit_code:
        codes.append(actor.credit_code)
    return codes


def _holder_q(actor: User, prefix: str = "") -> Q:
    q = Q(**{f"{prefix}holder_user": actor})
    for code in holder_codes(actor):
        q |= Q(**{f"{prefix}holder_code_index": _index(code)})
    return q


def _index(code: str) -> str:
    return blind_index_for(Certificate, "holder_code_index", code)


def _base() -> QuerySet[Certificate]:
    return Certificate.objects.select_related("type", "issuing_department", "key", "revocation")


def list_my_certificates(actor: User) -> QuerySet[Certificate]:
    if not is_holder_user(actor):
        raise Forbidden()
    return _base().filter(_holder_q(actor)).order_by("-issue_date", "-id")


def list_issued_certificates(
    actor: User, *, q: str = "", type_code: str = "", status: str = ""
) -> QuerySet[Certificate]:
    if not is_department_staff(actor):
        raise Forbidden()
    qs = _base().filter(issuing_department_id=actor.department_id)
    if q:
        qs = qs.filter(
            Q(number__icontains=q)
            | Q(identifier__icontains=q)
            | Q(holder_name__icontains=q)
            | Q(holder_code_index=_index(q))
        )
    if type_code:
        qs = qs.filter(type__code=type_code)
    if status == "revoked":
        qs = qs.filter(status="revoked")
    elif status == "expired":
        qs = qs.exclude(status="revoked").filter(valid_to__lt=timezone.localdate())
    elif status == "valid":
        qs = qs.exclude(status="revoked").filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=timezone.localdate())
        )
    return qs.order_by("-issue_date", "-id")


def is_holder_of(actor: Any, cert: Certificate) -> bool:
    if not is_holder_user(actor):
        return False
    if cert.holder_user_id is not None and cert.holder_user_id == actor.pk:
        return True
    return cert.holder_code_index in {_index(c) for c in holder_codes(actor)}


def access_certificate(actor: User, identifier: str) -> Certificate:
    """A certificate its holder or its issuing department's staff may see."""
    cert = _base().filter(identifier=identifier).first()
    if cert is None:
        raise NotFound()
    if is_holder_of(actor, cert) or is_department_staff(actor, cert.issuing_department_id):
        return cert
    raise NotFound()


def access_issued_certificate(actor: User, identifier: str) -> Certificate:
    """A certificate of the actor's own department (to revoke it)."""
    cert = _base().filter(identifier=identifier).first()
    if cert is None or not is_department_staff(actor, cert.issuing_department_id):
        raise NotFound()
    return cert


def _copies() -> QuerySet[CertificateCopy]:
    return CertificateCopy.objects.select_related(
        "certificate",
        "certificate__type",
        "certificate__issuing_department",
        "recipient_department",
        "creator",
        "key",
    )


def list_my_copies(actor: User) -> QuerySet[CertificateCopy]:
    if not is_holder_user(actor):
        raise Forbidden()
    return _copies().filter(_holder_q(actor, "certificate__")).order_by("-created_at")


def list_received_copies(actor: User, *, current: bool = True) -> QuerySet[CertificateCopy]:
    if not is_department_staff(actor):
        raise Forbidden()
    qs = _copies().filter(recipient_department_id=actor.department_id)
    if current:
        qs = qs.filter(expires_at__gt=timezone.now())
    return qs.order_by("-created_at")


def access_copy(actor: User, identifier: str) -> CertificateCopy:
    cp = _copies().filter(identifier=identifier).first()
    if cp is None:
        raise NotFound()
    cert = cp.certificate
    if is_holder_of(actor, cert) or is_department_staff(actor, cert.issuing_department_id):
        return cp
    if is_department_staff(actor, cp.recipient_department_id) and not cp.expired:
        return cp
    raise NotFound()


def copy_recipients(actor: User, cert: Certificate) -> QuerySet[Department]:
    """Departments a copy may be made for: active ones other than the issuer."""
    return Department.objects.filter(active=True).exclude(pk=cert.issuing_department_id)


def list_types(active: bool = True) -> QuerySet[CertificateType]:
    qs = CertificateType.objects.all()
    return qs.filter(active=True) if active else qs


def valid_certificate_of_type(actor: User, type_code: str) -> Certificate | None:
    """The holder's currently valid certificate of ``type_code`` (newest first), or None —
    what 一网通办 uses to waive a material (免提交)."""
    if not is_holder_user(actor):
        return None
    today = timezone.localdate()
    for cert in (
        _base().filter(_holder_q(actor), type__code=type_code).order_by("-issue_date", "-id")[:10]
    ):
        if cert.effective_status(today) == CertificateStatus.VALID:
            return cert
    return None
