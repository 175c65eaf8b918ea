"""Registry reads, scoped by grid: a grid worker sees their grids, a community its grids, a
street its communities, a district bureau its district. Care tags only for those who may unmask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from yiwang.accounts.models import User
from yiwang.accounts.roles import Cap
from yiwang.core import audit
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditRecord
from yiwang.core.selectors import list_accesses_to
from yiwang.grid.selectors import grid_scope_q, list_grids_for
from yiwang.registry.models import ChangeRecord, Organisation, Person, Place, Tag, Thing

MODELS: dict[str, Any] = {
    "person": Person,
    "place": Place,
    "thing": Thing,
    "organisation": Organisation,
}


def _scoped(model: Any, actor: User) -> QuerySet[Any]:
    qs: QuerySet[Any] = model.objects.filter(grid_scope_q(actor, "grid__")).select_related("grid")
    return qs


def list_people_for(actor: User) -> QuerySet[Person]:
    return _scoped(Person, actor).select_related("home")


def list_places_for(actor: User) -> QuerySet[Place]:
    return _scoped(Place, actor)


def list_things_for(actor: User) -> QuerySet[Thing]:
    return _scoped(Thing, actor)


def list_organisations_for(actor: User) -> QuerySet[Organisation]:
    return _scoped(Organisation, actor)


LISTERS = {
    "person": list_people_for,
    "place": list_places_for,
    "thing": list_things_for,
    "organisation": list_organisations_for,
}


def access_entity(actor: User, entity: str, pk: int, *, purpose: str = "") -> Any:
    lister = LISTERS.get(entity)
    if lister is None:
        raise NotFound()
    obj = lister(actor).filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    if entity == "person":
        audit.record(
            "personal.read",
            actor=actor,
            obj=obj,
            subject_id=f"person:{obj.pk}",
            fields=["name", "id_number", "phone", "birth_date", "home"],
            purpose=purpose or "view registry entry",
            detail={"masked": True},
        )
    return obj


#: Most people named one by one in the audit records of a single search.
SEARCH_SUBJECTS_MAX = 500
#: The masked fields a list or search of people shows.
LISTED_FIELDS = ("name", "id_number", "phone", "birth_date", "grid")


def audit_people_search(actor: User, found: QuerySet[Person], *, by: str, purpose: str = "") -> int:
    """Audit a search of people by ID number or phone (exact, through the blind index): one
    ``personal.search`` record for each person found, under their subject id, so each sees
    the search on their own "who read my data" page; one record with no subject when nobody
    was found. Returns how many were found."""
    ids = list(found.order_by("pk").values_list("pk", flat=True)[: SEARCH_SUBJECTS_MAX + 1])
    count = len(ids) if len(ids) <= SEARCH_SUBJECTS_MAX else found.count()
    why = (purpose or "registry search")[:200]
    detail = {"by": by, "found": count}
    entries = [
        audit.Entry(
            event="personal.search",
            actor=actor,
            object_type="registry.person",
            object_id=str(pk),
            subject_id=f"person:{pk}",
            fields=(by,),
            purpose=why,
            detail=detail,
        )
        for pk in ids[:SEARCH_SUBJECTS_MAX]
    ] or [
        audit.Entry(
            event="personal.search",
            actor=actor,
            object_type="registry.person",
            fields=(by,),
            purpose=why,
            detail=detail,
        )
    ]
    audit.append_many(entries)
    return count


def audit_people_list(
    actor: User, shown: Sequence[Person], *, count: int, page: int, filters: dict[str, str]
) -> None:
    """Audit one page of a plain list of people (masked): one ``personal.list`` record per
    page with the number of people listed, the page, the filters, and the ids of the people
    on the page (in ``detail``: a page names up to hundreds of people, and the audit record
    has a single subject)."""
    audit.record(
        "personal.list",
        actor=actor,
        object_type="registry.person",
        fields=LISTED_FIELDS,
        purpose="registry list",
        detail={
            "count": count,
            "page": page,
            "shown": len(shown),
            "ids": [p.pk for p in shown],
            "filters": {k: v for k, v in filters.items() if v},
        },
    )


def may_see_tags(actor: User) -> bool:
    return actor.can(Cap.UNMASK)


def filter_people_by_tag(actor: User, qs: QuerySet[Person], tag: str) -> QuerySet[Person]:
    """People carrying a care/attention tag. The tags are sensitive PI: filtering by one is
    seeing it, so only roles that may see tags may filter (else ``Forbidden``)."""
    if not may_see_tags(actor):
        raise Forbidden(_("You may not see care and attention tags."))
    if tag not in Tag.values:
        raise ValidationFailed(fields={"tag": [_("Unknown tag.")]})
    return qs.filter(tags__has_element=tag)


# --- A resident's own record ------------------------------------------------------------------
def my_person(user: User) -> Person | None:
    """The registry entry of the signed-in person, matched by the ID number on their account
    (exact, through the blind index); None without an ID number or an entry."""
    from yiwang.core.personal import blind_index_for

    if not user.is_authenticated or not user.id_number:
        return None
    return (
        Person.objects.select_related("grid", "home")
        .filter(id_number_index=blind_index_for(Person, "id_number_index", user.id_number))
        .first()
    )


def accesses_to_my_person(user: User, person: Person) -> QuerySet[AuditRecord]:
    """Who read or tried to read this person's registry data, newest first: every audit record
    under the person's subject id by someone other than the person themself."""
    return list_accesses_to(f"person:{person.pk}").exclude(actor_id=user.pk)


def timeline(entity: str, pk: int) -> QuerySet[ChangeRecord]:
    return ChangeRecord.objects.filter(entity_type=entity, entity_id=pk).order_by("-at", "-pk")


#: What the grid map and profile count from the registry (registered in ``grid.counts``).
GRID_METRICS = (
    ("people", Person, "registry:people"),
    ("places", Place, "registry:places"),
    ("things", Thing, "registry:things"),
    ("organisations", Organisation, "registry:organisations"),
)


def count_per_grid(actor: User, grid_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """人/地/物/组织 per grid, for the grids among ``grid_ids`` that are in the actor's scope
    (others are left out: deny by default)."""
    ids = list(list_grids_for(actor).filter(pk__in=list(grid_ids)).values_list("pk", flat=True))
    out: dict[int, dict[str, int]] = {g: {k: 0 for k, _m, _u in GRID_METRICS} for g in ids}
    if not ids:
        return out
    for key, model, _url in GRID_METRICS:
        rows = model.objects.filter(grid_id__in=ids).values("grid_id").annotate(n=Count("pk"))
        for row in rows:
            out[row["grid_id"]][key] = row["n"]
    return out


def grid_profile_counts(actor: User) -> dict[int, dict[str, int]]:
    """``count_per_grid`` over every grid in the actor's scope."""
    return count_per_grid(actor, list(list_grids_for(actor).values_list("pk", flat=True)))


def find_person_by_id_number(actor: User, id_number: str) -> Person | None:
    from yiwang.core.personal import blind_index_for

    return (
        list_people_for(actor)
        .filter(id_number_index=blind_index_for(Person, "id_number_index", id_number))
        .first()
    )
