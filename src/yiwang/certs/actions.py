"""Writes of electronic certificates: issue, revoke, make a copy (加注件), manage keys; and
the server-side verification (signature, issuer registry, revocation).

Every write is atomic and audited (never with the holder's code in the record), and publishes
an event after commit: ``certs.issued``, ``certs.revoked``, ``certs.copy_created``.
``do_issue_certificate`` is what other apps (the one-stop service, on an approved matter)
call; its keyword signature is kept stable.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from stdnum.iso7064 import mod_37_36

from yiwang.accounts.models import Department, User
from yiwang.certs import keys as certkeys
from yiwang.certs import selectors, signing
from yiwang.certs.models import (
    Certificate,
    CertificateCopy,
    CertificateStatus,
    CertificateType,
    HolderCodeType,
    IssuerKey,
    KeyStatus,
    Revocation,
)
from yiwang.core import audit, events
from yiwang.core.errors import Conflict, Errors, Forbidden, NotFound, ValidationFailed
from yiwang.core.ids import validate_credit_code, validate_resident_id
from yiwang.core.masking import mask_name

#: Longest a copy (加注件) may live, and the default.
MAX_COPY_DAYS = 90
DEFAULT_COPY_DAYS = 30
OID_ROOT = "1.2.156.3005.2"  # the 电子证照 identifier root (GB/T 36903 style)


def _is_date(v: Any) -> bool:
    return isinstance(v, dt.date) and not isinstance(v, dt.datetime)


def _as_date(v: Any) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return timezone.localtime(v).date() if timezone.is_aware(v) else v.date()
    if _is_date(v):
        return v  # type: ignore[no-any-return]
    return dt.date.fromisoformat(str(v))


def _identifier(type_code: str, issuer_code: str, issue_date: dt.date) -> str:
    serial = f"{issue_date:%Y%m%d}{secrets.randbelow(10**8):08d}"
    issuer = re.sub(r"[^0-9A-Za-z]", "", issuer_code).upper()[:24] or "X"
    tc = re.sub(r"[^0-9A-Za-z]", "", type_code).upper()[:16] or "X"
    check = mod_37_36.calc_check_digit(f"{tc}{issuer}{serial}")
    return f"{OID_ROOT}.{tc}.{issuer}.{serial}.{check}"


def _number(ctype: CertificateType, area_code: str, issue_date: dt.date) -> str:
    count = Certificate.objects.filter(type=ctype, issue_date__year=issue_date.year).count()
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", ctype.code) if p]
    short = "".join(p[0] for p in parts).upper() if len(parts) > 1 else ctype.code[-4:].upper()
    return f"{area_code[:6]}{issue_date:%Y}{short}{count + 1:06d}"


def build_claims(cert: Certificate, *, signed_at: dt.datetime) -> dict[str, Any]:
    return {
        "v": 1,
        "k": signing.KIND_CERTIFICATE,
        "id": cert.identifier,
        "tc": cert.type.code,
        "tn": cert.type.name,
        "no": cert.number,
        "hn": cert.holder_name,
        "hct": cert.holder_code_type,
        "hcm": signing.mask_code(cert.holder_code, cert.holder_code_type),
        "hch": signing.holder_code_hash(cert.identifier, cert.holder_code),
        "ian": cert.issuer_name,
        "iac": cert.issuer_code,
        "ia": cert.issue_date.isoformat(),
        "vf": cert.valid_from.isoformat(),
        "vt": cert.valid_to.isoformat() if cert.valid_to else None,
        "ac": cert.area_code,
        "dh": signing.data_hash(cert.data),
        "iat": int(signed_at.timestamp()),
    }


def _check_issue(
    *,
    actor: User | None,
    type_code: str,
    holder_name: str,
    holder_code: str,
    holder_code_type: str,
    issuing_department: Department | None,
    data: Any,
    valid_from: Any,
    valid_to: Any,
    area_code: str,
) -> tuple[CertificateType | None, str, dt.date | None, dt.date | None]:
    errors = Errors()
    ctype = CertificateType.objects.filter(code=type_code, active=True).first()
    if ctype is None:
        errors.add("type_code", _("Unknown certificate type."))
    if not holder_name.strip():
        errors.add("holder_name", _("Give the holder's name."))
    code = signing.normalize_code(holder_code or "")
    if holder_code_type == HolderCodeType.RESIDENT_ID:
        chk = validate_resident_id(code)
        if not chk.valid:
            errors.add("holder_code", chk.error)
        code = chk.value if chk.valid else code
    elif holder_code_type == HolderCodeType.CREDIT_CODE:
        chk = validate_credit_code(code, strict=False)
        if not chk.valid:
            errors.add("holder_code", chk.error)
    else:
        errors.add("holder_code_type", _("The holder code type is ric or uscc."))
    if issuing_department is None:
        errors.add("issuing_department", _("Name the issuing department."))
    if actor is not None and (
        issuing_department is None
        or not selectors.is_department_staff(actor, issuing_department.pk)
    ):
        raise Forbidden(_("Only staff of the issuing department may issue its certificates."))
    if not isinstance(data, dict):
        errors.add("data", _("The certificate data is an object of named fields."))
        data = {}
    if ctype is not None:
        for f in ctype.fields:
            if f.get("required") and data.get(f["name"]) in (None, "", []):
                errors.add(f"data.{f['name']}", _("This field is required."))
    try:
        vf = _as_date(valid_from)
    except ValueError:
        vf = None
        errors.add("valid_from", _("Enter a date as YYYY-MM-DD."))
    try:
        vt = _as_date(valid_to)
    except ValueError:
        vt = None
        errors.add("valid_to", _("Enter a date as YYYY-MM-DD."))
    if vf is None and "valid_from" not in errors:
        errors.add("valid_from", _("Give the first day of validity."))
    if vf and vt and vt < vf:
        errors.add("valid_to", _("The end of validity is before its start."))
    if not re.fullmatch(r"\d{6}(\d{3}(\d{3})?)?", area_code or ""):
        errors.add("area_code", _("An area code is a GB/T 2260 code of 6, 9 or 12 digits."))
    errors.raise_if_any()
    return ctype, code, vf, vt


def do_issue_certificate(
    *,
    actor: User | None,
    type_code: str,
    holder_name: str,
    holder_code: str,
    holder_code_type: str,
    holder_user: User | None = None,
    issuing_department: Department,
    data: dict[str, Any],
    valid_from: dt.date | str | None,
    valid_to: dt.date | str | None,
    area_code: str,
    source_ref: str = "",
    number: str = "",
    issue_date: dt.date | None = None,
    algorithm: str = "",
) -> Certificate:
    """Issue and sign a certificate for the issuing department.

    ``actor`` is the department's staff member (or ``None`` for the system, e.g. a batch or
    the demo). ``valid_to`` ``None`` takes the type's default validity counted from
    ``valid_from``, or long-term (长期有效) when the type has none. Returns the saved
    certificate; the same ``source_ref`` and type twice is a conflict (nothing issued).
    """
    ctype, code, vf, vt = _check_issue(
        actor=actor,
        type_code=type_code,
        holder_name=holder_name,
        holder_code=holder_code,
        holder_code_type=holder_code_type,
        issuing_department=issuing_department,
        data=data,
        valid_from=valid_from,
        valid_to=valid_to,
        area_code=area_code,
    )
    assert ctype is not None and vf is not None
    if vt is None and ctype.validity_days:
        vt = vf + dt.timedelta(days=ctype.validity_days - 1)
    if source_ref and Certificate.objects.filter(source_ref=source_ref, type=ctype).exists():
        raise Conflict(
            _("A certificate of this type was already issued for %(ref)s.") % {"ref": source_ref}
        )
    if number and Certificate.objects.filter(type=ctype, number=number).exists():
        raise ValidationFailed(
            fields={"number": [_("A certificate of this type already has this number.")]}
        )
    issue_day = issue_date or timezone.localdate()
    key = certkeys.current_key(issuing_department, algorithm=algorithm)
    signer = certkeys.signer_for(key)
    for attempt in range(5):
        try:
            with transaction.atomic():
                cert = Certificate(
                    identifier=_identifier(ctype.code, issuing_department.code, issue_day),
                    number=number or _number(ctype, area_code, issue_day),
                    type=ctype,
                    holder_name=holder_name.strip(),
                    holder_code=code,
                    holder_code_type=holder_code_type,
                    holder_user=holder_user,
                    issuing_department=issuing_department,
                    issuer_name=issuing_department.name,
                    issuer_code=issuing_department.code,
                    issue_date=issue_day,
                    valid_from=vf,
                    valid_to=vt,
                    area_code=area_code,
                    data=dict(data),
                    key=key,
                    algorithm=key.algorithm,
                    source_ref=source_ref[:100],
                    issued_by=actor,
                )
                claims, sig = signing.sign_claims(
                    build_claims(cert, signed_at=timezone.now()), signer
                )
                cert.claims = claims
                cert.signature = signing._b64u(sig)
                cert.save()
                audit.record(
                    "certs.issued",
                    actor=actor,
                    obj=cert,
                    fields=["holder_name", "holder_code"],
                    purpose=source_ref[:200],
                    detail={
                        "type": ctype.code,
                        "number": cert.number,
                        "kid": key.kid,
                        "department": issuing_department.code,
                    },
                )
                events.publish(
                    "certs.issued",
                    {
                        "certificate": cert.pk,
                        "identifier": cert.identifier,
                        "type": ctype.code,
                        "source_ref": cert.source_ref,
                        "holder_user": holder_user.pk if holder_user else None,
                    },
                )
            return cert
        except IntegrityError:  # an identifier or number taken meanwhile: draw again
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def do_revoke_certificate(*, actor: User | None, identifier: str, reason: str) -> Certificate:
    """Revoke (注销) a certificate of the actor's department. A revoked one stays revoked:
    revoking it again is a conflict that changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Give the reason for the revocation.")]})
    if len(reason) > 300:
        raise ValidationFailed(fields={"reason": [_("At most 300 characters.")]})
    with transaction.atomic():
        if actor is None:
            cert = Certificate.objects.filter(identifier=identifier).first()
            if cert is None:
                raise NotFound()
        else:
            cert = selectors.access_issued_certificate(actor, identifier)
        cert = Certificate.objects.select_for_update().get(pk=cert.pk)
        if cert.status == CertificateStatus.REVOKED:
            rev = Revocation.objects.filter(certificate=cert).first()
            raise Conflict(
                _("This certificate was already revoked on %(date)s.")
                % {"date": timezone.localtime(rev.revoked_at).date() if rev else "?"}
            )
        Revocation.objects.create(certificate=cert, reason=reason, actor=actor)
        cert.status = CertificateStatus.REVOKED
        cert.save(update_fields=["status"])
        audit.record(
            "certs.revoked",
            actor=actor,
            obj=cert,
            purpose=reason[:200],
            detail={"type": cert.type.code, "number": cert.number},
        )
        events.publish(
            "certs.revoked",
            {"certificate": cert.pk, "identifier": cert.identifier, "source_ref": cert.source_ref},
        )
    return cert


def do_create_copy(
    *,
    actor: User,
    identifier: str,
    purpose: str,
    recipient_department: Department | str,
    expires_at: dt.datetime | dt.date | str | None = None,
) -> CertificateCopy:
    """Make a purpose-limited, time-limited copy (加注件) of a certificate for a department.

    The holder or the issuing department's staff may make one; the certificate must be in
    force; the copy expires within ``MAX_COPY_DAYS`` (end of day when a date is given)."""
    cert = selectors.access_certificate(actor, identifier)
    errors = Errors()
    purpose = (purpose or "").strip()
    if not purpose:
        errors.add("purpose", _("State what the copy is for."))
    elif len(purpose) > 200:
        errors.add("purpose", _("At most 200 characters."))
    if isinstance(recipient_department, str):
        recipient = Department.objects.filter(code=recipient_department, active=True).first()
    else:
        recipient = recipient_department
    if recipient is None:
        errors.add("recipient_department", _("Unknown department."))
    elif recipient.pk == cert.issuing_department_id:
        errors.add("recipient_department", _("The issuing department holds the original."))
    now = timezone.now()
    if expires_at is None or expires_at == "":
        exp: dt.datetime | None = now + dt.timedelta(days=DEFAULT_COPY_DAYS)
    else:
        try:
            if isinstance(expires_at, dt.datetime):
                exp = expires_at
            else:
                day = _as_date(expires_at)
                assert day is not None
                exp = timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))
        except ValueError:
            exp = None
            errors.add("expires_at", _("Enter a date as YYYY-MM-DD."))
    if exp is not None:
        if exp <= now:
            errors.add("expires_at", _("The expiry must be in the future."))
        elif exp > now + dt.timedelta(days=MAX_COPY_DAYS):
            errors.add(
                "expires_at",
                _("A copy lives at most %(days)s days.") % {"days": MAX_COPY_DAYS},
            )
    state = cert.effective_status()
    if state != CertificateStatus.VALID:
        errors.add(
            "__all__",
            _("Only a certificate in force can be copied; this one is %(state)s.")
            % {"state": CertificateStatus(state).label},
        )
    errors.raise_if_any()
    assert recipient is not None and exp is not None
    key = certkeys.current_key(cert.issuing_department)
    signer = certkeys.signer_for(key)
    with transaction.atomic():
        ident = f"{cert.identifier}.C{secrets.token_hex(4).upper()}"
        creator_name = getattr(actor, "display_name", "") or actor.username
        claims = {
            **{k: v for k, v in cert.claims.items() if k not in ("kid", "alg", "sig")},
            "k": signing.KIND_COPY,
            "cid": ident,
            "pu": purpose,
            "rn": recipient.name,
            "rc": recipient.code,
            "cr": mask_name(creator_name),
            "ex": exp.astimezone(dt.UTC).replace(microsecond=0).isoformat(),
            "iat": int(now.timestamp()),
        }
        claims, sig = signing.sign_claims(claims, signer)
        cp = CertificateCopy.objects.create(
            identifier=ident,
            certificate=cert,
            purpose=purpose,
            recipient_department=recipient,
            creator=actor,
            expires_at=exp,
            claims=claims,
            signature=signing._b64u(sig),
            key=key,
        )
        audit.record(
            "certs.copy_created",
            actor=actor,
            obj=cp,
            purpose=purpose,
            detail={
                "certificate": cert.identifier,
                "recipient": recipient.code,
                "expires_at": claims["ex"],
            },
        )
        events.publish(
            "certs.copy_created",
            {"copy": cp.pk, "certificate": cert.pk, "recipient_department": recipient.pk},
        )
    return cp


def do_generate_issuer_key(
    *, actor: User | None, department: Department, algorithm: str = ""
) -> IssuerKey:
    """Rotate: a fresh key for the department; its current key is retired (still trusted for
    what it signed before)."""
    algorithm = algorithm or certkeys.default_algorithm()
    if algorithm not in signing.ALGORITHMS:
        raise ValidationFailed(fields={"algorithm": [_("Ed25519 or SM2.")]})
    try:
        key = certkeys.generate_key(department, algorithm=algorithm)
    except signing.SigningError as exc:
        raise ValidationFailed(fields={"algorithm": [str(exc)]}) from None
    audit.record(
        "certs.key_generated",
        actor=actor,
        obj=key,
        detail={"kid": key.kid, "alg": key.algorithm, "department": department.code},
    )
    return key


def do_mark_key_compromised(*, actor: User | None, kid: str) -> IssuerKey:
    """Everything the key signed stops verifying (a new key is needed to issue again)."""
    with transaction.atomic():
        key = IssuerKey.objects.select_for_update().filter(kid=kid).first()
        if key is None:
            raise NotFound()
        now = timezone.now()
        key.status = KeyStatus.COMPROMISED
        key.compromised_at = key.compromised_at or now
        key.retired_at = key.retired_at or now
        key.save(update_fields=["status", "compromised_at", "retired_at"])
        audit.record("certs.key_compromised", actor=actor, obj=key, detail={"kid": kid})
    certkeys._SIGNERS.pop(kid, None)
    return key


# --- verification (reads; nothing is written) --------------------------------------------------
def verify(
    text: str, *, holder_code: str = "", now: dt.datetime | None = None
) -> signing.Verification:
    """Verify a payload against the issuer registry, online: the key list from the database
    and the certificate's current revocation status."""
    if len(text) > 8000:
        return signing.Verification(
            valid=False,
            reasons=[
                signing.Reason(
                    "malformed", gettext_noop("The payload is too long to be a certificate.")
                )
            ],
        )
    return signing.verify_payload(
        text,
        certkeys.key_list(with_revocations=False),
        now=now,
        revocation_lookup=certkeys.registry_revocation,
        holder_code=holder_code,
    )
