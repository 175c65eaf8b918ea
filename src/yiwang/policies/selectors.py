"""政策通 reads, scoped.

- The policy library (published and expired items, their documents) is public.
- Staff with ``policies.edit`` / ``policies.review`` / ``policies.matches`` also see drafts,
  items in review and withdrawn items whose responsible department lies in their territory
  (the department's or the user's division); anything else answers 404.
- An enterprise user sees their own organisation (``User.credit_code``): profile, matches,
  inbox, corrections.
- Staff read an enterprise profile only with ``policies.matches``, inside their territory,
  with a purpose; the read is audited as a personal-data access.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from yiwang.accounts.models import Division, User
from yiwang.accounts.roles import Cap, Role
from yiwang.core import audit
from yiwang.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from yiwang.policies.models import (
    FactCorrection,
    ItemStatus,
    PolicyDelivery,
    PolicyDocument,
    PolicyItem,
    PolicyPreference,
)
from yiwang.registry.models import Organisation

PUBLIC_STATUSES = (ItemStatus.PUBLISHED, ItemStatus.EXPIRED)
STAFF_CAPS = (Cap.POLICY_EDIT, Cap.POLICY_REVIEW, Cap.POLICY_MATCHES)


class Unauthenticated(DomainError):
    status = 401
    code = "not_authenticated"


def _authed(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def is_policy_staff(actor: Any) -> bool:
    return _authed(actor) and any(actor.can(c) for c in STAFF_CAPS)


def territory(actor: User) -> Division | None:
    """The division a staff user's policy scope covers: their own, else their department's."""
    if actor.division_id is not None:
        return actor.division
    if actor.department_id is not None:
        return actor.department.division  # type: ignore[union-attr]
    return None


def _territory_q(actor: User, prefix_field: str) -> Q:
    div = territory(actor)
    if div is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix_field}__startswith": div.prefix})


def staff_item_q(actor: User) -> Q:
    return _territory_q(actor, "department__division__prefix")


# --- documents and items ------------------------------------------------------------------------
@dataclass
class ItemFilters:
    department: int | None = None
    benefit_type: str = ""
    industry: str = ""  # a GB/T 4754 code or prefix: items whose rule tests this industry
    region: str = ""  # a division code: items of documents applying there (or above)
    open_now: bool = False
    q: str = ""
    status: str = ""
    document: int | None = None


def items(actor: Any, filters: ItemFilters | None = None) -> QuerySet[PolicyItem]:
    """Items the actor may see, filtered."""
    f = filters or ItemFilters()
    qs = PolicyItem.objects.select_related("document", "department", "published_version")
    visible = Q(status__in=PUBLIC_STATUSES)
    if is_policy_staff(actor):
        visible |= staff_item_q(actor)
    qs = qs.filter(visible)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.department:
        qs = qs.filter(department_id=f.department)
    if f.document:
        qs = qs.filter(document_id=f.document)
    if f.benefit_type:
        qs = qs.filter(benefit_type=f.benefit_type)
    if f.region:
        code = f.region.rstrip("0") or f.region
        # documents for this area, for an area containing it, or for an area inside it
        qs = qs.filter(
            Q(document__region__prefix__startswith=code)
            | Q(document__region__prefix__in=_ancestors(code))
        )
    if f.open_now:
        from yiwang.policies.profile import today

        day = today()
        qs = qs.filter(status=ItemStatus.PUBLISHED).filter(
            Q(closes_on__isnull=True) | Q(closes_on__gte=day)
        )
        qs = qs.filter(Q(opens_on__isnull=True) | Q(opens_on__lte=day))
    if f.q:
        for word in f.q.split():
            qs = qs.filter(
                Q(title__icontains=word)
                | Q(summary__icontains=word)
                | Q(code__icontains=word)
                | Q(document__title__icontains=word)
                | Q(document__doc_number__icontains=word)
            )
    if f.industry:
        ids = [i.pk for i in qs if _tests_industry(i, f.industry)]
        qs = qs.filter(pk__in=ids)
    return qs.order_by("closes_on", "pk")


def _ancestors(prefix: str) -> list[str]:
    return [prefix[:n] for n in (2, 4, 6, 9) if n < len(prefix)]


def _tests_industry(item: PolicyItem, industry: str) -> bool:
    """Does the item's rule admit ``industry`` (or place no industry condition at all)?"""
    from yiwang.policies.matching import rule_of

    v = item.published_version or item.current_version
    if v is None:
        return False
    try:
        rule = rule_of(v)
    except ValueError:
        return False
    tests = [a for a in rule.iter_atoms() if a.ref is not None and a.ref.name == "industry"]
    if not tests:
        return True
    for a in tests:
        vals = a.value if isinstance(a.value, tuple | list) else (a.value,)
        vals = [str(x) for x in vals]
        if a.op in ("prefix", "in", "==") and any(
            industry.startswith(v) or v.startswith(industry) for v in vals
        ):
            return True
        if a.op in ("not_prefix", "not_in", "!=") and not any(industry.startswith(v) for v in vals):
            return True
    return False


def item(actor: Any, item_id: int) -> PolicyItem:
    obj = items(actor).filter(pk=item_id).first()
    if obj is None:
        raise NotFound()
    return obj


def item_by_code(actor: Any, code: str) -> PolicyItem:
    obj = items(actor).filter(code=code).first()
    if obj is None:
        raise NotFound()
    return obj


@dataclass
class DocumentFilters:
    department: int | None = None
    region: str = ""
    q: str = ""


def documents(actor: Any, filters: DocumentFilters | None = None) -> QuerySet[PolicyDocument]:
    """Documents with at least one item the actor may see (or, for staff, any document whose
    region lies in their territory)."""
    f = filters or DocumentFilters()
    visible = items(actor).values("document_id")
    q = Q(pk__in=visible)
    if is_policy_staff(actor):
        div = territory(actor)
        if div is not None:
            q |= Q(region__prefix__startswith=div.prefix) | Q(
                region__prefix__in=_ancestors(div.prefix)
            )
    qs = PolicyDocument.objects.filter(q).distinct()
    if f.department:
        qs = qs.filter(Q(issuers__id=f.department) | Q(items__department_id=f.department))
    if f.region:
        code = f.region.rstrip("0") or f.region
        qs = qs.filter(Q(region__prefix__startswith=code) | Q(region__prefix__in=_ancestors(code)))
    if f.q:
        for word in f.q.split():
            qs = qs.filter(
                Q(title__icontains=word)
                | Q(doc_number__icontains=word)
                | Q(issuer_names__icontains=word)
            )
    return qs.distinct().order_by("-issued_on", "-pk")


def document(actor: Any, document_id: int) -> PolicyDocument:
    obj = documents(actor).filter(pk=document_id).first()
    if obj is None:
        raise NotFound()
    return obj


def editable_item(actor: Any, item_id: int, cap: str = Cap.POLICY_EDIT) -> PolicyItem:
    """An item the actor may change with ``cap``: 401 anonymous, 404 out of scope, 403 without
    the capability."""
    if not _authed(actor):
        raise Unauthenticated()
    obj = item(actor, item_id)
    if not actor.can(cap):
        raise Forbidden()
    if not PolicyItem.objects.filter(staff_item_q(actor), pk=obj.pk).exists():
        raise NotFound()
    return obj


def editable_document(actor: Any, document_id: int) -> PolicyDocument:
    if not _authed(actor):
        raise Unauthenticated()
    obj = document(actor, document_id)
    if not actor.can(Cap.POLICY_EDIT):
        raise Forbidden()
    div = territory(actor)
    region = obj.region.prefix
    if div is None or not (region.startswith(div.prefix) or div.prefix.startswith(region)):
        raise NotFound()
    return obj


# --- enterprises ------------------------------------------------------------------------------
def enterprise_for(user: Any) -> Organisation | None:
    """The organisation an enterprise user acts for (``User.credit_code``)."""
    if not _authed(user) or user.role != Role.ENTERPRISE or not user.credit_code:
        return None
    return Organisation.objects.filter(credit_code=user.credit_code).first()


def my_enterprise(user: Any) -> Organisation:
    """The enterprise user's organisation, or 403 (not an enterprise user) / 404 (unknown)."""
    if not _authed(user):
        raise Unauthenticated()
    if user.role != Role.ENTERPRISE:
        raise Forbidden(_("Only enterprise users have an enterprise profile."))
    org = enterprise_for(user)
    if org is None:
        raise NotFound(_("No enterprise is registered under your credit code."))
    return org


def inbox(actor: Any) -> QuerySet[PolicyDelivery]:
    org = enterprise_for(actor)
    if org is None:
        return PolicyDelivery.objects.none()
    return PolicyDelivery.objects.filter(organisation=org).select_related("item", "version")


def delivery(actor: Any, delivery_id: int) -> PolicyDelivery:
    obj = inbox(actor).filter(pk=delivery_id).first()
    if obj is None:
        raise NotFound()
    return obj


def preference(org: Organisation) -> PolicyPreference:
    pref = PolicyPreference.objects.filter(organisation=org).first()
    return pref or PolicyPreference(organisation=org)


def staff_organisations(actor: User) -> QuerySet[Organisation]:
    """Enterprises in the staff user's territory (by the grid they sit in)."""
    div = territory(actor)
    if div is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        Q(grid__community__prefix__startswith=div.prefix)
        | Q(place__grid__community__prefix__startswith=div.prefix)
    )


def staff_organisation(actor: Any, org_id: int) -> Organisation:
    if not _authed(actor):
        raise Unauthenticated()
    if not actor.can(Cap.POLICY_MATCHES):
        raise Forbidden()
    org = staff_organisations(actor).filter(pk=org_id).first()
    if org is None:
        raise NotFound()
    return org


def enterprise_profile(
    actor: Any, org_id: int, *, purpose: str, as_of: dt.date | None = None
) -> Any:
    """A staff read of an enterprise's profile: needs ``policies.matches``, the enterprise in
    the actor's territory and a stated purpose; recorded as a data access."""
    from yiwang.policies.profile import profile_for

    org = staff_organisation(actor, org_id)
    purpose = (purpose or "").strip()
    if len(purpose) < 2:
        raise ValidationFailed(fields={"purpose": [_("State why you need this profile.")]})
    facts = profile_for(org, as_of=as_of)
    audit.record(
        "policies.profile_read",
        actor=actor,
        obj=org,
        subject_id=f"organisation:{org.pk}",
        fields=sorted({f.name for f in facts}),
        purpose=purpose[:200],
        detail={"facts": len(facts)},
    )
    return org, facts


def corrections(actor: Any, *, status: str = "") -> QuerySet[FactCorrection]:
    """Staff: corrections of enterprises in their territory; an enterprise user: their own."""
    if not _authed(actor):
        return FactCorrection.objects.none()
    if actor.can(Cap.POLICY_MATCHES):
        qs = FactCorrection.objects.filter(organisation__in=staff_organisations(actor))
    else:
        org = enterprise_for(actor)
        qs = (
            FactCorrection.objects.filter(organisation=org)
            if org
            else FactCorrection.objects.none()
        )
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("organisation")


def correction(actor: Any, correction_id: int) -> FactCorrection:
    obj = corrections(actor).filter(pk=correction_id).first()
    if obj is None:
        raise NotFound()
    return obj
