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
from yiwang.grid.selectors import grid_index
from yiwang.registry.history import HISTORY_FIELDS, diff, record_change, snapshot
from yiwang.registry.models import Organisation, Person, Place, Tag, Thing

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


def do_upsert_person(*, actor: User | None, data: dict[str, Any], source: str = "api") -> Person:
    _require_writer(actor)
    errors = Errors()
    chk = validate_resident_id(str(data.get("id_number") or ""))
    if not chk.valid:
        errors.add("id_number", chk.error)
    name = str(data.get("name") or "").strip()
    if not name:
        errors.add("name", _("A name is required."))
    phone = "".join(c for c in str(data.get("phone") or "") if c.isdigit())
    if phone and (len(phone) != 11 or not phone.startswith("1")):
        errors.add("phone", _("A mobile number has 11 digits and starts with 1."))
    tags = list(data.get("tags") or [])
    bad = [t for t in tags if t not in Tag.values]
    if bad:
        errors.add("tags", _("Unknown tags: %(tags)s") % {"tags": ", ".join(map(str, bad))})
    loc = clean_location(data, errors)
    home = None
    if data.get("home_id"):
        home = Place.objects.filter(pk=data["home_id"]).first()
        if home is None:
            errors.add("home_id", _("Unknown place."))
    if errors:
        raise ValidationFailed(fields=errors)
    from yiwang.core.personal import blind_index_for

    with transaction.atomic():
        person = Person.objects.filter(
            id_number_index=blind_index_for(Person, "id_number_index", chk.value)
        ).first()
        before = snapshot(person, PERSON_FIELDS) if person else None
        person = person or Person()
        person.name = name
        person.id_number = chk.value
        person.phone = phone
        person.sex = chk.sex
        person.birth_date = chk.birth_date
        person.household_no = str(data.get("household_no") or "")[:40]
        person.tags = sorted(set(tags))
        person.source = source
        if home is not None:
            person.home = home
        if loc.get("lng") is not None:
            person.lng, person.lat, person.coord_system = (
                loc["lng"],
                loc["lat"],
                loc["coord_system"],
            )
        elif home is not None and home.lng is not None:
            person.lng, person.lat = home.lng, home.lat
        assign_grid(person, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        return _save(person, PERSON_FIELDS, actor=actor, source=source, before=before)


def do_upsert_place(*, actor: User | None, data: dict[str, Any], source: str = "api") -> Place:
    _require_writer(actor)
    errors = Errors()
    code = str(data.get("code") or "").strip()
    if not code:
        errors.add("code", _("A place code is required."))
    kind = data.get("kind") or Place.Kind.ADDRESS
    if kind not in Place.Kind.values:
        errors.add("kind", _("Unknown kind of place."))
    name = str(data.get("name") or "").strip()
    if not name:
        errors.add("name", _("A name is required."))
    parent = None
    if data.get("parent_id"):
        parent = Place.objects.filter(pk=data["parent_id"]).first()
        if parent is None:
            errors.add("parent_id", _("Unknown parent place."))
    loc = clean_location(data, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        place = Place.objects.filter(code=code).first()
        before = snapshot(place, PLACE_FIELDS) if place else None
        place = place or Place(code=code)
        place.kind, place.name, place.parent = kind, name, parent
        place.address = str(data.get("address") or "")[:300]
        if loc.get("lng") is not None:
            place.lng, place.lat, place.coord_system = loc["lng"], loc["lat"], loc["coord_system"]
        elif parent is not None:
            place.lng, place.lat = parent.lng, parent.lat
        assign_grid(place, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        return _save(place, PLACE_FIELDS, actor=actor, source=source, before=before)


def do_upsert_thing(*, actor: User | None, data: dict[str, Any], source: str = "api") -> Thing:
    _require_writer(actor)
    errors = Errors()
    part_code = str(data.get("part_code") or "").strip()
    if len(part_code) != 17 or not part_code.isdigit():
        errors.add("part_code", _("A part identifier has 17 digits."))
    class_code = str(data.get("class_code") or part_code[6:11]).strip()
    if len(class_code) != 5 or not class_code.isdigit():
        errors.add("class_code", _("A part class code has 5 digits."))
    elif part_code and part_code[6:11] != class_code:
        errors.add("class_code", _("The class code must match digits 7–11 of the part identifier."))
    status = data.get("status") or Thing.Status.NORMAL
    if status not in Thing.Status.values:
        errors.add("status", _("Unknown status."))
    owner = None
    if data.get("owner_department"):
        owner = Department.objects.filter(code=data["owner_department"]).first()
        if owner is None:
            errors.add("owner_department", _("Unknown department."))
    loc = clean_location(data, errors)
    if not errors and loc.get("lng") is None:
        errors.add("lat", _("A city part needs coordinates."))
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        thing = Thing.objects.filter(part_code=part_code).first()
        before = snapshot(thing, THING_FIELDS) if thing else None
        thing = thing or Thing(part_code=part_code)
        thing.class_code, thing.status = class_code, status
        thing.name = str(data.get("name") or class_code)[:100]
        thing.owner_department = owner
        thing.lng, thing.lat, thing.coord_system = loc["lng"], loc["lat"], loc["coord_system"]
        assign_grid(thing, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        return _save(thing, THING_FIELDS, actor=actor, source=source, before=before)


def do_upsert_organisation(
    *, actor: User | None, data: dict[str, Any], source: str = "api"
) -> Organisation:
    _require_writer(actor)
    errors = Errors()
    chk = validate_credit_code(
        str(data.get("credit_code") or ""), strict=bool(data.get("strict_credit_code", True))
    )
    if not chk.valid:
        errors.add("credit_code", chk.error)
    name = str(data.get("name") or "").strip()
    if not name:
        errors.add("name", _("A name is required."))
    kind = data.get("kind") or Organisation.Kind.ENTERPRISE
    if kind not in Organisation.Kind.values:
        errors.add("kind", _("Unknown kind of organisation."))
    industry = str(data.get("industry_code") or "").strip().upper()
    if industry:
        from yiwang.core.codetables import industry as lookup_industry

        if lookup_industry(industry) is None:
            errors.add("industry_code", _("Unknown GB/T 4754 industry code."))
    size = data.get("size_class") or ""
    if size and size not in Organisation.Size.values:
        errors.add("size_class", _("Use large, medium, small or micro."))
    capital = None
    if data.get("registered_capital") not in (None, ""):
        try:
            capital = Decimal(str(data["registered_capital"]))
        except InvalidOperation:
            errors.add("registered_capital", _("Registered capital is a number in 10k yuan."))
    founded = _date(data.get("founded_on"), "founded_on", errors)
    status = data.get("status") or Organisation.Status.ACTIVE
    if status not in Organisation.Status.values:
        errors.add("status", _("Unknown status."))
    loc = clean_location(data, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        org = Organisation.objects.filter(credit_code=chk.value).first()
        before = snapshot(org, ORG_FIELDS) if org else None
        org = org or Organisation(credit_code=chk.value)
        org.kind, org.name, org.industry_code, org.size_class = kind, name, industry, size
        org.registered_address = str(data.get("registered_address") or "")[:300]
        org.founded_on, org.registered_capital, org.status = founded, capital, status
        org.legal_representative = str(data.get("legal_representative") or "")[:50]
        if loc.get("lng") is not None:
            org.lng, org.lat, org.coord_system = loc["lng"], loc["lat"], loc["coord_system"]
        assign_grid(org, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        saved = _save(org, ORG_FIELDS, actor=actor, source=source, before=before)
        events.publish(
            "registry.organisation_changed", {"id": saved.pk, "credit_code": saved.credit_code}
        )
        return saved


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
def reassign_all(*, actor: User | None = None, chunk: int = 50_000) -> dict[str, int]:
    """Recompute every geolocated row's grid; returns how many moved per entity type."""
    index = grid_index()
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
            for (pk, _x, _y, old), gid in zip(rows, new.tolist(), strict=True):
                g = gid if gid >= 0 else None
                if g != old:
                    changes.setdefault(g, []).append(pk)
            with transaction.atomic():
                for g, pks in changes.items():
                    model.objects.filter(pk__in=pks).update(grid_id=g)
                    n_moved += len(pks)
        moved[key] = n_moved
    audit.record(
        "registry.reassigned", actor=actor, object_type="grid.grid", detail={"moved": moved}
    )
    return moved
