"""Helpers for the case pages: filters over the scoped list, forms derived from the transition
table, the territory outline for the report map. Reads go through ``selectors`` only; nothing
here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import Department, User
from yiwang.accounts.selectors import list_departments_for
from yiwang.cases import lookups, selectors
from yiwang.cases.actions import CHANNELS_BY_ROLE
from yiwang.cases.models import Case, Channel, SlaLevel, State, StateType
from yiwang.cases.workflow import TRANSITIONS, Transition, allowed_transitions

PAGE_SIZE = 50

#: The filters of the console list: query parameter → what it matches.
FILTER_KEYS = ("state", "category", "grid", "sla_level", "channel")


def filtered_cases(actor: User, params: Any) -> tuple[QuerySet[Case], dict[str, str]]:
    """The actor's cases narrowed by the list filters; unknown values match nothing."""
    qs = selectors.list_cases_for(actor).select_related("reporter")
    chosen = {k: str(params.get(k, "")).strip() for k in FILTER_KEYS}
    if chosen["state"]:
        qs = qs.filter(state_id=chosen["state"])
    if chosen["category"]:
        cat = selectors.get_category(chosen["category"])
        qs = qs.filter(category=cat) if cat is not None else qs.none()
    if chosen["grid"]:
        qs = qs.filter(grid__code=chosen["grid"])
    if chosen["sla_level"]:
        if chosen["sla_level"] in SlaLevel.values:
            qs = qs.filter(sla_level=chosen["sla_level"], state__type=StateType.OPEN)
        else:
            qs = qs.none()
    if chosen["channel"]:
        qs = qs.filter(channel=chosen["channel"])
    return qs.order_by("-created_at", "-pk"), chosen


def filter_choices(actor: User) -> dict[str, Any]:
    grids = (
        selectors.list_cases_for(actor)
        .exclude(grid=None)
        .values_list("grid__code", "grid__name")
        .distinct()
        .order_by("grid__code")
    )
    return {
        "states": list(State.objects.values_list("code", "name")),
        "categories": list(selectors.list_categories()),
        "grids": list(grids[:500]),
        "levels": SlaLevel.choices,
        "channels": Channel.choices,
    }


def state_names() -> dict[str, str]:
    return dict(State.objects.values_list("code", "name"))


@dataclass
class StepForm:
    """One form on the case page: a transition the actor may take now, and its fields."""

    transition: Transition
    fields: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.transition.code

    @property
    def name(self) -> Any:
        return self.transition.name

    @property
    def note_required(self) -> bool:
        return self.transition.reason_required

    @property
    def photos(self) -> bool:
        """Whether the step takes photos: the handler's steps (evidence of the work) and the
        verifier's (what was found on site)."""
        return self.transition.who in {"handler", "verifier"}

    @property
    def danger(self) -> bool:
        return self.code in {"reject", "void", "verify_fail", "return", "deny_extension"}


EXTRA_FIELDS = {
    "dispatch": ["department_id"],
    "reassign": ["department_id"],
    "request_extension": ["hours"],
    "merge": ["target_id"],
}


def step_forms(
    actor: User, case: Case, *, failed: str = "", errors: Any = None, values: Any = None
) -> list[StepForm]:
    """A form per transition the actor may take now (the same list the API gives)."""
    out = []
    for t in allowed_transitions(actor, case):
        f = StepForm(t, EXTRA_FIELDS.get(t.code, []))
        if t.code == failed:
            f.errors = dict(errors or {})
            f.values = {k: str(v) for k, v in (values or {}).items()}
        out.append(f)
    return out


def departments_for_dispatch(actor: User) -> QuerySet[Department]:
    return list_departments_for(actor).filter(active=True).order_by("code")


def transition_label(code: str) -> Any:
    if code == "report":
        return _("Reported")
    if code == "rate":
        return _("Rated")
    t = TRANSITIONS.get(code)
    return t.name if t is not None else code


def timeline(actor: User, case: Case) -> list[dict[str, Any]]:
    names = state_names()
    rows = []
    for e in selectors.timeline_for(actor, case):
        row = selectors.event_view(actor, e)
        row["label"] = transition_label(e.transition)
        row["to_name"] = names.get(e.to_state, e.to_state)
        row["public"] = e.public
        rows.append(row)
    return rows


#: The main path a resident sees on "my case": each milestone done, current or waiting.
MILESTONES: list[tuple[str, Any, str]] = [
    ("reported", _("Reported"), "created_at"),
    ("registered", _("Accepted"), "accepted_at"),
    ("dispatched", _("Dispatched"), "dispatched_at"),
    ("verifying", _("Handled and reported back"), "feedback_at"),
    ("closed", _("Closed"), "closed_at"),
    ("rated", _("Rated"), "rated_at"),
]


def milestones(case: Case) -> list[dict[str, Any]]:
    out = []
    current_found = False
    for code, label, attr in MILESTONES:
        at = getattr(case, attr)
        done = at is not None
        status = "done" if done else ("current" if not current_found else "waiting")
        if not done:
            current_found = True
        out.append({"code": code, "label": label, "at": at, "status": status})
    if case.state.type != StateType.OPEN and case.state_id not in {"closed", "rated"}:
        # declined, merged or voided: the path stops here
        for m in out:
            if m["status"] != "done":
                m["status"] = "stopped"
    return out


def intake_channel(actor: User, channel: str) -> bool:
    """Whether the actor's role reports through ``channel`` (the action checks it again)."""
    return channel in CHANNELS_BY_ROLE.get(actor.role, ())


def message_link(actor: User, message: Any) -> str:
    """Where a message's case opens for this reader: "my case" for the reporter, the console
    page for staff who can see it, nothing otherwise."""
    from django.urls import reverse

    from yiwang.accounts.roles import Cap

    if message.case_id is None:
        return ""
    if message.case is not None and message.case.reporter_id == actor.pk:
        return reverse("cases:my_case", kwargs={"case_id": message.case_id})
    if (
        actor.can(Cap.CONSOLE)
        and selectors.list_cases_for(actor).filter(pk=message.case_id).exists()
    ):
        return reverse("cases:detail", kwargs={"case_id": message.case_id})
    return ""


def may_rate(actor: User, case: Case) -> bool:
    return case.reporter_id == actor.pk and case.state_id == "closed" and case.rating is None


def territory_geojson(actor: User) -> dict[str, Any]:
    """The map behind a report form.

    A grid worker on patrol sees the outlines of the grids in their scope (code and name), to
    place the report in the grid they walk. Anyone else who reports (residents, enterprise
    users) sees the **territory**: one outline per community, the union of its active grids,
    with the community's public division code and name. How a community is cut into grids,
    the grid codes and which grid is whose are internal to the government and not shown; the
    grid is assigned to the report on the server from the point.
    """
    from yiwang.grid.models import Grid
    from yiwang.grid.selectors import feature_collection, list_grids_for

    if intake_channel(actor, Channel.PATROL):
        fc = feature_collection(list_grids_for(actor).filter(active=True).order_by("code"))
        for f in fc["features"]:
            p = f["properties"]
            f["properties"] = {"code": p["code"], "name": p["name"]}
        return fc
    return lookups.territory(
        lambda: _communities(Grid.objects.filter(active=True).select_related("community"))
    )


def _communities(grids: Any) -> dict[str, Any]:
    """One feature per community: the union of its grids' outlines."""
    from shapely.geometry import mapping, shape
    from shapely.ops import unary_union

    parts: dict[str, list[Any]] = {}
    names: dict[str, str] = {}
    for g in grids:
        parts.setdefault(g.community.code, []).append(shape(g.geometry))
        names[g.community.code] = g.community.name
    feats = []
    for code in sorted(parts):
        outline = unary_union(parts[code])
        feats.append(
            {
                "type": "Feature",
                "id": code,
                "geometry": mapping(outline),
                "properties": {"code": code, "name": names[code]},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def attribute_groups(categories: list[Any], form: Any) -> list[dict[str, Any]]:
    """The extra-attribute fields of each category that asks for some, with the values the
    form carried (so that a failed submit keeps them)."""
    out = []
    for cat in categories:
        if not cat.attributes:
            continue
        fields = []
        for a in sorted(cat.attributes, key=lambda a: a.get("order", 0)):
            name = f"attr-{cat.service_code}-{a['code']}"
            chosen = form.getlist(name) if hasattr(form, "getlist") else []
            fields.append(
                {
                    "name": name,
                    "a": a,
                    "chosen": chosen,
                    "value": chosen[0] if chosen else "",
                    "options": [
                        {"key": str(v["key"]), "name": v["name"], "on": str(v["key"]) in chosen}
                        for v in a.get("values", [])
                    ],
                }
            )
        out.append({"cat": cat, "fields": fields})
    return out
