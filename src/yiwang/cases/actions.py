"""Case writes: intake, every workflow transition, rating, the deadline sweep, Open311 keys.

Each action is atomic, writes an audit record and a timeline row, leaves in-app messages for
the reporter and the handlers, and publishes ``cases.changed`` after commit. Bad input raises
``ValidationFailed`` with field messages and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Role
from yiwang.cases import lookups, sla
from yiwang.cases import photos as photo_store
from yiwang.cases.messages import new_message
from yiwang.cases.models import (
    Case,
    CaseEvent,
    Category,
    CategoryKind,
    Channel,
    Message,
    Open311Client,
    Priority,
    Rating,
    RequestType,
    SlaLevel,
    State,
    StateType,
)
from yiwang.cases.routing import centre_for
from yiwang.cases.selectors import access_case
from yiwang.cases.workflow import TRANSITIONS, actor_fits, allowed_transitions
from yiwang.core import audit, events
from yiwang.core.api import token_digest
from yiwang.core.errors import Conflict, Errors, Forbidden, NotFound, ValidationFailed
from yiwang.grid.coords import CoordSystem, point_to_wgs84
from yiwang.grid.models import Grid

MAX_DESCRIPTION = 4000
MAX_PHOTOS = photo_store.MAX_PHOTOS
MAX_PHOTO_BYTES = photo_store.MAX_PHOTO_BYTES
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
FOLLOW_UP_AFTER = dt.timedelta(weeks=4)

# Intake channels each role may use; the first is the default.
CHANNELS_BY_ROLE: dict[str, tuple[str, ...]] = {
    Role.RESIDENT: (Channel.PORTAL, Channel.API),
    Role.ENTERPRISE: (Channel.PORTAL, Channel.API),
    Role.GRID_WORKER: (Channel.PATROL, Channel.API),
    Role.OPERATOR: (Channel.HOTLINE, Channel.API),
    Role.DEPT_STAFF: (Channel.API,),
    Role.DEPT_LEADER: (Channel.API,),
}


# --- Validation -------------------------------------------------------------------------------
def clean_attributes(category: Category, values: dict[str, Any], errors: Errors) -> dict[str, Any]:
    """Check submitted attribute values against the category's Open311 attribute list."""
    out: dict[str, Any] = {}
    defs = {a["code"]: a for a in category.attributes or []}
    for code in values:
        if code not in defs:
            errors.add(f"attribute[{code}]", _("Unknown attribute."))
    for code, d in defs.items():
        raw = values.get(code)
        empty = raw is None or raw == "" or raw == []
        if empty:
            if d.get("required"):
                errors.add(f"attribute[{code}]", _("This attribute is required."))
            continue
        kind = d.get("datatype", "string")
        keys = {str(v["key"]) for v in d.get("values", [])}
        if kind == "number":
            try:
                out[code] = float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                errors.add(f"attribute[{code}]", _("Enter a number."))
        elif kind == "datetime":
            try:
                dt.datetime.fromisoformat(str(raw))
                out[code] = str(raw)
            except ValueError:
                errors.add(f"attribute[{code}]", _("Enter a date and time (ISO 8601)."))
        elif kind == "singlevaluelist":
            if str(raw) not in keys:
                errors.add(f"attribute[{code}]", _("Choose one of the listed values."))
            else:
                out[code] = str(raw)
        elif kind == "multivaluelist":
            items = [str(v) for v in (raw if isinstance(raw, list) else [raw])]
            if not set(items) <= keys:
                errors.add(f"attribute[{code}]", _("Choose from the listed values."))
            else:
                out[code] = items
        else:
            text = str(raw)
            if len(text) > 1000:
                errors.add(f"attribute[{code}]", _("At most 1000 characters."))
            out[code] = text
    return out


def clean_photos(photos: list[dict[str, Any]], errors: Errors) -> list[dict[str, Any]]:
    if len(photos) > MAX_PHOTOS:
        errors.add("photos", _("At most %(n)d photos.") % {"n": MAX_PHOTOS})
        return []
    out = []
    for i, p in enumerate(photos):
        ctype = str(p.get("content_type", "")).lower()
        try:
            size = int(p.get("size", 0))
        except (TypeError, ValueError):
            size = -1
        if ctype not in PHOTO_TYPES:
            errors.add(f"photos.{i}", _("Photos must be JPEG, PNG or WebP."))
        if not 0 < size <= MAX_PHOTO_BYTES:
            errors.add(f"photos.{i}", _("A photo must be at most 10 MB."))
        out.append(
            {
                "name": str(p.get("name", ""))[:200],
                "content_type": ctype,
                "size": size,
                "sha256": str(p.get("sha256", ""))[:64],
                "url": str(p.get("url", ""))[:500],
            }
        )
    return out


_PHONE = re.compile(r"^\+?[0-9 -]{5,20}$")


def clean_location(data: dict[str, Any], errors: Errors, *, required: bool) -> dict[str, Any]:
    lng, lat = data.get("lng"), data.get("lat")
    system = str(data.get("coord_system") or CoordSystem.WGS84).lower()
    address = str(data.get("address") or "").strip()
    if len(address) > 300:
        errors.add("address", _("At most 300 characters."))
    if lng is None and lat is None:
        if required or not address:
            errors.add("lat", _("Give the location on the map (longitude and latitude)."))
        return {"lng": None, "lat": None, "coord_system": system, "address": address, "grid": None}
    try:
        x, y = float(lng), float(lat)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        errors.add("lat", _("Longitude and latitude must both be numbers."))
        return {}
    if system not in set(CoordSystem):
        errors.add("coord_system", _("Use wgs84, gcj02 or bd09."))
        return {}
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        errors.add("lat", _("Coordinates out of range."))
        return {}
    wx, wy = point_to_wgs84(x, y, system)
    index = lookups.grid_index()
    gid = index.assign_one(wx, wy)
    if gid is None and index.geoms:
        errors.add("lat", _("The location is outside the territory's grids."))
        return {}
    grid = lookups.grid(index, gid) if gid is not None else None
    return {"lng": wx, "lat": wy, "coord_system": system, "address": address, "grid": grid}


# --- Notifications ----------------------------------------------------------------------------
def _notify(
    case: Case,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    reporter: bool = True,
    department: Department | None = None,
    role: str = "",
) -> None:
    """In-app messages: the kind and its parameters, rendered in each reader's language when
    read (``cases.messages``)."""
    rows = []
    p = params or {}
    if reporter and case.reporter_id:
        rows.append(new_message(recipient_id=case.reporter_id, case=case, kind=kind, params=p))
    if department is not None:
        rows.append(new_message(department=department, role=role, case=case, kind=kind, params=p))
    if rows:
        Message.objects.bulk_create(rows)


def _centre(case: Case) -> Department | None:
    return lookups.centre_for(case.division_prefix)  # type: ignore[no-any-return]


def _event(
    case: Case,
    *,
    actor: User | None,
    transition: str,
    from_state: str,
    note: str = "",
    attachments: list[dict[str, Any]] | None = None,
    detail: dict[str, Any] | None = None,
    public: bool = True,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_department=getattr(actor, "department", None),
        transition=transition,
        from_state=from_state,
        to_state=case.state_id,
        note=note,
        attachments=attachments or [],
        detail=detail or {},
        public=public,
    )


# --- Intake -----------------------------------------------------------------------------------
def do_report_case(
    *,
    actor: User | None,
    data: dict[str, Any],
    channel: str | None = None,
    open311_client: Open311Client | None = None,
    files: list[Any] | None = None,
) -> Case:
    """Take in a report from the portal, a patrol, the 12345 desk, the API or Open311.

    ``files``: uploaded photos (Django ``UploadedFile``), checked by content and size with the
    rest of the input and stored by content hash (``cases.photos``)."""
    errors = Errors()
    if open311_client is not None:
        channel = Channel.OPEN311
    else:
        if actor is None or not actor.is_authenticated:
            raise Forbidden()
        allowed = CHANNELS_BY_ROLE.get(actor.role, ())
        if not allowed:
            raise Forbidden(_("You may not report cases."))
        channel = channel or allowed[0]
        if channel not in allowed:
            errors.add("channel", _("You may not report through this channel."))

    category = lookups.category(str(data.get("category") or ""))
    staff = actor is not None and actor.role in {Role.OPERATOR, Role.GRID_WORKER}
    if category is None or (not category.public and not staff):
        errors.add("category", _("Unknown category."))
    description = str(data.get("description") or "").strip()
    if not description:
        errors.add("description", _("Describe the problem."))
    elif len(description) > MAX_DESCRIPTION:
        errors.add("description", _("At most 4000 characters."))
    request_type = str(data.get("request_type") or "")
    if channel == Channel.HOTLINE and request_type not in RequestType.values:
        errors.add("request_type", _("Choose 咨询, 求助, 投诉, 举报 or 建议."))
    elif request_type and request_type not in RequestType.values:
        errors.add("request_type", _("Unknown request type."))
    priority = str(data.get("priority") or "")
    if priority and (
        priority not in Priority.values or actor is None or actor.role != Role.OPERATOR
    ):
        errors.add("priority", _("Only the centre sets a priority, from the listed tiers."))
    loc = clean_location(
        data, errors, required=channel in {Channel.PORTAL, Channel.PATROL, Channel.API}
    )
    photos = clean_photos(list(data.get("photos") or []), errors)
    uploads = photo_store.check_uploads(list(files or []), errors)
    if len(photos) + len(uploads) > MAX_PHOTOS:
        errors.add("photos", _("At most %(n)d photos.") % {"n": MAX_PHOTOS})
    attrs = (
        clean_attributes(category, dict(data.get("attributes") or {}), errors) if category else {}
    )
    anonymous = bool(data.get("anonymous"))
    phone = str(data.get("contact_phone") or "").strip()
    if phone and not _PHONE.match(phone):
        errors.add("contact_phone", _("Enter a phone number."))
    email = str(data.get("contact_email") or "").strip()
    if email and ("@" not in email or len(email) > 254):
        errors.add("contact_email", _("Enter an email address."))
    errors.raise_if_any()
    assert category is not None

    now = timezone.now()
    grid: Grid | None = loc["grid"]
    routed = lookups.route(category, grid)
    prefix = (
        grid.code
        if grid is not None
        else (routed.department.division.prefix if routed.department is not None else "")
    )
    reporter = actor if actor is not None and open311_client is None else None
    centre = lookups.centre_for(prefix)
    with transaction.atomic():
        case = Case(
            category=category,
            state=lookups.state("reported"),
            channel=channel,
            request_type=request_type,
            priority=priority or category.default_priority,
            description=description,
            attributes=attrs,
            photos=photos,
            media_url=str(data.get("media_url") or "")[:500],
            lng=loc["lng"],
            lat=loc["lat"],
            coord_system=loc["coord_system"],
            address=loc["address"],
            grid=grid,
            division_prefix=prefix,
            reporter=reporter,
            anonymous=anonymous,
            contact_name=str(data.get("contact_name") or "").strip()[:100],
            contact_phone=phone,
            contact_email=email,
            open311_client=open311_client,
            device_id=str(data.get("device_id") or "")[:100],
            account_id=str(data.get("account_id") or "")[:100],
            department=routed.department,
            routing_reason=routed.reason,
        )
        sla.start_clock(case, "accept", now)
        case.save()
        if uploads:
            case.photos = photos + [photo_store.store(u, case.pk) for u in uploads]
            case.save(update_fields=["photos"])
        _event(
            case,
            actor=actor,
            transition="report",
            from_state="",
            attachments=case.photos,
            detail={"channel": channel, "routing": routed.reason},
        )
        _notify(case, "reported", department=centre, role=Role.OPERATOR)
        # Last: the audit append serialises writers until commit, so take its lock late.
        audit.record(
            "cases.reported",
            actor=actor,
            obj=case,
            purpose="case intake",
            detail={
                "channel": channel,
                "category": category.service_code,
                "grid": grid.code if grid else "",
                "department": routed.department.code if routed.department else "",
                "client": open311_client.name if open311_client else "",
            },
        )
        events.publish("cases.changed", {"case_id": case.pk, "transition": "report"})
    return case


# --- Transitions ------------------------------------------------------------------------------
def _load_for_update(actor: User, case_id: int) -> Case:
    access_case(actor, case_id)  # 404 outside scope
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("category", "state", "grid", "department", "department__division")
        .get(pk=case_id)
    )


def _leave_stage(case: Case, now: dt.datetime) -> None:
    if (
        case.sla_stage
        and case.due_at is not None
        and now > case.due_at
        and case.sla_level != SlaLevel.RED
    ):
        case.overdue_count += 1


def do_transition_case(
    *,
    actor: User,
    case_id: int,
    transition: str,
    note: str = "",
    department_id: int | None = None,
    hours: int | None = None,
    target_id: int | None = None,
    attachments: list[dict[str, Any]] | None = None,
    files: list[Any] | None = None,
) -> Case:
    """Take workflow step ``transition``; ``files`` are photos attached to the step (e.g. a
    handler's evidence of the repair), checked and stored like a report's photos."""
    t = TRANSITIONS.get(transition)
    if t is None or t.code == "rate":
        raise ValidationFailed(fields={"transition": [_("Unknown transition.")]})
    note = (note or "").strip()
    errors = Errors()
    if len(note) > 2000:
        errors.add("note", _("At most 2000 characters."))
    attached = clean_photos(list(attachments or []), errors)
    uploads = photo_store.check_uploads(list(files or []), errors, field="attachments")
    if len(attached) + len(uploads) > MAX_PHOTOS:
        errors.add("attachments", _("At most %(n)d photos.") % {"n": MAX_PHOTOS})
    errors.raise_if_any()
    now = timezone.now()
    with transaction.atomic():
        case = _load_for_update(actor, case_id)
        if not actor_fits(t.who, actor, case):
            raise Forbidden(_("You may not take this step on this case."))
        if case.state_id not in t.sources or t not in allowed_transitions(actor, case):
            raise Conflict(
                _("“%(step)s” is not possible while the case is “%(state)s”.")
                % {"step": t.name, "state": case.state.name}
            )
        if t.reason_required and not note:
            raise ValidationFailed(fields={"note": [_("Give a reason.")]})
        before = case.state_id
        detail: dict[str, Any] = {}
        handler = _HANDLERS.get(t.code)
        if t.to is not None:
            case.state = State.objects.get(pk=t.to)
        if handler is not None:
            handler(
                case,
                actor=actor,
                now=now,
                note=note,
                department_id=department_id,
                hours=hours,
                target_id=target_id,
                detail=detail,
            )
        case.save()
        _event(
            case,
            actor=actor,
            transition=t.code,
            from_state=before,
            note=note,
            attachments=attached + [photo_store.store(u, case.pk) for u in uploads],
            detail=detail,
            public=t.code not in {"request_extension", "deny_extension"},
        )
        audit.record(
            f"cases.{t.code}",
            actor=actor,
            obj=case,
            purpose="case handling",
            detail={"from": before, "to": case.state_id, **detail},
        )
        _notify(case, t.code, reporter=t.code in _PUBLIC, department=_handlers(case))
        events.publish("cases.changed", {"case_id": case.pk, "transition": t.code})
    return case


_PUBLIC = {
    "close_review",
    "accept",
    "reject",
    "dispatch",
    "start",
    "feedback",
    "verify_pass",
    "verify_fail",
    "merge",
    "void",
    "reopen",
    "suspend",
    "resume",
}


def _handlers(case: Case) -> Department | None:
    return case.department if case.dispatched_at is not None else None


def _h_accept(case: Case, *, now: dt.datetime, **kw: Any) -> None:
    _leave_stage(case, now)
    case.accepted_at = now
    sla.start_clock(case, "dispatch", now)


def _h_close(case: Case, *, now: dt.datetime, **kw: Any) -> None:
    _leave_stage(case, now)
    case.closed_at = now
    sla.start_clock(case, "", now)


def _department(actor: User, department_id: int | None) -> Department:
    from yiwang.accounts.selectors import list_departments_for

    dept = (
        list_departments_for(actor).filter(pk=department_id, active=True).first()
        if department_id
        else None
    )
    if dept is None:
        raise ValidationFailed(fields={"department_id": [_("Choose an active department.")]})
    return dept


def _h_dispatch(
    case: Case,
    *,
    actor: User,
    now: dt.datetime,
    note: str,
    department_id: int | None,
    detail: dict[str, Any],
    **kw: Any,
) -> None:
    if department_id and department_id != case.department_id:
        dept = _department(actor, department_id)
        if not note:
            raise ValidationFailed(
                fields={"note": [_("Give a reason for choosing another department.")]}
            )
        case.routing_reason = f"manual: {note}"[:300]
        case.department = dept
    if case.department is None:
        raise ValidationFailed(fields={"department_id": [_("Choose a department.")]})
    detail["department"] = case.department.code
    _leave_stage(case, now)
    case.dispatched_at = now
    sla.start_clock(case, "handle", now)


def _h_reassign(
    case: Case,
    *,
    actor: User,
    now: dt.datetime,
    note: str,
    department_id: int | None,
    detail: dict[str, Any],
    **kw: Any,
) -> None:
    dept = _department(actor, department_id)
    if dept.pk == case.department_id:
        raise ValidationFailed(fields={"department_id": [_("Choose another department.")]})
    detail["from_department"] = case.department.code if case.department else ""
    detail["department"] = dept.code
    case.department = dept
    case.routing_reason = f"re-assigned: {note}"[:300]
    _leave_stage(case, now)
    case.dispatched_at = now
    case.extension_hours = None
    sla.start_clock(case, "handle", now)


def _h_return(case: Case, *, now: dt.datetime, detail: dict[str, Any], **kw: Any) -> None:
    detail["department"] = case.department.code if case.department else ""
    _leave_stage(case, now)
    case.dispatched_at = None
    case.extension_hours = None
    sla.start_clock(case, "dispatch", now)


def _h_feedback(case: Case, *, now: dt.datetime, **kw: Any) -> None:
    _leave_stage(case, now)
    case.feedback_at = now
    case.extension_hours = None
    sla.start_clock(case, "verify", now)


def _h_verify_pass(case: Case, *, now: dt.datetime, **kw: Any) -> None:
    _h_close(case, now=now)
    if case.category.kind == CategoryKind.COMPONENT:
        case.follow_up_at = now + FOLLOW_UP_AFTER


def _h_verify_fail(case: Case, *, now: dt.datetime, **kw: Any) -> None:
    _leave_stage(case, now)
    sla.start_clock(case, "handle", now)


def _h_request_extension(
    case: Case, *, hours: int | None, note: str, detail: dict[str, Any], **kw: Any
) -> None:
    if hours is None or not 1 <= hours <= 240:
        raise ValidationFailed(fields={"hours": [_("Ask for 1 to 240 working hours.")]})
    case.extension_hours = hours
    case.extension_reason = note[:500]
    detail["hours"] = hours


def _h_approve_extension(
    case: Case, *, now: dt.datetime, detail: dict[str, Any], **kw: Any
) -> None:
    hours = case.extension_hours or 0
    old = case.due_at
    sla.extend(case, hours, now)
    detail.update(
        {
            "hours": hours,
            "old_due": old.isoformat() if old else None,
            "new_due": case.due_at.isoformat() if case.due_at else None,
        }
    )
    case.extension_hours = None


def _h_deny_extension(case: Case, **kw: Any) -> None:
    case.extension_hours = None


def _h_suspend(case: Case, *, now: dt.datetime, **kw: Any) -> None:
    sla.pause(case, now)


def _h_resume(case: Case, *, now: dt.datetime, detail: dict[str, Any], **kw: Any) -> None:
    sla.resume(case, now)
    case.sla_level = sla.level_at(case, now)
    detail["due"] = case.due_at.isoformat() if case.due_at else None


def _h_merge(
    case: Case,
    *,
    actor: User,
    now: dt.datetime,
    target_id: int | None,
    detail: dict[str, Any],
    **kw: Any,
) -> None:
    if not target_id or target_id == case.pk:
        raise ValidationFailed(fields={"target_id": [_("Choose the case to merge into.")]})
    try:
        target = access_case(actor, target_id)
    except NotFound:
        raise ValidationFailed(fields={"target_id": [_("No such case.")]}) from None
    if target.state.type != StateType.OPEN:
        raise ValidationFailed(fields={"target_id": [_("Merge into an open case.")]})
    case.merged_into = target
    detail["target"] = target.pk
    _h_close(case, now=now)
    case.suspended_at = None


def _h_void(case: Case, *, now: dt.datetime, **kw: Any) -> None:
    _h_close(case, now=now)
    case.suspended_at = None


def _h_reopen(case: Case, *, now: dt.datetime, **kw: Any) -> None:
    case.closed_at = None
    case.dispatched_at = None
    case.feedback_at = None
    case.under_review = False
    case.follow_up_at = None
    if case.accepted_at is None:
        case.accepted_at = now
    sla.start_clock(case, "dispatch", now)


def _h_close_review(case: Case, *, detail: dict[str, Any], **kw: Any) -> None:
    """The centre reviewed a dissatisfied rating or a "still broken" answer and keeps the
    case closed (the alternative is ``reopen``)."""
    case.under_review = False
    detail["decision"] = "keep_closed"


_HANDLERS: dict[str, Any] = {
    "close_review": _h_close_review,
    "accept": _h_accept,
    "reject": _h_close,
    "dispatch": _h_dispatch,
    "reassign": _h_reassign,
    "return": _h_return,
    "feedback": _h_feedback,
    "verify_pass": _h_verify_pass,
    "verify_fail": _h_verify_fail,
    "request_extension": _h_request_extension,
    "approve_extension": _h_approve_extension,
    "deny_extension": _h_deny_extension,
    "suspend": _h_suspend,
    "resume": _h_resume,
    "merge": _h_merge,
    "void": _h_void,
    "reopen": _h_reopen,
}


# --- Rating -----------------------------------------------------------------------------------
def do_rate_case(
    *, actor: User, case_id: int, rating: int, comment: str = "", reopen: bool = False
) -> Case:
    """The reporter rates a closed case (好差评). 不满意 or worse sends it to review by the
    centre, which reopens it (``reopen``) or keeps it closed (``close_review``); with
    ``reopen`` the reporter asks for it to be reopened, and says so to the centre."""
    errors = Errors()
    if rating not in Rating.values:
        errors.add("rating", _("Rate from 1 (very dissatisfied) to 5 (very satisfied)."))
    elif reopen and rating > Rating.DISSATISFIED:
        errors.add("reopen", _("Ask to reopen with a dissatisfied rating."))
    comment = (comment or "").strip()
    if len(comment) > 1000:
        errors.add("comment", _("At most 1000 characters."))
    errors.raise_if_any()
    now = timezone.now()
    with transaction.atomic():
        case = _load_for_update(actor, case_id)
        if not actor_fits("reporter", actor, case):
            raise Forbidden(_("Only the reporter rates a case."))
        if case.state_id != "closed":
            raise Conflict(_("Only a closed case can be rated, once."))
        case.rating = rating
        case.rating_comment = comment
        case.rated_at = now
        case.state = State.objects.get(pk="rated")
        case.under_review = rating <= Rating.DISSATISFIED
        case.save()
        _event(
            case,
            actor=actor,
            transition="rate",
            from_state="closed",
            note=comment,
            detail={"rating": rating, "reopen_requested": reopen},
        )
        audit.record(
            "cases.rate", actor=actor, obj=case, detail={"rating": rating, "reopen": reopen}
        )
        if case.under_review:
            _notify(
                case,
                "review",
                {"reopen": bool(reopen)},
                reporter=False,
                department=_centre(case),
                role=Role.OPERATOR,
            )
        events.publish("cases.changed", {"case_id": case.pk, "transition": "rate"})
    return case


# --- The reporter's inbox and settings -------------------------------------------------------
def do_mark_messages_read(*, actor: User, ids: list[int] | None = None) -> int:
    """Mark the actor's own in-app messages read (``ids``, or all when ``None``).
    Messages to a department are shared by its members and are not marked by one of them."""
    if not actor.is_authenticated:
        raise Forbidden()
    qs = Message.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=[int(i) for i in ids])
    with transaction.atomic():
        n = qs.update(read_at=timezone.now())
        if n:
            audit.record(
                "cases.messages_read", actor=actor, detail={"count": n, "all": ids is None}
            )
    return n


def do_set_reporter_settings(*, actor: User, notify_opt_out: bool) -> Any:
    """A reporter's choice: email and SMS about their reports, or in-app messages only."""
    from yiwang.cases.models import ReporterSettings

    if not actor.is_authenticated or actor.role not in CHANNELS_BY_ROLE:
        raise Forbidden()
    with transaction.atomic():
        row, _created = ReporterSettings.objects.select_for_update().get_or_create(user=actor)
        if row.notify_opt_out != notify_opt_out:
            row.notify_opt_out = notify_opt_out
            row.save()
            audit.record(
                "cases.reporter_settings",
                actor=actor,
                obj=row,
                detail={"notify_opt_out": notify_opt_out},
            )
    return row


# --- The deadline sweep -----------------------------------------------------------------------
def do_sweep_deadlines(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Mark yellow and red in bulk and escalate newly overdue cases, in the database.

    Three set-based statements in one transaction: yellow (warn passed, due not), an
    INSERT … SELECT of escalation rows and department/centre messages for cases about to turn
    red, then red. Suspended cases and cases without a running clock are left alone.
    """
    from django.db import connection

    from yiwang.cases.models import Escalation

    now = now or timezone.now()
    running = Q(suspended_at__isnull=True) & ~Q(sla_stage="")
    with transaction.atomic():
        yellow = Case.objects.filter(
            running, sla_level=SlaLevel.GREEN, warn_at__lte=now, due_at__gt=now
        ).update(sla_level=SlaLevel.YELLOW)
        newly_red = Case.objects.filter(
            running, sla_level__in=[SlaLevel.GREEN, SlaLevel.YELLOW], due_at__lte=now
        ).order_by()
        esc_table = Escalation._meta.db_table
        sql, params = newly_red.values_list(
            "pk", "sla_stage", "department_id", "due_at"
        ).query.sql_with_params()
        insert = (
            f"INSERT INTO {esc_table} (case_id, stage, department_id, due_at, at) "  # noqa: S608
            f"SELECT s.*, %s FROM ({sql}) s"
        )
        with connection.cursor() as cur:
            cur.execute(insert, [connection.ops.adapt_datetimefield_value(now), *params])
            escalated = cur.rowcount
            if escalated:
                # One summary message per department (its leaders) and per centre.
                for dept_id, n in _overdue_counts_by_department(newly_red):
                    if dept_id is not None:
                        new_message(
                            department_id=dept_id,
                            role=Role.DEPT_LEADER,
                            kind="overdue",
                            params={"n": n, "scope": "department"},
                        ).save()
                for centre_id, n in _overdue_counts_by_centre(newly_red):
                    new_message(
                        department_id=centre_id,
                        role=Role.OPERATOR,
                        kind="overdue",
                        params={"n": n, "scope": "area"},
                    ).save()
        red = newly_red.update(
            sla_level=SlaLevel.RED, overdue_since=now, overdue_count=F("overdue_count") + 1
        )
        audit.record(
            "cases.sweep",
            purpose="deadline sweep",
            detail={"yellow": yellow, "red": red, "escalated": escalated},
        )
    return {"yellow": yellow, "red": red, "escalated": escalated}


def _overdue_counts_by_department(cases: Any) -> list[tuple[int | None, int]]:
    from django.db.models import Count

    rows = cases.order_by().values("department_id").annotate(n=Count("pk"))
    return [(r["department_id"], int(r["n"])) for r in rows.order_by("department_id")]


def _overdue_counts_by_centre(cases: Any) -> list[tuple[int, int]]:
    """Cases turning red in this sweep per command centre over each case's county."""
    from django.db.models import Count
    from django.db.models.functions import Substr

    rows = (
        cases.order_by()
        .values(county=Substr("division_prefix", 1, 6))
        .annotate(n=Count("pk"))
        .order_by("county")
    )
    totals: dict[int, int] = {}
    for r in rows:
        centre = centre_for(r["county"] or "")
        if centre is not None:
            totals[centre.pk] = totals.get(centre.pk, 0) + int(r["n"])
    return sorted(totals.items())


# --- Open311 clients --------------------------------------------------------------------------
def do_create_open311_client(*, actor: User | None, name: str) -> tuple[Open311Client, str]:
    if actor is not None and actor.role not in {Role.SYSADMIN, Role.OPERATOR}:
        raise Forbidden()
    if not name.strip():
        raise ValidationFailed(fields={"name": [_("Name the client.")]})
    raw = "o311_" + secrets.token_urlsafe(24)
    with transaction.atomic():
        client = Open311Client.objects.create(
            name=name.strip()[:100], prefix=raw[:10], digest=token_digest(raw)
        )
        audit.record("cases.open311_client_created", actor=actor, obj=client)
    return client, raw


def open311_client_for(api_key: str) -> Open311Client | None:
    if not api_key:
        return None
    return Open311Client.objects.filter(digest=token_digest(api_key), active=True).first()
