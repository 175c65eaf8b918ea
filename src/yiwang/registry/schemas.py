from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema

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


class LocationIn(Schema):
    lng: float | None = None
    lat: float | None = None
    coord_system: str = "wgs84"


class PersonIn(LocationIn):
    name: str
    id_number: str
    phone: str = ""
    household_no: str = ""
    home_id: int | None = None
    tags: list[str] = []


class PlaceIn(LocationIn):
    code: str
    kind: str = "address"
    name: str
    parent_id: int | None = None
    address: str = ""


class ThingIn(LocationIn):
    part_code: str
    class_code: str = ""
    name: str = ""
    status: str = "normal"
    owner_department: str = ""


class OrganisationIn(LocationIn):
    credit_code: str
    name: str
    kind: str = "enterprise"
    industry_code: str = ""
    size_class: str = ""
    registered_address: str = ""
    founded_on: str = ""
    registered_capital: str = ""
    legal_representative: str = ""
    status: str = "active"


class UnmaskIn(Schema):
    field: str
    purpose: str


class UnmaskOut(Schema):
    field: str
    value: str
