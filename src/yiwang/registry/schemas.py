from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from yiwang.core.masking import mask_address, mask_id_number, mask_name, mask_phone


def _grid_code(obj: Any) -> str | None:
    g = getattr(obj, "grid", None)
    return g.code if g is not None else None


class PersonOut(Schema):
    id: int
    name: str
    id_number: str
    phone: str
    sex: str
    birth_year: int | None
    household_no: str
    home_id: int | None
    grid_code: str | None
    tags: list[str] | None

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return mask_name(obj.name)

    @staticmethod
    def resolve_id_number(obj: Any) -> str:
        return mask_id_number(obj.id_number)

    @staticmethod
    def resolve_phone(obj: Any) -> str:
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_birth_year(obj: Any) -> int | None:
        return obj.birth_date.year if obj.birth_date else None

    @staticmethod
    def resolve_household_no(obj: Any) -> str:
        return "***" if obj.household_no else ""

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _grid_code(obj)

    @staticmethod
    def resolve_tags(obj: Any, context: Any) -> list[str] | None:
        request = context["request"]
        return list(obj.tags) if request.user.can("personal.unmask") else None


class PlaceOut(Schema):
    id: int
    code: str
    kind: str
    name: str
    parent_id: int | None
    address: str
    lng: float | None
    lat: float | None
    grid_code: str | None

    @staticmethod
    def resolve_address(obj: Any) -> str:
        return mask_address(obj.address) if obj.kind == "room" else obj.address

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _grid_code(obj)


class ThingOut(Schema):
    id: int
    part_code: str
    class_code: str
    name: str
    status: str
    lng: float | None
    lat: float | None
    grid_code: str | None

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _grid_code(obj)


class OrganisationOut(Schema):
    id: int
    kind: str
    credit_code: str
    name: str
    industry_code: str
    size_class: str
    registered_address: str
    founded_on: date | None
    registered_capital: float | None
    legal_representative: str
    status: str
    place_id: int | None
    lng: float | None
    lat: float | None
    grid_code: str | None

    @staticmethod
    def resolve_legal_representative(obj: Any) -> str:
        return mask_name(obj.legal_representative)

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _grid_code(obj)


class ChangeOut(Schema):
    at: datetime
    actor: str
    source: str
    action: str
    changes: dict[str, Any]


# Create-or-update bodies. On an update only the fields sent change (an explicit null or ""
# clears a field that may be empty); on a create, fields not sent take their defaults.
class LocationIn(Schema):
    lng: float | None = Field(None, description="Longitude; kept on update unless both are sent")
    lat: float | None = Field(None, description="Latitude; kept on update unless both are sent")
    coord_system: str | None = Field(None, description="wgs84 (default), gcj02 or bd09")


class PersonIn(LocationIn):
    id_number: str = Field(description="Resident ID number: the key (create or update)")
    name: str | None = Field(None, description="Required to create")
    phone: str | None = None
    household_no: str | None = None
    home_id: int | None = Field(None, description="A place in your area; null unlinks")
    tags: list[str] | None = Field(
        None, description="Care tags: only for callers who may see them (422 otherwise)"
    )


class PlaceIn(LocationIn):
    code: str = Field(description="Place code: the key (create or update)")
    kind: str | None = Field(None, description="compound, building, unit, room, address (default)")
    name: str | None = Field(None, description="Required to create")
    parent_id: int | None = Field(None, description="A place in your area; null unlinks")
    address: str | None = None


class ThingIn(LocationIn):
    part_code: str = Field(description="17-digit part identifier: the key (create or update)")
    class_code: str | None = Field(None, description="Digits 7–11 of the part identifier")
    name: str | None = None
    status: str | None = Field(None, description="normal (default), damaged, missing, removed")
    owner_department: str | None = Field(None, description="A department code;  unlinks")


class OrganisationIn(LocationIn):
    credit_code: str = Field(description="Unified social credit code: the key (create or update)")
    name: str | None = Field(None, description="Required to create")
    kind: str | None = Field(None, description="enterprise (default) or social")
    industry_code: str | None = None
    size_class: str | None = None
    registered_address: str | None = None
    founded_on: str | None = None
    registered_capital: str | None = None
    legal_representative: str | None = None
    status: str | None = Field(None, description="active (default), suspended, cancelled")
    place_code: str | None = Field(
        None, description="The organisation's place (a place code in your area);  unlinks"
    )


class EmploymentIn(Schema):
    person_id: int
    organisation_id: int
    since: date | None = None


class EmploymentOut(Schema):
    id: int
    person_id: int
    organisation_id: int
    since: date | None


class UnmaskIn(Schema):
    field: str
    purpose: str


class UnmaskOut(Schema):
    field: str
    value: str
