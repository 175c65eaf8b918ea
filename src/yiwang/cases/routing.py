"""Point → grid → department: the most specific routing rule, else the category's rule, else
the command centre over the grid. Every result carries the reason that produced it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from yiwang.accounts.models import Department
from yiwang.cases.models import Category, RoutingRule
from yiwang.grid.models import Grid

_PREFIX_LENGTHS = (12, 9, 6, 4, 2)


@dataclass(frozen=True)
class Route:
    department: Department | None
    reason: str


def _prefixes(code: str) -> list[str]:
    return [code[:n] for n in _PREFIX_LENGTHS if len(code) >= n]


def _longest(depts: list[Department]) -> Department | None:
    depts.sort(key=lambda d: (-len(d.division.prefix), d.code))
    return depts[0] if depts else None


def route(category: Category, grid: Grid | None) -> Route:
    code = grid.code if grid is not None else ""
    prefixes = _prefixes(code)
    rules = list(
        RoutingRule.objects.select_related("department", "department__division")
        .filter(Q(category=category) | Q(category__isnull=True))
        .filter(Q(grid=grid) if grid is not None else Q(pk__in=[]))
        .filter(department__active=True)
    )
    for rule in sorted(rules, key=lambda r: r.category_id is None):
        which = "grid × category" if rule.category_id else "grid"
        return Route(rule.department, f"rule {rule.pk} ({which})")
    if prefixes:
        area = list(
            RoutingRule.objects.select_related("department", "department__division")
            .filter(grid__isnull=True, division_prefix__in=prefixes, department__active=True)
            .filter(Q(category=category) | Q(category__isnull=True))
        )
        area.sort(key=lambda r: (r.category_id is None, -len(r.division_prefix)))
        if area:
            r = area[0]
            return Route(r.department, f"rule {r.pk} (area {r.division_prefix})")
    dept = category.default_department if category.default_department_id else None
    if dept is not None and dept.active and (not code or code.startswith(dept.division.prefix)):
        return Route(dept, f"category {category.service_code} default department")
    depts = Department.objects.select_related("division").filter(active=True)
    if category.responsible_kind and prefixes:
        d = _longest(
            list(depts.filter(kind=category.responsible_kind, division__prefix__in=prefixes))
        )
        if d is not None:
            return Route(d, f"category {category.service_code}: nearest {d.kind}")
    centres = depts.filter(kind=Department.Kind.COMMAND_CENTRE)
    d = _longest(list(centres.filter(division__prefix__in=prefixes))) if prefixes else None
    if d is not None:
        return Route(d, "fallback: command centre over the grid")
    d = centres.order_by("code").first()
    if d is not None:
        return Route(d, "fallback: command centre (no grid)")
    return Route(None, "no department found")


def centre_for(division_prefix: str) -> Department | None:
    """The command centre whose division covers ``division_prefix`` (the nearest one)."""
    centres = Department.objects.select_related("division").filter(
        active=True, kind=Department.Kind.COMMAND_CENTRE
    )
    prefixes = _prefixes(division_prefix)
    d = _longest(list(centres.filter(division__prefix__in=prefixes))) if prefixes else None
    return d or centres.order_by("code").first()
