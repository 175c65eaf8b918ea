"""Grid writes: GeoJSON import with a full report, membership, numbering."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry import shape

from yiwang.accounts.models import Division, DivisionLevel, User
from yiwang.accounts.roles import Cap, Role
from yiwang.accounts.selectors import division_scope
from yiwang.core import audit, events
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.grid import geometry as geo
from yiwang.grid.models import Grid, GridMember
from yiwang.grid.selectors import access_administered_grid, grid_admin_prefix


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


def is_grid_admin(actor: User) -> bool:
    """Data and system administrators manage grids (each within ``grid_admin_prefix``)."""
    return bool(
        actor.is_authenticated
        and actor.is_active
        and (actor.can(Cap.ORG_MANAGE) or actor.role == Role.DATA_ADMIN)
    )


def require_grid_admin(actor: User | None) -> None:
    if actor is not None and not is_grid_admin(actor):
        raise Forbidden(_("Only data or system administrators manage grids."))


def import_max_bytes() -> int:
    """How large an uploaded GeoJSON file may be: ``settings.GRID_IMPORT_MAX_BYTES`` or
    ``YIWANG_GRID_IMPORT_MAX_BYTES``, default 50 MB (a district's grids are a few MB)."""
    return int(
        getattr(settings, "GRID_IMPORT_MAX_BYTES", 0)
        or os.environ.get("YIWANG_GRID_IMPORT_MAX_BYTES", "")
        or 50 * 1024 * 1024
    )


def read_geojson_upload(upload: Any) -> Any:
    """The JSON of an uploaded file (field errors on ``file``: missing, too large, not JSON)."""
    if upload is None:
        raise ValidationFailed(fields={"file": [_("Choose a GeoJSON file to import.")]})
    limit = import_max_bytes()
    if upload.size is not None and upload.size > limit:
        raise ValidationFailed(
            fields={"file": [_("The file is larger than %(mb)d MB.") % {"mb": limit >> 20}]},
            status=413,
            code="body_too_large",
        )
    try:
        return json.load(upload)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            fields={"file": [_("The file is not valid JSON (GeoJSON, UTF-8).")]}
        ) from None


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
    self-intersecting, unknown community, a community outside the actor's territory, bad
    code) are reported with their index, location and the property at fault, and nothing of
    them is written. Overlaps (between features, and with the grids already stored, leaving
    out the stored grids the file replaces by code) and gaps (holes enclosed by the new grids
    together with the stored grids of the same communities) are reported with area and
    location. Features without a code are numbered west→east, north→south after the existing
    grids of their community. Upsert by code. ``dry_run`` reports without writing.

    A data administrator imports only under the divisions of their post; the system
    administrator and the system itself (``actor`` None) anywhere (``grid_admin_prefix``).
    """
    require_grid_admin(actor)
    territory = grid_admin_prefix(actor)
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
        # The property that named the community: its own, or the grid code it came from.
        cfield = mapping.community if props.get(mapping.community) or not code else mapping.code
        if community is None:
            report.problems.append(
                geo.Problem(
                    "missing_property",
                    f"feature {i}: unknown community code {ccode!r}",
                    [i],
                    field=cfield,
                )
            )
            report.refused += 1
            continue
        if territory is None or not community.code.startswith(territory):
            report.problems.append(
                geo.Problem(
                    "outside_scope",
                    f"feature {i}: community {community.code} is outside your territory",
                    [i],
                    field=cfield,
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
                    field=mapping.code,
                )
            )
            report.refused += 1
            continue
        if code and code in seen_codes:
            report.problems.append(
                geo.Problem(
                    "duplicate_code",
                    f"feature {i}: code {code} appears twice",
                    [i],
                    field=mapping.code,
                )
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
    replaced = {a[2]["_code"] for a in accepted if a[2]["_code"]}
    stored, labels = _stored_near(geoms, replaced, territory or "")
    report.problems.extend(geo.overlaps_stored(geoms, ids, stored, labels))
    neighbours = _stored_in_communities({a[3].pk for a in accepted}, replaced)
    report.problems.extend(geo.gaps(geoms, stored=neighbours))

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


def _stored_near(
    geoms: list[Any], replaced: set[str], territory: str
) -> tuple[list[Any], list[str]]:
    """Active stored grids whose bounding box meets the new grids' (bbox columns, indexed by
    nothing but cheap to scan), leaving out the ones the import replaces by code. Grids
    outside the actor's territory are labelled ``""`` so the report does not name them."""
    if not geoms:
        return [], []
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
    rows = Grid.objects.filter(
        active=True, min_lng__lte=maxx, max_lng__gte=minx, min_lat__lte=maxy, max_lat__gte=miny
    ).values_list("code", "geometry")
    out: list[Any] = []
    labels: list[str] = []
    for code, geometry in rows.iterator(chunk_size=2000):
        if code in replaced:
            continue
        out.append(shape(geometry))
        labels.append(code if code.startswith(territory) else "")
    return out, labels


def _stored_in_communities(community_ids: set[int], replaced: set[str]) -> list[Any]:
    rows = Grid.objects.filter(active=True, community_id__in=community_ids).values_list(
        "code", "geometry"
    )
    return [shape(g) for code, g in rows.iterator(chunk_size=2000) if code not in replaced]


def _member_user(actor: User | None, grid: Grid, user_id: int) -> User:
    """The grid worker to assign: in the actor's territory, and their own division covers the
    grid (a street's grid worker works in that street's grids)."""
    territory = grid_admin_prefix(actor) or ""
    user = (
        User.objects.select_related("division", "department__division")
        .filter(pk=user_id, role=Role.GRID_WORKER, is_active=True)
        .first()
    )
    div = division_scope(user) if user is not None else None
    if user is None or div is None or not div.prefix.startswith(territory):
        # Not a grid worker, or not one of the actor's: the same answer (not disclosed).
        raise ValidationFailed(
            fields={"user_id": [_("There is no grid worker with this id in your territory.")]}
        )
    if not grid.code.startswith(div.prefix):
        raise ValidationFailed(
            fields={
                "user_id": [
                    _("This grid worker's division (%(division)s) does not cover the grid.")
                    % {"division": div.name}
                ]
            }
        )
    return user


def do_assign_member(
    *,
    actor: User | None,
    grid_id: int,
    user_id: int,
    role: str = GridMember.Role.WORKER,
    move: bool = False,
) -> GridMember:
    """Make a grid worker a worker or leader of a grid. Grid and worker must both be in the
    actor's territory and the worker's own division must cover the grid. ``move`` also
    removes the worker from every other grid (a move: the old grids leave their scope)."""
    require_grid_admin(actor)
    grid = access_administered_grid(actor, grid_id)
    if role not in GridMember.Role.values:
        raise ValidationFailed(fields={"role": [_("Unknown grid role.")]})
    user = _member_user(actor, grid, user_id)
    with transaction.atomic():
        if move:
            for old in (
                GridMember.objects.filter(user=user).exclude(grid=grid).select_related("grid")
            ):
                _remove(actor, old, reason="moved")
        member, _created = GridMember.objects.update_or_create(
            grid=grid, user=user, defaults={"role": role}
        )
        audit.record(
            "grid.member_assigned",
            actor=actor,
            obj=member,
            detail={"grid": grid.code, "user_id": user.pk, "role": role, "move": move},
        )
    return member


def _remove(actor: User | None, member: GridMember, *, reason: str = "") -> None:
    detail = {"grid": member.grid.code, "user_id": member.user_id, "role": member.role}
    if reason:
        detail["reason"] = reason
    audit.record(
        "grid.member_removed",
        actor=actor,
        object_type="grid.gridmember",
        object_id=member.pk,
        detail=detail,
    )
    member.delete()


def do_remove_member(*, actor: User | None, grid_id: int, user_id: int) -> None:
    """Take a worker or leader off a grid: the grid leaves their scope at once (grid scope is
    read from memberships on every request). 404 for a grid outside the actor's territory
    or a user who is not a member of it."""
    require_grid_admin(actor)
    grid = access_administered_grid(actor, grid_id)
    member = GridMember.objects.filter(grid=grid, user_id=user_id).select_related("grid").first()
    if member is None:
        raise NotFound()
    with transaction.atomic():
        _remove(actor, member)


def grid_shape(grid: Grid) -> Any:
    return shape(grid.geometry)
