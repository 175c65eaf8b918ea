"""Input and output schemas for the cases API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class PhotoIn(Schema):
    name: str = ""
    content_type: str
    size: int
    sha256: str = ""
    url: str = ""


class CaseIn(Schema):
    category: str = Field(..., description="Service code: C (部件) or E (事件) + 5 digits")
    description: str = Field(..., max_length=4000)
    lng: float | None = None
    lat: float | None = None
    coord_system: str = Field("wgs84", description="wgs84, gcj02 (AMap, Tencent) or bd09")
    address: str = ""
    channel: str | None = Field(None, description="portal, patrol, 12345 or api (by role)")
    request_type: str = Field("", description="12345: consult, help, complaint, report, suggestion")
    priority: str = ""
    attributes: dict[str, Any] = {}
    photos: list[PhotoIn] = []
    anonymous: bool = False
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


class TransitionIn(Schema):
    transition: str
    note: str = ""
    department_id: int | None = None
    hours: int | None = None
    target_id: int | None = None
    attachments: list[PhotoIn] = []


class RatingIn(Schema):
    rating: int = Field(..., description="1 非常不满意 … 5 非常满意")
    comment: str = ""
    reopen: bool = Field(False, description="With a rating of 1 or 2: ask the centre to reopen")


class MessagesReadIn(Schema):
    ids: list[int] | None = Field(None, description="The messages to mark read; none: all")


class MessagesReadOut(Schema):
    marked: int
    unread: int


class ReporterSettingsIO(Schema):
    notify_opt_out: bool = Field(..., description="No email or SMS about my reports")


class CategoryOut(Schema):
    service_code: str
    code: str
    kind: str
    group: str
    name: str
    default_priority: str
    attributes: list[dict[str, Any]]


class TransitionOut(Schema):
    code: str
    name: str
    reason_required: bool


class CaseOut(Schema):
    id: int
    service_code: str
    category: str
    state: str
    state_name: str
    status: str
    channel: str
    request_type: str
    priority: str
    description: str
    lng: float | None
    lat: float | None
    address: str
    grid: str | None
    department: str | None
    sla_stage: str
    sla_level: str
    due_at: dt.datetime | None
    suspended: bool
    extension_hours: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    rating: int | None
    under_review: bool
    anonymous: bool
    reporter: str
    contact_phone: str
    photos: list[dict[str, Any]]
    attributes: dict[str, Any]
    merged_into: int | None
    transitions: list[TransitionOut] = []


class EventOut(Schema):
    at: dt.datetime
    transition: str
    from_state: str
    to_state: str
    actor: str
    department: str
    note: str
    attachments: list[dict[str, Any]]


class DuplicateOut(Schema):
    id: int
    distance_m: float
    state_name: str
    created_at: dt.datetime
    description: str


class StatOut(Schema):
    key: str
    name: str
    total: int
    open: int
    overdue: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    on_time_rate: float | None


class MessageOut(Schema):
    id: int
    case_id: int | None
    kind: str
    text: str = Field(
        ..., description="In the reader's language (Accept-Language, or my account's)"
    )
    params: dict[str, Any] = Field(
        ..., description="What the text is made of besides kind and case"
    )
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_text(obj: Any) -> str:
        return obj.render()  # type: ignore[no-any-return]


class ContactOut(Schema):
    name: str
    phone: str
    email: str


class FollowUpIn(Schema):
    still_fixed: bool = Field(..., description="Is the city part still fixed four weeks later?")
    note: str = ""
