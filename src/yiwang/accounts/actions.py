"""Writes for organisation and accounts: atomic, audited, scoped by the actor."""

from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.accounts.models import LEVEL_PREFIX, ApiToken, Department, Division, DivisionLevel, User
from yiwang.accounts.roles import ADMIN_ROLES, Cap, Role
from yiwang.accounts.selectors import access_user
from yiwang.core import audit
from yiwang.core.api import token_digest
from yiwang.core.errors import Forbidden, ValidationFailed
from yiwang.core.ids import validate_credit_code, validate_resident_id
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.core.models import AuditResult

DATA_DIR = Path(__file__).resolve().parent.parent / "core" / "data"

UNMASKABLE = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "display_name": mask_name,
    "email": None,
}


def _require(actor: User, cap: str) -> None:
    if not actor.can(cap):
        raise Forbidden()


# --- Users ------------------------------------------------------------------------------------
@dataclass
class UserInput:
    username: str
    role: str
    password: str
    display_name: str = ""
    department_code: str = ""
    division_code: str = ""
    id_number: str = ""
    phone: str = ""
    email: str = ""
    credit_code: str = ""
    enterprise_name: str = ""


def _clean_user(data: UserInput, *, check_password: bool = True) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if not data.username or len(data.username) > 150:
        errors["username"] = [_("A username of 1 to 150 characters is required.")]
    elif User.objects.filter(username=data.username).exists():
        errors["username"] = [_("This username is taken.")]
    if data.role not in Role.values:
        errors["role"] = [_("Unknown role.")]
    if data.id_number:
        chk = validate_resident_id(data.id_number)
        if not chk.valid:
            errors["id_number"] = [chk.error]
        else:
            out["id_number"] = chk.value
    if data.phone:
        digits = "".join(c for c in data.phone if c.isdigit())
        if len(digits) != 11 or not digits.startswith("1"):
            errors["phone"] = [_("A mobile number has 11 digits and starts with 1.")]
        else:
            out["phone"] = digits
    if data.role == Role.ENTERPRISE:
        chk = validate_credit_code(data.credit_code)
        if not chk.valid:
            errors["credit_code"] = [chk.error or _("An enterprise user needs a credit code.")]
        else:
            out["credit_code"] = chk.value
    if data.department_code:
        dept = Department.objects.filter(code=data.department_code).first()
        if dept is None:
            errors["department_code"] = [_("Unknown department.")]
        out["department"] = dept
    if data.division_code:
        div = Division.objects.filter(code=data.division_code, valid_to__isnull=True).first()
        if div is None:
            errors["division_code"] = [_("Unknown division code.")]
        out["division"] = div
    if check_password:
        probe = User(username=data.username, email=data.email, first_name=data.display_name)
        try:
            validate_password(data.password, probe)
        except ValidationError as exc:
            errors["password"] = [str(m) for m in exc.messages]
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def do_create_user(
    *,
    actor: User | None,
    data: UserInput,
    synthetic: bool = False,
    validated_password_hash: str = "",
) -> User:
    """Create a user. ``actor=None`` only for seeding and the CLI (recorded as the system).

    ``validated_password_hash`` lets the demo seed reuse one hash of its documented password
    instead of spending a PBKDF2 run per account.
    """
    if actor is not None:
        _require(actor, Cap.USERS_MANAGE)
    cleaned = _clean_user(data, check_password=not validated_password_hash)
    with transaction.atomic():
        user = User(
            username=data.username,
            role=data.role,
            display_name=data.display_name,
            email=data.email,
            id_number=cleaned.get("id_number", ""),
            phone=cleaned.get("phone", ""),
            credit_code=cleaned.get("credit_code", ""),
            enterprise_name=data.enterprise_name,
            department=cleaned.get("department"),
            division=cleaned.get("division"),
            is_staff=data.role in {Role.SYSADMIN, Role.SECADMIN},
            synthetic=synthetic,
        )
        if validated_password_hash:
            user.password = validated_password_hash
        else:
            user.set_password(data.password)
        user.save()
        audit.record(
            "accounts.user_created",
            actor=actor,
            obj=user,
            fields=[k for k in ("id_number", "phone", "display_name", "email") if getattr(user, k)],
            detail={"role": user.role},
        )
    return user


def do_set_user_active(*, actor: User, user_id: int, active: bool, reason: str) -> User:
    _require(actor, Cap.USERS_MANAGE)
    if not reason.strip():
        raise ValidationFailed(fields={"reason": [_("Give a reason.")]})
    with transaction.atomic():
        user = access_user(actor, user_id)
        if user.pk == actor.pk:
            raise Forbidden(_("You cannot deactivate yourself."))
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit.record(
            "accounts.user_activated" if active else "accounts.user_deactivated",
            actor=actor,
            obj=user,
            purpose=reason[:200],
        )
    return user


def do_change_role(*, actor: User, user_id: int, role: str, reason: str) -> User:
    _require(actor, Cap.USERS_MANAGE)
    if role not in Role.values:
        raise ValidationFailed(fields={"role": [_("Unknown role.")]})
    if role == Role.AUDITADMIN or (role in ADMIN_ROLES and actor.role != Role.SYSADMIN):
        # The audit admin is appointed outside the platform (三权分立).
        raise Forbidden(_("This role cannot be granted here."))
    with transaction.atomic():
        user = access_user(actor, user_id)
        before = user.role
        user.role = role
        user.is_staff = role in {Role.SYSADMIN, Role.SECADMIN}
        user.save(update_fields=["role", "is_staff"])
        audit.record(
            "accounts.role_changed",
            actor=actor,
            obj=user,
            purpose=reason[:200],
            detail={"from": before, "to": role},
        )
    return user


# --- Personal data reads ----------------------------------------------------------------------
def read_user_profile(*, actor: User, user_id: int, purpose: str = "") -> User:
    """Fetch a user for display (masked) and audit the personal-data read."""
    user = access_user(actor, user_id)
    if user.pk != actor.pk:
        audit.record(
            "personal.read",
            actor=actor,
            obj=user,
            subject_id=str(user.pk),
            fields=["display_name", "id_number", "phone", "email"],
            purpose=purpose or "view profile",
            detail={"masked": True},
        )
    return user


def do_unmask(*, actor: User, user_id: int, field: str, purpose: str) -> str:
    """Return one personal field in clear. Needs the unmask capability and a purpose; audited."""
    errors: dict[str, list[str]] = {}
    if field not in UNMASKABLE:
        errors["field"] = [_("This field cannot be unmasked.")]
    if len(purpose.strip()) < 4:
        errors["purpose"] = [_("State the purpose of unmasking (at least 4 characters).")]
    if errors:
        raise ValidationFailed(fields=errors)
    user = access_user(actor, user_id)
    if not actor.can(Cap.UNMASK) and user.pk != actor.pk:
        audit.record(
            "personal.unmask",
            actor=actor,
            obj=user,
            subject_id=str(user.pk),
            fields=[field],
            purpose=purpose[:200],
            result=AuditResult.DENIED,
        )
        raise Forbidden(_("You may not unmask personal data."))
    audit.record(
        "personal.unmask",
        actor=actor,
        obj=user,
        subject_id=str(user.pk),
        fields=[field],
        purpose=purpose[:200],
    )
    return str(getattr(user, field) or "")


# --- API tokens -------------------------------------------------------------------------------
def do_create_api_token(
    *, actor: User, name: str, expires_in_days: int | None = 90
) -> tuple[ApiToken, str]:
    errors: dict[str, list[str]] = {}
    if not name.strip() or len(name) > 100:
        errors["name"] = [_("Name the token (1 to 100 characters).")]
    if expires_in_days is not None and not 1 <= expires_in_days <= 366:
        errors["expires_in_days"] = [_("A token lives between 1 and 366 days.")]
    if errors:
        raise ValidationFailed(fields=errors)
    raw = "yw_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        tok = ApiToken.objects.create(
            user=actor,
            name=name.strip(),
            prefix=raw[:10],
            digest=token_digest(raw),
            expires_at=timezone.now() + timedelta(days=expires_in_days)
            if expires_in_days
            else None,
        )
        audit.record("accounts.token_created", actor=actor, obj=tok, detail={"prefix": tok.prefix})
    return tok, raw


def do_revoke_api_token(*, actor: User, token_id: int) -> ApiToken:
    from yiwang.core.errors import NotFound

    with transaction.atomic():
        tok = ApiToken.objects.filter(user=actor, pk=token_id, revoked_at__isnull=True).first()
        if tok is None:
            raise NotFound()
        tok.revoked_at = timezone.now()
        tok.save(update_fields=["revoked_at"])
        audit.record("accounts.token_revoked", actor=actor, obj=tok)
    return tok


# --- Departments ------------------------------------------------------------------------------
def do_create_department(
    *,
    actor: User | None,
    code: str,
    name: str,
    division_code: str,
    kind: str = Department.Kind.BUREAU,
    short_name: str = "",
    parent_code: str = "",
) -> Department:
    if actor is not None:
        _require(actor, Cap.ORG_MANAGE)
    errors: dict[str, list[str]] = {}
    if not code or Department.objects.filter(code=code).exists():
        errors["code"] = [_("A unique department code is required.")]
    if not name:
        errors["name"] = [_("A name is required.")]
    div = Division.objects.filter(code=division_code, valid_to__isnull=True).first()
    if div is None:
        errors["division_code"] = [_("Unknown division code.")]
    parent = Department.objects.filter(code=parent_code).first() if parent_code else None
    if parent_code and parent is None:
        errors["parent_code"] = [_("Unknown parent department.")]
    if kind not in Department.Kind.values:
        errors["kind"] = [_("Unknown kind of department.")]
    if errors or div is None:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        dept = Department.objects.create(
            code=code, name=name, short_name=short_name, kind=kind, division=div, parent=parent
        )
        audit.record("accounts.department_created", actor=actor, obj=dept)
    return dept


# --- Division code tables ---------------------------------------------------------------------
def _read_csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / "divisions" / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def do_import_divisions(
    *,
    actor: User | None,
    release: str = "2022",
    provinces: list[str] | None = None,
    include_streets: bool = True,
) -> int:
    """Load the shipped statistical division codes (idempotent per release).

    ``provinces`` limits the load to some 2-digit province codes (the demo loads one).
    """
    from yiwang.core.models import CodeTableVersion

    wanted = set(provinces or [])

    def keep(province_code: str) -> bool:
        return not wanted or province_code in wanted

    existing = set(Division.objects.filter(release=release).values_list("code", flat=True))
    created = 0
    with transaction.atomic():
        by_code: dict[str, Division] = {d.code: d for d in Division.objects.filter(release=release)}

        def add(code: str, name: str, level: str, parent_code: str | None) -> None:
            nonlocal created
            full = code.ljust(6, "0") if len(code) < 6 else code
            if full in existing:
                return
            div = Division.objects.create(
                code=full,
                prefix=code[: LEVEL_PREFIX[DivisionLevel(level)]],
                name=name,
                level=level,
                parent=by_code.get(parent_code) if parent_code else None,
                release=release,
            )
            by_code[full] = div
            existing.add(full)
            created += 1

        for r in _read_csv("provinces.csv"):
            if keep(r["code"]):
                add(r["code"], r["name"], DivisionLevel.PROVINCE, None)
        for r in _read_csv("cities.csv"):
            if keep(r["provinceCode"]):
                add(r["code"], r["name"], DivisionLevel.CITY, r["provinceCode"].ljust(6, "0"))
        for r in _read_csv("areas.csv"):
            if keep(r["provinceCode"]):
                add(r["code"], r["name"], DivisionLevel.COUNTY, r["cityCode"].ljust(6, "0"))
        if include_streets:
            batch = []
            for r in _read_csv("streets.csv"):
                if keep(r["provinceCode"]) and r["code"] not in existing:
                    parent = by_code.get(r["areaCode"])
                    batch.append(
                        Division(
                            code=r["code"],
                            prefix=r["code"],
                            name=r["name"],
                            level=DivisionLevel.STREET,
                            parent=parent,
                            release=release,
                        )
                    )
            Division.objects.bulk_create(batch, batch_size=2000)
            created += len(batch)
        total = Division.objects.filter(release=release).count()
        # A newer release supersedes older ones: their rows stay (history, old codes inside
        # credit codes) but stop being current.
        superseded = (
            Division.objects.filter(valid_to__isnull=True, release__lt=release)
            .exclude(synthetic=True)
            .update(valid_to=timezone.now().date())
        )
        CodeTableVersion.objects.update_or_create(
            table="gbt2260",
            version=release,
            defaults={"source": "NBS statistical division codes (2022-10-31)", "rows": total},
        )
        if created:
            audit.record(
                "codetable.imported",
                actor=actor,
                object_type="core.codetableversion",
                object_id=f"gbt2260:{release}",
                detail={"created": created, "total": total, "superseded": superseded},
            )
    return created


def do_add_community(
    *, actor: User | None, street: Division, seq: int, name: str, synthetic: bool = True
) -> Division:
    """Add a community (12-digit) under a street; used for demo and local additions."""
    code = f"{street.code}{seq:03d}"
    div, made = Division.objects.get_or_create(
        code=code,
        release=street.release,
        defaults={
            "prefix": code,
            "name": name,
            "level": DivisionLevel.COMMUNITY,
            "parent": street,
            "synthetic": synthetic,
        },
    )
    if made:
        audit.record("accounts.division_added", actor=actor, obj=div)
    return div


def do_set_language(*, actor: User, language: str) -> User:
    """The actor's own language (``settings.LANGUAGES`` code; "" for the platform default)."""
    from yiwang.accounts.language import LANGUAGE_CODES

    if language and language not in LANGUAGE_CODES:
        codes = ", ".join(sorted(LANGUAGE_CODES))
        raise ValidationFailed(
            fields={"language": [_("Choose one of: %(codes)s.") % {"codes": codes}]}
        )
    if actor.language == language:
        return actor
    with transaction.atomic():
        before = actor.language
        actor.language = language
        actor.save(update_fields=["language"])
        audit.record(
            "accounts.language_changed",
            actor=actor,
            obj=actor,
            detail={"from": before, "to": language},
        )
    return actor
