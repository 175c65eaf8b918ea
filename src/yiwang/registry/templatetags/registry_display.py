"""Display filters for registry pages: personal data masked, care tags by label."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from yiwang.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from yiwang.registry.models import Tag

register = template.Library()


@register.filter
def masked_name(value: str | None) -> str:
    return mask_name(value or "")


@register.filter
def masked_id(value: str | None) -> str:
    return mask_id_number(value or "")


@register.filter
def masked_phone(value: str | None) -> str:
    return mask_phone(value or "")


@register.filter
def place_address(place: Any) -> str:
    """A room's address points at a household: masked. Buildings and compounds are public."""
    address = getattr(place, "address", "") or ""
    return mask_address(address) if getattr(place, "kind", "") == "room" else address


@register.filter
def sex_label(value: str | None) -> str:
    if value == "M":
        return _("Male")
    if value == "F":
        return _("Female")
    return ""


@register.filter
def tag_labels(tags: Any) -> list[str]:
    labels = dict(Tag.choices)
    return [str(labels.get(t, t)) for t in (tags or [])]


@register.filter
def birth_year(value: Any) -> str:
    """Only the year: the full date would undo the masking of the ID number."""
    return str(value.year) if value else ""


@register.filter
def approx(value: float | None, digits: int = 3) -> str:
    """A person's coordinates rounded to about 100 m: enough to find the area, not the door."""
    return "" if value is None else f"{round(float(value), int(digits)):.{int(digits)}f}"


@register.filter
def home_label(place: Any) -> str:
    """A person's home: a room would pin their household, so it shows as its building (or
    masked); compounds, buildings and units show by name."""
    if place is None:
        return ""
    if getattr(place, "kind", "") != "room":
        return str(place.name)
    parent = getattr(place, "parent", None)
    return f"{parent.name} ****" if parent is not None else mask_address(place.name)
