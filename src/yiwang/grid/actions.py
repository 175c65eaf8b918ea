"""Grid writes: GeoJSON import with a full report, membership, numbering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry import shape

from yiwang.accounts.models import Division, DivisionLevel, User
from yiwang.accounts.roles import Cap, Role
from yiwang.core import audit, events
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.grid import geometry as geo
from yiwang.grid.models import Grid, GridMember


@dataclass
class PropertyMapping:
    """Which feature properties hold the code, name and community (GB/T 2260 12-digit)."""

    code: str = "code"
    name: str = "name"
    community: str = "community"


@dataclass
class GridImportReport:
    dry_run: bool
    features: int = 0
    created: int = 0
    updated: int = 0
    refused: int = 0
    numbered: int = 0
    problems: list[geo.Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "features": self.features,
            "created": self.created,
            "updated": self.updated,
            "refused": self.refused,
            "numbered": self.numbered,
            "problems": [p.as_dict() for p in self.problems],
        }


def _require_grid_admin(actor: User | None) -> None:
    if actor is not None and not (actor.can(Cap.ORG_MANAGE) or actor.role == Role.DATA_ADMIN):
        raise Forbidden(_("Only data or system administrators manage grids."))


def do_import_grids(
    *,
    actor: User | None,
    data: Any,
    mapping: PropertyMapping | None = None,
    community_code: str = "",
    dry_run: bool = False,
    source: str = "",
    synthetic: bool = False,
) -> GridImportReport:
    """Import unit grids from a FeatureCollection.

    Every feature is checked; refused features (unreadable, not polygons, invalid or
    self-intersecting, unknown community, bad code) are reported with their index and
    location and nothing of them is written; overlaps and gaps are reported with area and
    location. Features without a code are numbered west→east, north→south after the existing
    grids of their community. Upsert by code. ``dry_run`` reports without writing.
    """
    _require_grid_admin(actor)
    mapping = mapping or PropertyMapping()
    report = GridImportReport(dry_run=dry_run)
    feats, problems = geo.parse_feature_collection(data)
    report.problems.extend(problems)
    report.features = len(feats)
    accepted: list[tuple[int, Any, dict[str, Any], Division]] = []
    communities: dict[str, Division | None] = {}
    seen_codes: set[str] = set()
    for i, feat in enumerate(feats):
        geom, problem = geo.to_polygon(feat, i)
        if problem:
            report.problems.append(problem)
            report.refused += 1
            continue
        props = dict(feat.get("properties") or {})
        ccode = str(props.get(mapping.community) or community_code or "").strip()
        code = str(props.get(mapping.code) or "").strip()
        if not ccode and len(code) == 15:
            ccode = code[:12]
        if ccode not in communities:
            communities[ccode] = Division.objects.filter(
                code=ccode, level=DivisionLevel.COMMUNITY, valid_to__isnull=True
            ).first()
        community = communities[ccode]
        if community is None:
            report.problems.append(
                geo.Problem(
                    "missing_property", f"feature {i}: unknown community code {ccode!r}", [i]
                )
            )
            report.refused += 1
            continue
        if code and (len(code) != 15 or not code.isdigit() or not code.startswith(community.code)):
            report.problems.append(
                geo.Problem(
                    "invalid",
                    f"feature {i}: grid code {code!r} must be 15 digits starting with "
                    f"community {community.code}",
                    [i],
                )
            )
            report.refused += 1
            continue
        if code and code in seen_codes:
            report.problems.append(
                geo.Problem("duplicate_code", f"feature {i}: code {code} appears twice", [i])
            )
            report.refused += 1
            continue
        seen_codes.add(code)
        props["_code"] = code
        props["_name"] = str(props.get(mapping.name) or "").strip()
        accepted.append((i, geom, props, community))

    geoms = [a[1] for a in accepted]
    ids = [a[0] for a in accepted]
    report.problems.extend(geo.overlaps(geoms, ids))
    report.problems.extend(geo.gaps(geoms))

    # Number the uncoded ones per community, after that community's highest sequence.
    by_comm: dict[int, list[int]] = {}
    for k, (_i, _g, props, comm) in enumerate(accepted):
        if not props["_code"]:
            by_comm.setdefault(comm.pk, []).append(k)
    for comm_id, ks in by_comm.items():
        comm = accepted[ks[0]][3]
        taken = {
            c[-3:] for c in Grid.objects.filter(community_id=comm_id).values_list("code", flat=True)
        }
        taken |= {
            accepted[k][2]["_code"][-3:] for k in range(len(accepted)) if accepted[k][2]["_code"]
        }
        seq = max((int(t) for t in taken), default=0)
        for pos in geo.reading_order([accepted[k][1] for k in ks]):
            seq += 1
            accepted[ks[pos]][2]["_code"] = f"{comm.code}{seq:03d}"
            report.numbered += 1

    if dry_run:
        existing = set(
            Grid.objects.filter(code__in=[a[2]["_code"] for a in accepted]).values_list(
                "code", flat=True
            )
        )
        report.updated = len(existing)
        report.created = len(accepted) - report.updated
        return report

    with transaction.atomic():
        for _i, geom, props, comm in accepted:
            fields = geo.geometry_fields(geom)
            name = props["_name"] or _("Grid %(code)s") % {"code": props["_code"][-3:]}
            grid = Grid.objects.filter(code=props["_code"]).first()
            if grid is None:
                Grid.objects.create(
                    code=props["_code"],
                    name=name,
                    community=comm,
                    source=source,
                    synthetic=synthetic,
                    **fields,
                )
                report.created += 1
            else:
                for attr, value in fields.items():
                    setattr(grid, attr, value)
                grid.name = name
                grid.version += 1
                grid.active = True
                grid.save()
                report.updated += 1
        audit.record(
            "grid.imported",
            actor=actor,
            object_type="grid.grid",
            detail={k: v for k, v in report.as_dict().items() if k != "problems"}
            | {"problems": len(report.problems)},
        )
        if report.created or report.updated:
            events.publish("grid.changed", {"created": report.created, "updated": report.updated})
    return report


def do_assign_member(
    *, actor: User | None, grid_id: int, user_id: int, role: str = GridMember.Role.WORKER
) -> GridMember:
    _require_grid_admin(actor)
    grid = Grid.objects.filter(pk=grid_id).first()
    user = User.objects.filter(pk=user_id, role=Role.GRID_WORKER).first()
    if grid is None:
        raise NotFound()
    if user is None:
        raise ValidationFailed(
            fields={"user_id": [_("Only grid workers can be assigned to grids.")]}
        )
    if role not in GridMember.Role.values:
        raise ValidationFailed(fields={"role": [_("Unknown grid role.")]})
    with transaction.atomic():
        member, _created = GridMember.objects.update_or_create(
            grid=grid, user=user, defaults={"role": role}
        )
        audit.record(
            "grid.member_assigned",
            actor=actor,
            obj=member,
            detail={"grid": grid.code, "role": role},
        )
    return member


def grid_shape(grid: Grid) -> Any:
    return shape(grid.geometry)
