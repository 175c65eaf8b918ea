"""API shapes of 好差评."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class RateIn(Schema):
    level: str = Field(description="1 (非常不满意) … 5 (非常满意)")
    scores: dict[str, Any] = Field(default_factory=dict, description="indicator → 1-5")
    problems: list[str] = Field(default_factory=list, description="with a level of 1 or 2")
    comment: str = Field("", description="at most 500 characters")
    channel: str = "online"


class InvitationOut(Schema):
    id: int
    service_ref: str
    reference_no: str
    matter_code: str
    matter_name: str
    department_id: int
    department: str
    service_channel: str
    completed_at: dt.datetime
    rated: bool
    rating_id: int | None

    @staticmethod
    def resolve_department(obj: Any) -> str:
        return str(obj.department.name)

    @staticmethod
    def resolve_rating_id(obj: Any) -> int | None:
        return obj.rating.pk if obj.rated else None


class RatingOut(Schema):
    id: int
    service_ref: str
    reference_no: str
    matter_code: str
    matter_name: str
    department_id: int
    department: str
    level: str
    level_label: str
    scores: dict[str, int]
    problems: list[str]
    comment: str
    channel: str
    rated_at: dt.datetime
    excluded: bool
    excluded_reason: str
    rectification_id: int | None
    appeal_id: int | None

    @staticmethod
    def resolve_reference_no(obj: Any) -> str:
        return str(obj.invitation.reference_no)

    @staticmethod
    def resolve_matter_name(obj: Any) -> str:
        return str(obj.invitation.matter_name)

    @staticmethod
    def resolve_department(obj: Any) -> str:
        return str(obj.department.name)

    @staticmethod
    def resolve_level_label(obj: Any) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def resolve_rectification_id(obj: Any) -> int | None:
        rect = getattr(obj, "rectification", None)
        return rect.pk if rect else None

    @staticmethod
    def resolve_appeal_id(obj: Any) -> int | None:
        appeal = getattr(obj, "appeal", None)
        return appeal.pk if appeal else None


class RectificationOut(Schema):
    id: int
    rating_id: int
    matter_name: str
    level: str
    department_id: int
    status: str
    status_label: str
    working_days: int
    opened_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    callback_at: dt.datetime | None
    callback_notes: str
    rectified_at: dt.datetime | None
    result: str
    rejections: int
    confirmed_at: dt.datetime | None
    closed_at: dt.datetime | None
    on_time: bool | None

    @staticmethod
    def resolve_matter_name(obj: Any) -> str:
        return str(obj.rating.invitation.matter_name)

    @staticmethod
    def resolve_level(obj: Any) -> str:
        return str(obj.rating.level)

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())


class CallbackIn(Schema):
    notes: str


class RectifyIn(Schema):
    result: str


class ConfirmIn(Schema):
    accepted: bool
    feedback: str = ""


class AppealIn(Schema):
    reason: str


class AppealDecisionIn(Schema):
    exclude: bool
    notes: str


class AppealOut(Schema):
    id: int
    rating_id: int
    department_id: int
    department: str
    reason: str
    filed_at: dt.datetime
    status: str
    status_label: str
    decided_at: dt.datetime | None
    decision_notes: str

    @staticmethod
    def resolve_department(obj: Any) -> str:
        return str(obj.department.name)

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())


class StatisticsRowOut(Schema):
    department_id: int
    department: str
    total: int
    levels: dict[str, int]
    positive: int
    negative: int
    positive_rate: float | None
    rectifications: int
    rectified: int
    rectified_on_time: int
    on_time_rate: float | None


class ChoiceOut(Schema):
    value: str
    label: str


class VocabularyOut(Schema):
    levels: list[ChoiceOut]
    indicators: list[ChoiceOut]
    problems: list[ChoiceOut]
    channels: list[ChoiceOut]
