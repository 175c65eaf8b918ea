from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from yiwang.accounts.roles import capabilities
from yiwang.core.masking import mask_id_number, mask_name, mask_phone


class DivisionOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None = Field(None, alias="parent.code")
    synthetic: bool


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    division_code: str = Field(..., alias="division.code")
    division_name: str = Field(..., alias="division.name")


class UserOut(Schema):
    """A user as others see them: personal data masked."""

    id: int
    username: str
    role: str
    display_name: str
    id_number: str
    phone: str
    department_code: str | None = Field(None, alias="department.code")
    division_code: str | None = Field(None, alias="division.code")
    is_active: bool

    @staticmethod
    def resolve_display_name(obj: object) -> str:
        return mask_name(getattr(obj, "display_name", ""))

    @staticmethod
    def resolve_id_number(obj: object) -> str:
        return mask_id_number(getattr(obj, "id_number", ""))

    @staticmethod
    def resolve_phone(obj: object) -> str:
        return mask_phone(getattr(obj, "phone", ""))


class LanguageIn(Schema):
    language: str = Field(
        ..., description='"zh-hans", "en", or "" for the platform default', max_length=10
    )


class MeOut(UserOut):
    capabilities: list[str]
    language: str = Field(..., description='My language; "" is the platform default (zh-Hans)')
    credit_code: str
    enterprise_name: str
    otp_verified: bool

    @staticmethod
    def resolve_capabilities(obj: Any) -> list[str]:
        return sorted(capabilities(obj.role))

    @staticmethod
    def resolve_otp_verified(obj: Any) -> bool:
        return bool(getattr(obj, "is_verified", lambda: False)())


class UserIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    role: str
    password: str = Field(..., min_length=1, max_length=128)
    display_name: str = Field("", max_length=50)
    department_code: str = ""
    division_code: str = ""
    id_number: str = ""
    phone: str = ""
    email: str = ""
    credit_code: str = ""
    enterprise_name: str = ""


class UnmaskIn(Schema):
    field: str
    purpose: str = Field(..., max_length=200)


class UnmaskOut(Schema):
    field: str
    value: str


class ActiveIn(Schema):
    active: bool
    reason: str = Field(..., max_length=200)


class TokenIn(Schema):
    name: str = Field(..., max_length=100)
    expires_in_days: int | None = 90


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(..., description="Shown once. Store it now; only its digest is kept.")
