"""Registry pages for staff: lists of people, places, city parts and organisations with filters,
and entity pages with their relations and change history.

Every read goes through the scoped selectors (a grid worker sees their grids, a community its
grids, a street its communities); an entity outside scope is a 404. Personal data is shown
masked; a person's page is an audited read (``access_entity``), and so is a search by ID number
or phone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.core.errors import DomainError
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.core.personal import blind_index_for, normalize_phone
from yiwang.grid.selectors import list_grids_for
from yiwang.registry import actions, selectors
from yiwang.registry.models import Organisation, Person, Place, Reassignment, Tag, Thing
from yiwang.web.views import requires

PAGE_SIZE = 50
TIMELINE_LIMIT = 100
RELATED_LIMIT = 50
#: Above this many grids in scope the grid filter is a text box instead of a list.
GRID_CHOICES_MAX = 300
PHONE = re.compile(r"1\d{10}")
MY_ACCESSES_LIMIT = 500
#: How the audit events a resident sees on their own record are named on the page.
ACCESS_EVENTS = {
    "personal.read": gettext_lazy("Viewed your entry (masked)"),
    "personal.unmask": gettext_lazy("Showed a value in full"),
    "personal.search": gettext_lazy("Found your entry in a search (masked)"),
}

ACTIONS = {
    "created": gettext_lazy("Created"),
    "updated": gettext_lazy("Updated"),
    "deleted": gettext_lazy("Deleted"),
    "moved": gettext_lazy("Moved"),
}
RELATION_LABELS = {
    "grid": gettext_lazy("Grid"),
    "home": gettext_lazy("Residence"),
    "place": gettext_lazy("Place"),
    "parent": gettext_lazy("Parent place"),
    "owner_department": gettext_lazy("Owner department"),
    "employer": gettext_lazy("Works at"),
    "employee": gettext_lazy("Employee"),
    "since": gettext_lazy("Since"),
}


# --- Shared helpers ---------------------------------------------------------------------------
def _grid_filter(request: AuthedRequest, qs: QuerySet[Any]) -> tuple[QuerySet[Any], dict[str, Any]]:
    code = request.GET.get("grid", "").strip()
    if code:
        qs = qs.filter(grid__code=code)
    grids = list(list_grids_for(request.user).values_list("code", "name")[: GRID_CHOICES_MAX + 1])
    return qs, {
        "grid": code,
        "grid_choices": grids if len(grids) <= GRID_CHOICES_MAX else None,
    }


def _choice(request: AuthedRequest, name: str, choices: Any) -> str:
    value = request.GET.get(name, "")
    return value if value in choices.values else ""


def _page(request: AuthedRequest, qs: QuerySet[Any]) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _in_scope(lister: Callable[[Any], QuerySet[Any]], actor: Any, pk: int | None) -> bool:
    return pk is not None and lister(actor).filter(pk=pk).exists()


def _label(model: type[Model], name: str) -> str:
    base = name[:-3] if name.endswith("_id") else name
    if base in RELATION_LABELS:
        return str(RELATION_LABELS[base])
    try:
        f = model._meta.get_field(base)
    except FieldDoesNotExist:  # a field since removed from the model
        return name
    return str(getattr(f, "verbose_name", name))


def _shown(model: type[Model], name: str, value: Any, grid_codes: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    if name == "grid_id":
        return grid_codes.get(value, f"#{value}")
    if name.endswith("_id"):
        return f"#{value}"
    try:
        f: Any = model._meta.get_field(name)
    except FieldDoesNotExist:
        f = None
    if f is not None and getattr(f, "choices", None):
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return "、".join(map(str, value)) or "—"
    return str(value)


def timeline_rows(actor: Any, model: type[Model], entity: str, pk: int) -> dict[str, Any]:
    """The entity's change records, newest first, with field labels and display values.
    Before/after values were masked when the record was written."""
    records = list(selectors.timeline(entity, pk)[: TIMELINE_LIMIT + 1])
    grid_ids = {v for r in records for v in (r.changes.get("grid_id") or []) if isinstance(v, int)}
    codes = dict(list_grids_for(actor).filter(pk__in=grid_ids).values_list("pk", "code"))
    rows = []
    for r in records[:TIMELINE_LIMIT]:
        changes = []
        for name, pair in sorted(r.changes.items()):
            before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
            changes.append(
                {
                    "field": _label(model, name),
                    "before": _shown(model, name, before, codes),
                    "after": _shown(model, name, after, codes),
                }
            )
        rows.append({"record": r, "action": ACTIONS.get(r.action, r.action), "changes": changes})
    return {"timeline": rows, "timeline_more": len(records) > TIMELINE_LIMIT}


# --- Index ------------------------------------------------------------------------------------
@requires(Cap.REGISTRY_VIEW)
def index(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    sections = [
        ("people", _("People"), "registry:people", selectors.list_people_for(actor).count()),
        ("places", _("Places"), "registry:places", selectors.list_places_for(actor).count()),
        ("things", _("City parts"), "registry:things", selectors.list_things_for(actor).count()),
        (
            "organisations",
            _("Organisations"),
            "registry:organisations",
            selectors.list_organisations_for(actor).count(),
        ),
    ]
    # Those who change grids (and so set off re-assignment) see how many rows moved.
    runs = []
    if actor.can(Cap.REGISTRY_IMPORT):
        runs = list(Reassignment.objects.all()[:5])
    return render(request, "registry/index.html", {"sections": sections, "reassignments": runs})


# --- People -----------------------------------------------------------------------------------
def _search_people(
    request: AuthedRequest, qs: QuerySet[Person], q: str
) -> tuple[QuerySet[Person], str]:
    """Exact search through the blind index: a mobile number, else an ID number."""
    digits = normalize_phone(q)
    if PHONE.fullmatch(digits) and len(re.sub(r"\D", "", q)) in {11, 13}:
        by, field = "phone", "phone_index"
    else:
        by, field = "id_number", "id_number_index"
    qs = qs.filter(**{field: blind_index_for(Person, field, q)})
    # Audited under each person found, so the search shows on their own record.
    selectors.audit_people_search(request.user, qs, by=by, purpose="registry search")
    return qs, by


@requires(Cap.REGISTRY_VIEW)
def people(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    qs, ctx = _grid_filter(request, selectors.list_people_for(actor).select_related("home__parent"))
    q = request.GET.get("q", "").strip()
    tag = request.GET.get("tag", "").strip()
    if tag:  # restricted: refused (with a message) for roles that may not see tags
        qs = selectors.filter_people_by_tag(actor, qs, tag)
    searched_by = ""
    if q:  # after the tag filter: the search's audit names exactly the people shown
        qs, searched_by = _search_people(request, qs, q)
    page = _page(request, qs.order_by("grid__code", "pk"))
    if not q:  # a search is audited by ``_search_people``; a plain list page here
        selectors.audit_people_list(
            actor,
            list(page.object_list),
            count=page.paginator.count,
            page=page.number,
            filters={"grid": ctx["grid"], "tag": tag},
        )
    ctx.update(
        {
            "page": page,
            "q": q,
            "searched_by": searched_by,
            "show_tags": selectors.may_see_tags(actor),
            "tag": tag,
            "tags": Tag.choices,
        }
    )
    return render(request, "registry/people.html", ctx)


@requires(Cap.REGISTRY_VIEW)
def person_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    person: Person = selectors.access_entity(
        actor, "person", pk, purpose=request.GET.get("purpose", "").strip()[:200]
    )
    organisations = [
        {
            "name": e.organisation.name,
            "pk": e.organisation_id,
            "linked": _in_scope(selectors.list_organisations_for, actor, e.organisation_id),
            "since": e.since,
        }
        for e in person.employments.select_related("organisation")[:RELATED_LIMIT]
    ]
    may_unmask = actor.can(Cap.UNMASK)
    masked = [
        ("name", _("Name"), mask_name(person.name)),
        ("id_number", _("ID number"), mask_id_number(person.id_number or "")),
        ("phone", _("Mobile phone"), mask_phone(person.phone or "")),
        ("household_no", _("Household number"), "***" if person.household_no else ""),
    ]
    ctx = {
        "person": person,
        "masked": masked,
        "may_unmask": may_unmask,
        "show_tags": selectors.may_see_tags(actor),
        "home_linked": _in_scope(selectors.list_places_for, actor, person.home_id),
        "organisations": organisations,
        **timeline_rows(actor, Person, "person", person.pk),
    }
    return render(request, "registry/person.html", ctx)


@require_POST
@requires(Cap.REGISTRY_VIEW)
def person_unmask(request: AuthedRequest, pk: int) -> HttpResponse:
    """HTMX: one masked field of a person in full, for a stated purpose (audited; refusals
    too). Answers the value, or the reason with a 4xx so the masked value stays in place."""
    field = request.POST.get("field", "")
    try:
        value = actions.do_unmask_person(
            actor=request.user, person_id=pk, field=field, purpose=request.POST.get("purpose", "")
        )
        ctx = {"field": field, "value": value, "error": ""}
        status = 200
    except DomainError as exc:
        if exc.status == 404:
            raise Http404() from None
        errors = [str(m) for msgs in exc.fields.values() for m in msgs] or [str(exc.message)]
        ctx = {"field": field, "value": "", "error": " ".join(errors)}
        status = exc.status
    return render(request, "web/_unmask_result.html", ctx, status=status)


# --- Places -----------------------------------------------------------------------------------
@requires(Cap.REGISTRY_VIEW)
def places(request: AuthedRequest) -> HttpResponse:
    qs, ctx = _grid_filter(request, selectors.list_places_for(request.user))
    q = request.GET.get("q", "").strip()
    kind = _choice(request, "kind", Place.Kind)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    if kind:
        qs = qs.filter(kind=kind)
    ctx.update(
        {
            "page": _page(request, qs.order_by("code")),
            "q": q,
            "kind": kind,
            "kinds": Place.Kind.choices,
        }
    )
    return render(request, "registry/places.html", ctx)


@requires(Cap.REGISTRY_VIEW)
def place_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    place: Place = selectors.access_entity(actor, "place", pk)
    residents = selectors.list_people_for(actor).filter(home=place).order_by("pk")
    ctx = {
        "place": place,
        "parent_linked": _in_scope(selectors.list_places_for, actor, place.parent_id),
        "children": selectors.list_places_for(actor).filter(parent=place)[:RELATED_LIMIT],
        "residents": residents[:RELATED_LIMIT],
        "resident_count": residents.count(),
        "organisations": selectors.list_organisations_for(actor).filter(place=place)[
            :RELATED_LIMIT
        ],
        **timeline_rows(actor, Place, "place", place.pk),
    }
    return render(request, "registry/place.html", ctx)


# --- Things (city parts) ----------------------------------------------------------------------
@requires(Cap.REGISTRY_VIEW)
def things(request: AuthedRequest) -> HttpResponse:
    qs, ctx = _grid_filter(request, selectors.list_things_for(request.user))
    q = request.GET.get("q", "").strip()
    status = _choice(request, "status", Thing.Status)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(part_code__startswith=q) | Q(class_code=q))
    if status:
        qs = qs.filter(status=status)
    ctx.update(
        {
            "page": _page(request, qs.order_by("part_code")),
            "q": q,
            "status": status,
            "statuses": Thing.Status.choices,
        }
    )
    return render(request, "registry/things.html", ctx)


@requires(Cap.REGISTRY_VIEW)
def thing_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    thing: Thing = selectors.access_entity(request.user, "thing", pk)
    ctx = {"thing": thing, **timeline_rows(request.user, Thing, "thing", thing.pk)}
    return render(request, "registry/thing.html", ctx)


# --- Organisations ----------------------------------------------------------------------------
@requires(Cap.REGISTRY_VIEW)
def organisations(request: AuthedRequest) -> HttpResponse:
    qs, ctx = _grid_filter(request, selectors.list_organisations_for(request.user))
    q = request.GET.get("q", "").strip()
    kind = _choice(request, "kind", Organisation.Kind)
    status = _choice(request, "status", Organisation.Status)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(credit_code__iexact=q))
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    ctx.update(
        {
            "page": _page(request, qs.order_by("name", "pk")),
            "q": q,
            "kind": kind,
            "kinds": Organisation.Kind.choices,
            "status": status,
            "statuses": Organisation.Status.choices,
        }
    )
    return render(request, "registry/organisations.html", ctx)


@requires(Cap.REGISTRY_VIEW)
def organisation_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    org: Organisation = selectors.access_entity(actor, "organisation", pk)
    ctx = {
        "org": org,
        "place_linked": _in_scope(selectors.list_places_for, actor, org.place_id),
        "employee_count": org.employments.count(),
        **timeline_rows(actor, Organisation, "organisation", org.pk),
    }
    return render(request, "registry/organisation.html", ctx)


# --- A resident's own record ------------------------------------------------------------------
@login_required
def my_record(request: AuthedRequest) -> HttpResponse:
    """The signed-in person's own registry entry (matched by the ID number on their account),
    in clear, and every read of it by others from the audit log: when, who, which department,
    which fields, why, and whether it was refused."""
    person = selectors.my_person(request.user)
    accesses = (
        list(selectors.accesses_to_my_person(request.user, person)[: MY_ACCESSES_LIMIT + 1])
        if person is not None
        else []
    )
    ctx = {
        "person": person,
        "accesses": accesses[:MY_ACCESSES_LIMIT],
        "accesses_more": len(accesses) > MY_ACCESSES_LIMIT,
        "events": ACCESS_EVENTS,
    }
    return render(request, "registry/mine.html", ctx)
