"""Case reads, scoped by the actor; an out-of-scope case is ``NotFound``.

Who sees which cases (checked by role here until capabilities exist for cases):

- residents and enterprise users: the cases they reported;
- grid workers: cases in their grids, and the ones they reported;
- department staff and leaders: cases dispatched to their department;
- operators (command / supervision centre): cases located in their division;
- data and platform administrators: none.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from yiwang.accounts.models import User
from yiwang.accounts.roles import Role
from yiwang.accounts.selectors import division_scope
from yiwang.cases.models import Case, CaseEvent, Category, Message, StateType
from yiwang.core import audit
from yiwang.core.errors import NotFound

NONE = Q(pk__in=[])


def case_scope_q(actor: User) -> Q:
    if not actor.is_authenticated or not actor.is_active:
        return NONE
    role = actor.role
    if role in {Role.RESIDENT, Role.ENTERPRISE}:
        return Q(reporter=actor)
    if role == Role.GRID_WORKER:
        return Q(grid__members__user=actor) | Q(reporter=actor)
    if role in {Role.DEPT_STAFF, Role.DEPT_LEADER}:
        if actor.department_id is None:
            return NONE
        return Q(department_id=actor.department_id, dispatched_at__isnull=False)
    if role == Role.OPERATOR:
        div = division_scope(actor)
        return NONE if div is None else Q(division_prefix__startswith=div.prefix)
    return NONE


def is_staff_viewer(actor: User) -> bool:
    return actor.role in {Role.GRID_WORKER, Role.DEPT_STAFF, Role.DEPT_LEADER, Role.OPERATOR}


def list_cases_for(actor: User) -> QuerySet[Case]:
    qs = Case.objects.select_related("category", "state", "grid", "department")
    q = case_scope_q(actor)
    if actor.is_authenticated and actor.role == Role.GRID_WORKER:
        # The join through grid members can repeat rows; resolve to ids first.
        return qs.filter(pk__in=Case.objects.filter(q).values("pk"))
    return qs.filter(q)


def access_case(actor: User, case_id: int, *, purpose: str = "") -> Case:
    try:
        case = list_cases_for(actor).get(pk=case_id)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    return case


def list_categories(*, public_only: bool = False) -> QuerySet[Category]:
    qs = Category.objects.filter(active=True)
    return qs.filter(public=True) if public_only else qs


def get_category(service_code: str) -> Category | None:
    code = (service_code or "").strip().upper()
    kind = {"C": "component", "E": "event"}.get(code[:1])
    if kind is None or len(code) != 6:
        return None
    return Category.objects.filter(kind=kind, code=code[1:], active=True).first()


def timeline_for(actor: User, case: Case) -> QuerySet[CaseEvent]:
    qs = case.events.select_related("actor", "actor_department")
    if not is_staff_viewer(actor):
        qs = qs.filter(public=True)
    return qs


def contact_for(actor: User, case: Case, *, purpose: str) -> dict[str, str]:
    """The reporter's contact details in clear, for an operator allowed to unmask; audited."""
    from yiwang.accounts.roles import Cap
    from yiwang.core.errors import Forbidden

    if not actor.can(Cap.UNMASK) or actor.role != Role.OPERATOR:
        raise Forbidden()
    audit.record(
        "personal.read",
        actor=actor,
        obj=case,
        fields=["contact_name", "contact_phone", "contact_email"],
        purpose=purpose or "case follow-up",
    )
    return {"name": case.contact_name, "phone": case.contact_phone, "email": case.contact_email}


def messages_for(actor: User) -> QuerySet[Message]:
    q = Q(recipient=actor)
    if actor.department_id:
        q |= Q(recipient__isnull=True, department_id=actor.department_id, role="") | Q(
            recipient__isnull=True, department_id=actor.department_id, role=actor.role
        )
    return Message.objects.filter(q).select_related("case", "case__category")


def unread_count(actor: User) -> int:
    """The actor's own unread messages (department messages are shared and not counted)."""
    if not actor.is_authenticated:
        return 0
    return Message.objects.filter(recipient=actor, read_at__isnull=True).count()


def reporter_settings(actor: User) -> dict[str, bool]:
    from yiwang.cases.models import ReporterSettings

    row = ReporterSettings.objects.filter(user_id=actor.pk).first()
    return {"notify_opt_out": bool(row and row.notify_opt_out)}


# --- Duplicates -------------------------------------------------------------------------------
EARTH_M = 6_371_008.8


def distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(a))


def nearby_open_cases(
    category: Category,
    lng: float,
    lat: float,
    *,
    radius_m: float = 50,
    hours: float = 72,
    now: dt.datetime | None = None,
    limit: int = 10,
) -> list[tuple[Case, float]]:
    """Open cases of the same category within ``radius_m`` reported in the last ``hours``,
    nearest first. A bounding box in SQL, the exact distance in Python."""
    now = now or timezone.now()
    dlat = radius_m / 111_320
    dlng = radius_m / (111_320 * max(math.cos(math.radians(lat)), 1e-6))
    rows = Case.objects.select_related("state", "category").filter(
        category=category,
        state__type=StateType.OPEN,
        created_at__gte=now - dt.timedelta(hours=hours),
        lat__range=(lat - dlat, lat + dlat),
        lng__range=(lng - dlng, lng + dlng),
    )[:500]
    found = [
        (c, distance_m(lng, lat, c.lng, c.lat))
        for c in rows
        if c.lng is not None and c.lat is not None
    ]
    found = [(c, d) for c, d in found if d <= radius_m]
    found.sort(key=lambda cd: cd[1])
    return found[:limit]


# --- Statistics -------------------------------------------------------------------------------
GROUPS = {
    "grid": ("grid__code", "grid__name"),
    "department": ("department__code", "department__name"),
    "category": ("category__code", "category__name"),
    "community": ("grid__community__code", "grid__community__name"),
    "street": ("grid__community__parent__code", "grid__community__parent__name"),
}


def statistics_for(
    actor: User, by: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Counts and rates per group over the actor's cases.

    响应率 = accepted or declined / all; 解决率 = closed as fixed / registered (accepted);
    满意率 = rated 4-5 / rated; on-time = fixed cases never overdue / fixed.
    """
    key, label = GROUPS[by]
    qs = Case.objects.filter(pk__in=list_cases_for(actor).values("pk"))
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    fixed = Q(state__type=StateType.FIXED)
    rows = (
        qs.values(k=F(key), name=F(label))
        .annotate(
            total=Count("pk"),
            responded=Count("pk", filter=Q(accepted_at__isnull=False) | Q(state="rejected")),
            registered=Count("pk", filter=Q(accepted_at__isnull=False)),
            resolved=Count("pk", filter=fixed),
            rated=Count("pk", filter=Q(rating__isnull=False)),
            satisfied=Count("pk", filter=Q(rating__gte=4)),
            on_time=Count("pk", filter=fixed & Q(overdue_count=0)),
            open=Count("pk", filter=Q(state__type=StateType.OPEN)),
            overdue=Count("pk", filter=Q(sla_level="red", state__type=StateType.OPEN)),
        )
        .order_by("k")
    )

    def rate(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    out = []
    for r in rows:
        out.append(
            {
                "key": r["k"] or "",
                "name": r["name"] or "",
                "total": r["total"],
                "open": r["open"],
                "overdue": r["overdue"],
                "response_rate": rate(r["responded"], r["total"]),
                "resolution_rate": rate(r["resolved"], r["registered"]),
                "satisfaction_rate": rate(r["satisfied"], r["rated"]),
                "on_time_rate": rate(r["on_time"], r["resolved"]),
            }
        )
    return out


# --- Presentation for the API and pages: masked unless the viewer is the reporter ----------
def case_view(actor: User, case: Case, *, with_transitions: bool = False) -> dict[str, Any]:
    from yiwang.cases.workflow import allowed_transitions
    from yiwang.core.masking import mask_name, mask_phone

    own = case.reporter_id is not None and case.reporter_id == actor.pk
    if own:
        reporter, phone = (case.contact_name or str(case.reporter)), case.contact_phone
    elif case.anonymous:
        reporter, phone = "匿名", ""
    else:
        name = case.contact_name or (
            case.reporter.display_name if case.reporter is not None else ""
        )
        reporter, phone = mask_name(name), mask_phone(case.contact_phone)
    out: dict[str, Any] = {
        "id": case.pk,
        "service_code": case.category.service_code,
        "category": case.category.name,
        "state": case.state_id,
        "state_name": case.state.name,
        "status": case.state.open311_status,
        "channel": case.channel,
        "request_type": case.request_type,
        "priority": case.priority,
        "description": case.description,
        "lng": case.lng,
        "lat": case.lat,
        "address": case.address,
        "grid": case.grid.code if case.grid is not None else None,
        "department": case.department.name if case.department is not None else None,
        "sla_stage": case.sla_stage,
        "sla_level": case.sla_level,
        "due_at": case.due_at,
        "suspended": case.suspended_at is not None,
        "extension_hours": case.extension_hours,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "closed_at": case.closed_at,
        "rating": case.rating,
        "under_review": case.under_review,
        "anonymous": case.anonymous,
        "reporter": reporter,
        "contact_phone": phone,
        "photos": case.photos,
        "attributes": case.attributes,
        "merged_into": case.merged_into_id,
    }
    if with_transitions:
        out["transitions"] = [
            {"code": t.code, "name": str(t.name), "reason_required": t.reason_required}
            for t in allowed_transitions(actor, case)
        ]
    return out


def event_view(actor: User, e: CaseEvent) -> dict[str, Any]:
    staff = is_staff_viewer(actor)
    return {
        "at": e.at,
        "transition": e.transition,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "actor": (e.actor.username if staff and e.actor is not None else ""),
        "department": e.actor_department.name if e.actor_department is not None else "",
        "note": e.note,
        "attachments": e.attachments,
    }
