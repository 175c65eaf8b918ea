"""Change history for registry entities: before/after per field, personal values masked."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from yiwang.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from yiwang.core.personal import pi_class_of
from yiwang.registry.models import ChangeRecord

MASK_BY_FIELD = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "name": mask_name,
    "legal_representative": mask_name,
    "address": mask_address,
}

#: Fields shown in a created/updated history entry (as the per-row actions record them).
HISTORY_FIELDS = {
    "person": (
        "name",
        "id_number",
        "phone",
        "sex",
        "birth_date",
        "household_no",
        "home_id",
        "tags",
        "lng",
        "lat",
        "grid_id",
    ),
    "place": ("code", "kind", "name", "parent_id", "address", "lng", "lat", "grid_id"),
    "thing": (
        "part_code",
        "class_code",
        "name",
        "status",
        "owner_department_id",
        "lng",
        "lat",
        "grid_id",
    ),
    "organisation": (
        "kind",
        "credit_code",
        "name",
        "industry_code",
        "size_class",
        "registered_address",
        "founded_on",
        "registered_capital",
        "legal_representative",
        "status",
        "place_id",
        "lng",
        "lat",
        "grid_id",
    ),
}

ENTITY_TYPES = {
    "person": "Person",
    "place": "Place",
    "thing": "Thing",
    "organisation": "Organisation",
}


def entity_type_of(obj: Model) -> str:
    return obj._meta.model_name or ""


def _shown(model: type[Model], field: str, value: Any) -> Any:
    if value is None:
        return None
    f = model._meta.get_field(field)
    if pi_class_of(f) is None:
        return value if isinstance(value, int | float | bool | list) else str(value)
    masker = MASK_BY_FIELD.get(field)
    if masker is not None:
        return masker(str(value))
    if field in {"lat", "lng"}:
        return round(float(value), 3)  # ~100 m: enough to see a move, not a front door
    return "***"


def snapshot(obj: Model, fields: list[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def diff(model: type[Model], before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for field, new in after.items():
        old = before.get(field)
        if old != new:
            out[field] = [_shown(model, field, old), _shown(model, field, new)]
    return out


def record_change(
    obj: Model, *, actor: Any, action: str, changes: dict[str, list[Any]], source: str = ""
) -> ChangeRecord:
    return ChangeRecord.objects.create(
        entity_type=entity_type_of(obj),
        entity_id=obj.pk,
        actor=getattr(actor, "username", "") or "",
        source=source,
        action=action,
        changes=changes,
    )
