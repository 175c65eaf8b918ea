"""Registry writes: validated upserts with history and grid assignment; bulk re-assignment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _

from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Cap, Role
from yiwang.core import audit, events
from yiwang.core.errors import Errors, Forbidden, NotFound, ValidationFailed
from yiwang.core.ids import validate_credit_code, validate_resident_id
from yiwang.core.models import AuditResult
from yiwang.grid.coords import CoordSystem, point_to_wgs84
from yiwang.grid.selectors import grid_ids_for, grid_index
from yiwang.registry.history import HISTORY_FIELDS, diff, record_change, snapshot
from yiwang.registry.models import (
    Employment,
    Organisation,
    Person,
    Place,
    Tag,
    Thing,
    parent_kind_error,
)

WRITER_ROLES = {
    Role.GRID_WORKER,
    Role.DATA_ADMIN,
    Role.DEPT_STAFF,
    Role.DEPT_LEADER,
    Role.OPERATOR,
}


def _require_writer(actor: User | None) -> None:
    if actor is not None and (actor.role not in WRITER_ROLES or not actor.can(Cap.REGISTRY_VIEW)):
        raise Forbidden(_("You may not change the registry."))


# --- Field cleaning shared by the API and the importer -----------------------------------------
def clean_location(data: dict[str, Any], errors: Errors) -> dict[str, Any]:
    lng, lat = data.get("lng"), data.get("lat")
    system = (data.get("coord_system") or CoordSystem.WGS84).lower()
    if lng in (None, "") and lat in (None, ""):
        return {"lng": None, "lat": None, "coord_system": CoordSystem.WGS84}
    try:
        x, y = float(lng), float(lat)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        errors.add("lng", _("Longitude and latitude must both be numbers."))
        return {}
    if system not in CoordSystem.__members__.values():
        errors.add("coord_system", _("Use wgs84, gcj02 or bd09."))
        return {}
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        errors.add("lat", _("Coordinates out of range."))
        return {}
    wx, wy = point_to_wgs84(x, y, system)
    return {"lng": wx, "lat": wy, "coord_system": system}


def assign_grid(obj: Any, errors: Errors | None = None, *, require_inside: bool = True) -> None:
    if obj.lng is None or obj.lat is None:
        obj.grid_id = getattr(obj, "grid_id", None)
        return
    gid = grid_index().assign_one(obj.lng, obj.lat)
    if gid is None and require_inside and errors is not None and grid_index().geoms:
        errors.add("lat", _("The location is outside the territory's grids."))
    obj.grid_id = gid


def _date(value: Any, field: str, errors: Errors) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        errors.add(field, _("Use a date like 2024-05-31."))
        return None


PERSON_FIELDS = list(HISTORY_FIELDS["person"])
PLACE_FIELDS = list(HISTORY_FIELDS["place"])
THING_FIELDS = list(HISTORY_FIELDS["thing"])
ORG_FIELDS = list(HISTORY_FIELDS["organisation"])


M = TypeVar("M", Person, Place, Thing, Organisation)


def _save(
    obj: M, fields: list[str], *, actor: Any, source: str, before: dict[str, Any] | None
) -> M:
    created = obj.pk is None
    obj.save()
    changes = diff(type(obj), before or {}, snapshot(obj, fields))
    if created or changes:
        record_change(
            obj,
            actor=actor,
            action="created" if created else "updated",
            changes=changes,
            source=source,
        )
        audit.record(
            f"registry.{obj._meta.model_name}_{'created' if created else 'updated'}",
            actor=actor,
            obj=obj,
            subject_id=f"person:{obj.pk}" if isinstance(obj, Person) else "",
            fields=sorted(changes),
            detail={"source": source} if source else None,
        )
    return obj


# --- The area an actor may write in ------------------------------------------------------------
def allowed_grids(actor: User | None) -> set[int] | None:
    """The grids an actor may write into, decided as the bulk importer decides
    (``Importer.__init__``): the grids of their territory for an actor who governs one (has
    ``registry.view``); ``None``, any grid, for one who does not (the command line, demo data).
    """
    if actor is not None and actor.can(Cap.REGISTRY_VIEW):
        return set(grid_ids_for(actor))
    return None


def in_area(allowed: set[int] | None, grid_id: int | None) -> bool:
    """Whether a stored row may be written or linked to. As in the importer, a row in no grid
    (stored without coordinates) is not outside anyone's area."""
    return allowed is None or grid_id is None or grid_id in allowed


def _refused(actor: User | None, event: str, obj: Any, **detail: Any) -> NotFound:
    """Audit a write refused because its object is outside the actor's area (as a refused
    unmask is: object, no subject), and the ``NotFound`` to answer it with."""
    audit.record(
        event,
        actor=actor,
        obj=obj,
        result=AuditResult.DENIED,
        detail={"reason": "not in scope", **detail},
    )
    return NotFound()


def _check_existing(actor: User | None, allowed: set[int] | None, obj: Any) -> None:
    """An existing row matched by its natural key outside the actor's area: answered as the
    API answers every object out of scope, without disclosing anything about it; the attempt
    is audited (outside the write's transaction, so the record stays)."""
    if obj is not None and not in_area(allowed, obj.grid_id):
        raise _refused(actor, f"registry.{obj._meta.model_name}_updated", obj)


def _check_grid(allowed: set[int] | None, obj: Any, errors: Errors) -> None:
    """After ``assign_grid``: a new or moved location in a grid outside the actor's area."""
    if allowed is not None and obj.grid_id is not None and obj.grid_id not in allowed:
        errors.add("lat", _("The location is in a grid outside your area."))


def _place_in_area(allowed: set[int] | None, **lookup: Any) -> Place | None:
    place = Place.objects.filter(**lookup).first()
    return place if place is not None and in_area(allowed, place.grid_id) else None


def _set_location(obj: Any, loc: dict[str, Any], inherit_from: Any = None) -> None:
    """Coordinates when both were given (they are never cleared: a row keeps its grid);
    otherwise those of a place linked in the same request, when it has any."""
    if loc.get("lng") is not None:
        obj.lng, obj.lat, obj.coord_system = loc["lng"], loc["lat"], loc["coord_system"]
    elif inherit_from is not None and inherit_from.lng is not None:
        obj.lng, obj.lat = inherit_from.lng, inherit_from.lat


# --- Per-row create or update -----------------------------------------------------------------
# An update changes only the fields present in ``data`` (the API passes what the caller sent);
# an explicit null or "" clears a field that may be empty and resets one with a default.
# Creating takes the defaults for fields not given. Writes stay in the actor's area.


def do_upsert_person(*, actor: User | None, data: dict[str, Any], source: str = "api") -> Person:
    """Create a person, or update the one with this ID number (partially: see above).

    Refused: an existing person outside the actor's area (``NotFound``), a location in a grid
    outside it (field error on ``lat``), a home place outside it (``home_id``: unknown), and
    ``tags`` from an actor who may not see care tags.
    """
    _require_writer(actor)
    from yiwang.registry.selectors import may_see_tags

    allowed = allowed_grids(actor)
    errors = Errors()
    given = data.__contains__
    chk = validate_resident_id(str(data.get("id_number") or ""))
    if not chk.valid:
        errors.add("id_number", chk.error)
    vals: dict[str, Any] = {}
    if given("name"):
        vals["name"] = str(data["name"] or "").strip()
        if not vals["name"]:
            errors.add("name", _("A name is required."))
    if given("phone"):
        phone = "".join(c for c in str(data["phone"] or "") if c.isdigit())
        if phone and (len(phone) != 11 or not phone.startswith("1")):
            errors.add("phone", _("A mobile number has 11 digits and starts with 1."))
        vals["phone"] = phone
    if given("household_no"):
        vals["household_no"] = str(data["household_no"] or "")[:40]
    if given("tags"):
        if actor is not None and not may_see_tags(actor):
            errors.add("tags", _("You may not change care and attention tags."))
        else:
            tags = list(data["tags"] or [])
            bad = [t for t in tags if t not in Tag.values]
            if bad:
                errors.add("tags", _("Unknown tags: %(tags)s") % {"tags": ", ".join(map(str, bad))})
            vals["tags"] = sorted(set(tags))
    home = None
    if given("home_id"):
        if data["home_id"]:
            home = _place_in_area(allowed, pk=data["home_id"])
            if home is None:
                errors.add("home_id", _("Unknown place."))
        vals["home"] = home
    loc = clean_location(data, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    from yiwang.core.personal import blind_index_for

    person = Person.objects.filter(
        id_number_index=blind_index_for(Person, "id_number_index", chk.value)
    ).first()
    _check_existing(actor, allowed, person)
    with transaction.atomic():
        before = snapshot(person, PERSON_FIELDS) if person else None
        if person is None:
            if not given("name"):
                raise ValidationFailed(fields={"name": [_("A name is required.")]})
            person = Person(phone="", household_no="", tags=[])
        person.id_number = chk.value
        person.sex = chk.sex
        person.birth_date = chk.birth_date
        for attr, value in vals.items():
            setattr(person, attr, value)
        person.source = source
        _set_location(person, loc, home)
        assign_grid(person, errors)
        _check_grid(allowed, person, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        return _save(person, PERSON_FIELDS, actor=actor, source=source, before=before)


def do_upsert_place(*, actor: User | None, data: dict[str, Any], source: str = "api") -> Place:
    """Create a place, or update the one with this code (partially), in the actor's area."""
    _require_writer(actor)
    allowed = allowed_grids(actor)
    errors = Errors()
    given = data.__contains__
    code = str(data.get("code") or "").strip()
    if not code:
        errors.add("code", _("A place code is required."))
    vals: dict[str, Any] = {}
    if given("kind"):
        vals["kind"] = data["kind"] or Place.Kind.ADDRESS
        if vals["kind"] not in Place.Kind.values:
            errors.add("kind", _("Unknown kind of place."))
    if given("name"):
        vals["name"] = str(data["name"] or "").strip()
        if not vals["name"]:
            errors.add("name", _("A name is required."))
    parent = None
    if given("parent_id"):
        if data["parent_id"]:
            parent = _place_in_area(allowed, pk=data["parent_id"])
            if parent is None:
                errors.add("parent_id", _("Unknown parent place."))
        vals["parent"] = parent
    if given("address"):
        vals["address"] = str(data["address"] or "")[:300]
    loc = clean_location(data, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    place = Place.objects.filter(code=code).first()
    _check_existing(actor, allowed, place)
    with transaction.atomic():
        before = snapshot(place, PLACE_FIELDS) if place else None
        if place is None:
            if not given("name"):
                raise ValidationFailed(fields={"name": [_("A name is required.")]})
            place = Place(code=code, kind=Place.Kind.ADDRESS, address="")
        elif parent is not None and parent.pk == place.pk:
            raise ValidationFailed(fields={"parent_id": [_("A place cannot be its own parent.")]})
        for attr, value in vals.items():
            setattr(place, attr, value)
        if place.parent_id is not None:
            wrong = parent_kind_error(place.kind, place.parent.kind if place.parent else None)
            if wrong:
                errors.add("parent_id", wrong)
        _set_location(place, loc, parent)
        assign_grid(place, errors)
        _check_grid(allowed, place, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        return _save(place, PLACE_FIELDS, actor=actor, source=source, before=before)


def do_upsert_thing(*, actor: User | None, data: dict[str, Any], source: str = "api") -> Thing:
    """Create a city part, or update the one with this part code (partially), in the actor's
    area. A new part needs coordinates."""
    _require_writer(actor)
    allowed = allowed_grids(actor)
    errors = Errors()
    given = data.__contains__
    part_code = str(data.get("part_code") or "").strip()
    if len(part_code) != 17 or not part_code.isdigit():
        errors.add("part_code", _("A part identifier has 17 digits."))
    class_code = str(data.get("class_code") or part_code[6:11]).strip()
    if len(class_code) != 5 or not class_code.isdigit():
        errors.add("class_code", _("A part class code has 5 digits."))
    elif part_code and part_code[6:11] != class_code:
        errors.add("class_code", _("The class code must match digits 7–11 of the part identifier."))
    else:
        from yiwang.registry.codes import PartClasses

        unknown = PartClasses().error(class_code)
        if unknown:
            errors.add("class_code", unknown)
    vals: dict[str, Any] = {"class_code": class_code}
    if given("status"):
        vals["status"] = data["status"] or Thing.Status.NORMAL
        if vals["status"] not in Thing.Status.values:
            errors.add("status", _("Unknown status."))
    if given("name"):
        vals["name"] = str(data["name"] or class_code)[:100]
    if given("owner_department"):
        owner = None
        if data["owner_department"]:
            owner = Department.objects.filter(code=data["owner_department"]).first()
            if owner is None:
                errors.add("owner_department", _("Unknown department."))
        vals["owner_department"] = owner
    loc = clean_location(data, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    thing = Thing.objects.filter(part_code=part_code).first()
    _check_existing(actor, allowed, thing)
    with transaction.atomic():
        before = snapshot(thing, THING_FIELDS) if thing else None
        if thing is None:
            if loc.get("lng") is None:
                raise ValidationFailed(fields={"lat": [_("A city part needs coordinates.")]})
            thing = Thing(part_code=part_code, name=class_code, status=Thing.Status.NORMAL)
        for attr, value in vals.items():
            setattr(thing, attr, value)
        _set_location(thing, loc)
        assign_grid(thing, errors)
        _check_grid(allowed, thing, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        return _save(thing, THING_FIELDS, actor=actor, source=source, before=before)


def do_upsert_organisation(
    *, actor: User | None, data: dict[str, Any], source: str = "api"
) -> Organisation:
    """Create an organisation, or update the one with this credit code (partially), in the
    actor's area. ``place_code`` links its place (one in the actor's area; "" unlinks); a
    place linked without coordinates in the same request lends the organisation its own."""
    _require_writer(actor)
    allowed = allowed_grids(actor)
    errors = Errors()
    given = data.__contains__
    chk = validate_credit_code(
        str(data.get("credit_code") or ""), strict=bool(data.get("strict_credit_code", True))
    )
    if not chk.valid:
        errors.add("credit_code", chk.error)
    vals: dict[str, Any] = {}
    if given("name"):
        vals["name"] = str(data["name"] or "").strip()
        if not vals["name"]:
            errors.add("name", _("A name is required."))
    if given("kind"):
        vals["kind"] = data["kind"] or Organisation.Kind.ENTERPRISE
        if vals["kind"] not in Organisation.Kind.values:
            errors.add("kind", _("Unknown kind of organisation."))
    if given("industry_code"):
        industry = str(data["industry_code"] or "").strip().upper()
        if industry:
            from yiwang.core.codetables import industry as lookup_industry

            if lookup_industry(industry) is None:
                errors.add("industry_code", _("Unknown GB/T 4754 industry code."))
        vals["industry_code"] = industry
    if given("size_class"):
        vals["size_class"] = data["size_class"] or ""
        if vals["size_class"] and vals["size_class"] not in Organisation.Size.values:
            errors.add("size_class", _("Use large, medium, small or micro."))
    if given("registered_capital"):
        vals["registered_capital"] = None
        if data["registered_capital"] not in (None, ""):
            try:
                vals["registered_capital"] = Decimal(str(data["registered_capital"]))
            except InvalidOperation:
                errors.add("registered_capital", _("Registered capital is a number in 10k yuan."))
    if given("founded_on"):
        vals["founded_on"] = _date(data["founded_on"], "founded_on", errors)
    if given("status"):
        vals["status"] = data["status"] or Organisation.Status.ACTIVE
        if vals["status"] not in Organisation.Status.values:
            errors.add("status", _("Unknown status."))
    if given("registered_address"):
        vals["registered_address"] = str(data["registered_address"] or "")[:300]
    if given("legal_representative"):
        vals["legal_representative"] = str(data["legal_representative"] or "")[:50]
    place = None
    if given("place_code"):
        place_code = str(data["place_code"] or "").strip()
        if place_code:
            place = _place_in_area(allowed, code=place_code)
            if place is None:
                errors.add("place_code", _("Unknown place."))
        vals["place"] = place
    loc = clean_location(data, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    org = Organisation.objects.filter(credit_code=chk.value).first()
    _check_existing(actor, allowed, org)
    with transaction.atomic():
        before = snapshot(org, ORG_FIELDS) if org else None
        if org is None:
            if not given("name"):
                raise ValidationFailed(fields={"name": [_("A name is required.")]})
            org = Organisation(credit_code=chk.value)
        for attr, value in vals.items():
            setattr(org, attr, value)
        _set_location(org, loc, place)
        assign_grid(org, errors)
        _check_grid(allowed, org, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        saved = _save(org, ORG_FIELDS, actor=actor, source=source, before=before)
        events.publish(
            "registry.organisation_changed", {"id": saved.pk, "credit_code": saved.credit_code}
        )
        return saved


# --- Employment: a person works at an organisation -------------------------------------------
def _employment_ends(
    actor: User | None, person_id: int, organisation_id: int, *, event: str
) -> tuple[Person, Organisation]:
    """Both ends of an employment, each in the actor's area (else ``NotFound``; audited as
    refused when they exist)."""
    allowed = allowed_grids(actor)
    person = Person.objects.filter(pk=person_id).first()
    org = Organisation.objects.filter(pk=organisation_id).first()
    if person is None or org is None:
        raise NotFound()
    if not in_area(allowed, person.grid_id) or not in_area(allowed, org.grid_id):
        raise _refused(actor, event, person, organisation_id=org.pk)
    return person, org


def _employee(person: Person) -> str:
    from yiwang.core.masking import mask_name

    return f"{mask_name(person.name)} #{person.pk}"


def _record_employment(
    emp: Employment,
    person: Person,
    org: Organisation,
    *,
    actor: User | None,
    event: str,
    person_changes: dict[str, list[Any]],
    org_changes: dict[str, list[Any]],
    source: str,
) -> None:
    record_change(person, actor=actor, action="updated", changes=person_changes, source=source)
    record_change(org, actor=actor, action="updated", changes=org_changes, source=source)
    audit.record(
        event,
        actor=actor,
        object_type="registry.employment",
        object_id=str(emp.pk),
        subject_id=f"person:{person.pk}",
        fields=sorted(person_changes),
        detail={"person_id": person.pk, "organisation_id": org.pk, "source": source},
    )


def do_add_employment(
    *,
    actor: User | None,
    person_id: int,
    organisation_id: int,
    since: Any = None,
    source: str = "api",
) -> Employment:
    """Record that a person works at an organisation (since a date, if known). Both must be
    in the actor's area. Recording it again changes only the date, when one is given. Writes
    a history entry on the person and on the organisation, and an audit record under the
    person's subject id."""
    _require_writer(actor)
    errors = Errors()
    start = _date(since, "since", errors)
    person, org = _employment_ends(
        actor, person_id, organisation_id, event="registry.employment_added"
    )
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        emp = Employment.objects.filter(person=person, organisation=org).first()
        if emp is None:
            emp = Employment.objects.create(person=person, organisation=org, since=start)
            started = {"since": [None, start.isoformat()]} if start else {}
            _record_employment(
                emp,
                person,
                org,
                actor=actor,
                event="registry.employment_added",
                person_changes={"employer": [None, org.name], **started},
                org_changes={"employee": [None, _employee(person)], **started},
                source=source,
            )
        elif start is not None and emp.since != start:
            old = emp.since.isoformat() if emp.since else None
            emp.since = start
            emp.save(update_fields=["since"])
            change = {"since": [old, start.isoformat()]}
            _record_employment(
                emp,
                person,
                org,
                actor=actor,
                event="registry.employment_updated",
                person_changes={"employer": [org.name, org.name], **change},
                org_changes={"employee": [_employee(person), _employee(person)], **change},
                source=source,
            )
    return emp


def do_end_employment(*, actor: User | None, employment_id: int, source: str = "api") -> None:
    """End an employment: the link goes (the model keeps no end date); the history entries on
    the person and the organisation, and the audit record, keep that it was."""
    _require_writer(actor)
    emp = Employment.objects.filter(pk=employment_id).first()
    if emp is None:
        raise NotFound()
    person, org = _employment_ends(
        actor, emp.person_id, emp.organisation_id, event="registry.employment_ended"
    )
    ended = {"since": [emp.since.isoformat(), None]} if emp.since else {}
    with transaction.atomic():
        pk = emp.pk
        emp.delete()
        emp.pk = pk
        _record_employment(
            emp,
            person,
            org,
            actor=actor,
            event="registry.employment_ended",
            person_changes={"employer": [org.name, None], **ended},
            org_changes={"employee": [_employee(person), None], **ended},
            source=source,
        )


UPSERTS = {
    "person": do_upsert_person,
    "place": do_upsert_place,
    "thing": do_upsert_thing,
    "organisation": do_upsert_organisation,
}


# --- Unmasking a person's personal data -------------------------------------------------------
#: Fields of a person that are masked on the pages and may be shown in full, with a purpose.
UNMASKABLE = ("id_number", "phone", "name", "household_no")


def do_unmask_person(*, actor: User, person_id: int, field: str, purpose: str) -> str:
    """One of a person's masked fields in clear, for an actor with the unmask capability who
    has the person in scope and states a purpose (at least 4 characters).

    Audited as ``personal.unmask`` with the field name (never the value) and the purpose,
    under the person's subject id, so the person sees it; a refusal for want of the
    capability, or for a person outside the actor's scope (answered 404), is audited too.
    """
    from yiwang.registry.selectors import list_people_for

    person = list_people_for(actor).filter(pk=person_id).first()
    if person is None:
        audit.record(
            "personal.unmask",
            actor=actor,
            object_type="registry.person",
            object_id=str(person_id),
            fields=[field[:40]],
            purpose=purpose[:200],
            result=AuditResult.DENIED,
            detail={"reason": "not in scope"},
        )
        raise NotFound()
    if not actor.can(Cap.UNMASK):
        audit.record(
            "personal.unmask",
            actor=actor,
            obj=person,
            subject_id=f"person:{person.pk}",
            fields=[field[:40]],
            purpose=purpose[:200],
            result=AuditResult.DENIED,
            detail={"reason": "no capability"},
        )
        raise Forbidden(_("You may not unmask personal data."))
    errors = Errors()
    if field not in UNMASKABLE:
        errors.add("field", _("This field cannot be unmasked."))
    if len(purpose.strip()) < 4:
        errors.add("purpose", _("State the purpose of unmasking (at least 4 characters)."))
    if errors:
        raise ValidationFailed(fields=errors)
    audit.record(
        "personal.unmask",
        actor=actor,
        obj=person,
        subject_id=f"person:{person.pk}",
        fields=[field],
        purpose=purpose.strip()[:200],
    )
    return str(getattr(person, field) or "")


# --- Re-assignment when grids change ----------------------------------------------------------
def _grid_json(value: int | None) -> str:
    return "null" if value is None else str(value)


def reassign_all(*, actor: User | None = None, chunk: int = 50_000) -> dict[str, int]:
    """Recompute every geolocated row's grid; returns how many moved per entity type.

    Each row whose grid changed gets a ``moved`` history entry (source ``reassign``, the grid
    before and after), written in bulk with the importer's history writer in the transaction
    of the chunk's updates."""
    from django.utils import timezone

    from yiwang.registry.importing.writing import insert_history
    from yiwang.registry.models import Reassignment

    started = timezone.now()
    index = grid_index()
    actor_name = getattr(actor, "username", "") or ""
    moved: dict[str, int] = {}
    for key, model in (
        ("person", Person),
        ("place", Place),
        ("thing", Thing),
        ("organisation", Organisation),
    ):
        n_moved = 0
        last = 0
        while True:
            rows = list(
                model.objects.filter(pk__gt=last, lng__isnull=False)
                .order_by("pk")
                .values_list("pk", "lng", "lat", "grid_id")[:chunk]
            )
            if not rows:
                break
            last = rows[-1][0]
            arr = np.array([(r[1], r[2]) for r in rows], dtype=float)
            new = index.assign(arr[:, 0], arr[:, 1])
            changes: dict[int | None, list[int]] = {}
            history: list[tuple[int, str, str]] = []
            for (pk, _x, _y, old), gid in zip(rows, new.tolist(), strict=True):
                g = gid if gid >= 0 else None
                if g != old:
                    changes.setdefault(g, []).append(pk)
                    history.append(
                        (pk, "moved", f'{{"grid_id": [{_grid_json(old)}, {_grid_json(g)}]}}')
                    )
            if not history:
                continue
            with transaction.atomic():
                for g, pks in changes.items():
                    for i in range(0, len(pks), 10_000):
                        model.objects.filter(pk__in=pks[i : i + 10_000]).update(grid_id=g)
                insert_history(key, history, actor=actor_name, source="reassign")
            n_moved += len(history)
        moved[key] = n_moved
    Reassignment.objects.create(
        started_at=started,
        actor=actor if actor is not None and actor.is_authenticated else None,
        moved=moved,
    )
    audit.record(
        "registry.reassigned", actor=actor, object_type="grid.grid", detail={"moved": moved}
    )
    return moved
