"""Registry API: list / search / detail / create-or-update for people, places, things and
organisations; timelines; a resident's own record and who read it. Scoped and audited."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from ninja import Router, Status
from ninja.pagination import paginate

from yiwang.accounts.types import AuthedRequest
from yiwang.core.api import PageNumber, error_responses
from yiwang.core.errors import NotFound
from yiwang.core.personal import blind_index_for
from yiwang.registry import actions, selectors
from yiwang.registry.models import Person
from yiwang.registry.schemas import (
    ChangeOut,
    EmploymentIn,
    EmploymentOut,
    OrganisationIn,
    OrganisationOut,
    PersonIn,
    PersonOut,
    PlaceIn,
    PlaceOut,
    ThingIn,
    ThingOut,
    UnmaskIn,
    UnmaskOut,
)

router = Router()
ERRORS: dict[int, Any] = error_responses()


def _filter_grid(qs: QuerySet[Any], grid: str) -> QuerySet[Any]:
    return qs.filter(grid__code=grid) if grid else qs


# --- People -----------------------------------------------------------------------------------
class AuditedPeoplePage(PageNumber):
    """``PageNumber`` that audits what it hands out: a search by ID number or phone names each
    person found (``personal.search`` under their subject id); a plain list page is one
    ``personal.list`` record with the count and the ids on the page."""

    def paginate_queryset(  # type: ignore[override]
        self, queryset: Any, pagination: PageNumber.Input, **params: Any
    ) -> Any:
        result = super().paginate_queryset(queryset, pagination, **params)
        request = params["request"]
        by = "id_number" if params.get("id_number") else "phone" if params.get("phone") else ""
        if by:
            selectors.audit_people_search(
                request.user, queryset, by=by, purpose=params.get("purpose", "")
            )
        else:
            selectors.audit_people_list(
                request.user,
                result["items"],
                count=result["count"],
                page=result["page"],
                filters={k: str(params.get(k) or "") for k in ("grid", "tag")},
            )
        return result


@router.get(
    "/people",
    response={200: list[PersonOut], **ERRORS},
    summary="People in my grids (masked; audited)",
)
@paginate(AuditedPeoplePage)
def list_people(
    request: AuthedRequest,
    grid: str = "",
    id_number: str = "",
    phone: str = "",
    tag: str = "",
    purpose: str = "",
) -> Any:
    """Exact search by ``id_number`` or ``phone`` (through the blind index), or a plain list.
    A search is audited under each person found, with ``purpose`` (default "registry search"),
    so they see it on their own record; each page of a plain list is one audit record.
    ``tag`` (a care/attention tag code) needs the unmask capability (403 without)."""
    qs = _filter_grid(selectors.list_people_for(request.user), grid)
    if tag:
        qs = selectors.filter_people_by_tag(request.user, qs, tag)
    if id_number:
        qs = qs.filter(id_number_index=blind_index_for(Person, "id_number_index", id_number))
    if phone:
        qs = qs.filter(phone_index=blind_index_for(Person, "phone_index", phone))
    return qs.order_by("pk")


@router.get("/people/{person_id}", response={200: PersonOut, **ERRORS})
def get_person(request: AuthedRequest, person_id: int, purpose: str = "") -> Any:
    return selectors.access_entity(request.user, "person", person_id, purpose=purpose)


@router.post(
    "/people/{person_id}/unmask",
    response={200: UnmaskOut, **ERRORS},
    summary="One masked field of a person in full, for a stated purpose (audited)",
)
def unmask_person(request: AuthedRequest, person_id: int, payload: UnmaskIn) -> Any:
    value = actions.do_unmask_person(
        actor=request.user, person_id=person_id, field=payload.field, purpose=payload.purpose
    )
    return {"field": payload.field, "value": value}


@router.post(
    "/people",
    response={200: PersonOut, **ERRORS},
    summary="Create or update a person (by ID number; partial update; in my area)",
)
def upsert_person(request: AuthedRequest, payload: PersonIn) -> Any:
    """Only the fields sent change; an existing entry outside your area is 404 and a location in
    a grid outside it a 422 on ``lat``. ``tags`` only from callers who may see care tags."""
    return actions.do_upsert_person(actor=request.user, data=payload.dict(exclude_unset=True))


# --- Places -----------------------------------------------------------------------------------
@router.get("/places", response={200: list[PlaceOut], **ERRORS})
@paginate(PageNumber)
def list_places(request: AuthedRequest, grid: str = "", q: str = "", kind: str = "") -> Any:
    qs = _filter_grid(selectors.list_places_for(request.user), grid)
    if q:
        qs = qs.filter(name__icontains=q)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("code")


@router.get("/places/{place_id}", response={200: PlaceOut, **ERRORS})
def get_place(request: AuthedRequest, place_id: int) -> Any:
    return selectors.access_entity(request.user, "place", place_id)


@router.post(
    "/places",
    response={200: PlaceOut, **ERRORS},
    summary="Create or update a place (by code; partial update; in my area)",
)
def upsert_place(request: AuthedRequest, payload: PlaceIn) -> Any:
    """Only the fields sent change; an existing entry outside your area is 404 and a location in
    a grid outside it a 422 on ``lat``."""
    return actions.do_upsert_place(actor=request.user, data=payload.dict(exclude_unset=True))


# --- Things -----------------------------------------------------------------------------------
@router.get("/things", response={200: list[ThingOut], **ERRORS})
@paginate(PageNumber)
def list_things(
    request: AuthedRequest, grid: str = "", class_code: str = "", status: str = ""
) -> Any:
    qs = _filter_grid(selectors.list_things_for(request.user), grid)
    if class_code:
        qs = qs.filter(class_code=class_code)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("part_code")


@router.get("/things/{thing_id}", response={200: ThingOut, **ERRORS})
def get_thing(request: AuthedRequest, thing_id: int) -> Any:
    return selectors.access_entity(request.user, "thing", thing_id)


@router.post(
    "/things",
    response={200: ThingOut, **ERRORS},
    summary="Create or update a city part (by part code; partial update; in my area)",
)
def upsert_thing(request: AuthedRequest, payload: ThingIn) -> Any:
    """Only the fields sent change; an existing entry outside your area is 404 and a location in
    a grid outside it a 422 on ``lat``. A new part needs coordinates."""
    return actions.do_upsert_thing(actor=request.user, data=payload.dict(exclude_unset=True))


# --- Organisations ----------------------------------------------------------------------------
@router.get("/organisations", response={200: list[OrganisationOut], **ERRORS})
@paginate(PageNumber)
def list_organisations(
    request: AuthedRequest, grid: str = "", q: str = "", industry: str = "", credit_code: str = ""
) -> Any:
    qs = _filter_grid(selectors.list_organisations_for(request.user), grid)
    if q:
        qs = qs.filter(name__icontains=q)
    if industry:
        qs = qs.filter(industry_code__startswith=industry.upper())
    if credit_code:
        qs = qs.filter(credit_code=credit_code.upper())
    return qs.order_by("credit_code")


@router.get("/organisations/{org_id}", response={200: OrganisationOut, **ERRORS})
def get_organisation(request: AuthedRequest, org_id: int) -> Any:
    return selectors.access_entity(request.user, "organisation", org_id)


@router.post(
    "/organisations",
    response={200: OrganisationOut, **ERRORS},
    summary="Create or update an organisation (by credit code; partial update; in my area)",
)
def upsert_organisation(request: AuthedRequest, payload: OrganisationIn) -> Any:
    """Only the fields sent change; an existing entry outside your area is 404 and a location in
    a grid outside it a 422 on ``lat``. ``place_code`` links the organisation's place (one in
    your area; "" unlinks)."""
    return actions.do_upsert_organisation(actor=request.user, data=payload.dict(exclude_unset=True))


# --- Employment -------------------------------------------------------------------------------
@router.post(
    "/employments",
    response={200: EmploymentOut, **ERRORS},
    summary="Record that a person works at an organisation (both in my area)",
)
def add_employment(request: AuthedRequest, payload: EmploymentIn) -> Any:
    """Recording it again changes only ``since`` (when sent). Written to both entities'
    timelines and audited under the person's subject id; 404 if either is outside your area."""
    return actions.do_add_employment(
        actor=request.user,
        person_id=payload.person_id,
        organisation_id=payload.organisation_id,
        since=payload.since,
    )


@router.delete(
    "/employments/{employment_id}",
    response={204: None, **ERRORS},
    summary="End an employment (both ends in my area)",
)
def end_employment(request: AuthedRequest, employment_id: int) -> Any:
    """The link goes; both entities' timelines and the audit log keep that it was."""
    actions.do_end_employment(actor=request.user, employment_id=employment_id)
    return Status(204, None)


# --- Timelines --------------------------------------------------------------------------------
@router.get("/{entity}/{entity_id}/timeline", response={200: list[ChangeOut], **ERRORS})
@paginate(PageNumber)
def timeline(request: AuthedRequest, entity: str, entity_id: int) -> Any:
    key = {
        "people": "person",
        "places": "place",
        "things": "thing",
        "organisations": "organisation",
    }.get(entity)
    if key is None:
        raise NotFound()
    selectors.access_entity(request.user, key, entity_id, purpose="view change history")
    return selectors.timeline(key, entity_id)


# --- A resident's own record --------------------------------------------------------------------
@router.get(
    "/mine",
    response={200: dict[str, Any], **ERRORS},
    summary="My own registry record and who read it",
)
def my_record(request: AuthedRequest) -> Any:
    """The caller's own entry (matched by the ID number on their account), in clear, with every
    read of it by others from the audit log: when, who, department, fields, purpose, result."""
    user = request.user
    person = selectors.my_person(user)
    if person is None:
        raise NotFound()
    accesses = selectors.accesses_to_my_person(user, person)[:500]
    return {
        "person": {
            "name": person.name,
            "id_number": person.id_number,
            "phone": person.phone,
            "sex": person.sex,
            "birth_date": person.birth_date.isoformat() if person.birth_date else None,
            "household_no": person.household_no,
            "grid_code": person.grid.code if person.grid else None,
            "home": person.home.name if person.home else None,
        },
        "accesses": [
            {
                "at": a.at.isoformat(),
                "actor": a.actor,
                "department": a.department,
                "event": a.event,
                "fields": a.fields,
                "purpose": a.purpose,
                "result": a.result,
            }
            for a in accesses
        ],
    }
