"""Explicit input and output schemas of the 一网通办 API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class QuestionOut(Schema):
    key: str
    text: str
    kind: str
    choices: list[dict[str, Any]]
    shown_when: str


class BundleItemOut(Schema):
    implementation: str
    matter: str
    department: str
    stage: int
    promised_days: int
    applies_when: str


class FieldOut(Schema):
    key: str
    label: str
    kind: str
    required: bool
    prefill: str
    applies_when: str
    choices: list[dict[str, Any]]


class BundleOut(Schema):
    code: str
    name: str
    audience: str
    theme: str
    summary: str
    completion: str
    lead_department: str
    promised_days: int
    version: int


class BundleDetailOut(BundleOut):
    questions: list[QuestionOut]
    items: list[BundleItemOut]
    fields: list[FieldOut]


class PlanIn(Schema):
    answers: dict[str, Any] = Field(default_factory=dict, description="question key → answer")


class PlanMaterialOut(Schema):
    key: str
    name: str
    matter: str
    required: bool
    deferrable: bool
    source: str


class PlanOut(Schema):
    complete: bool
    unanswered: list[str]
    matters: list[BundleItemOut]
    undecided: list[str]
    materials: list[PlanMaterialOut]
    fields: list[str]


class StartIn(Schema):
    bundle: str = Field(description="bundle code, e.g. open-restaurant")


class DraftIn(Schema):
    answers: dict[str, Any] | None = Field(None, description="situation answers to merge")
    form: dict[str, Any] | None = Field(None, description="form values to merge; '' clears")


class SubmitIn(Schema):
    commitment: bool = Field(
        False, description="the applicant commits to provide deferrable materials later (容缺)"
    )


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class MaterialOut(Schema):
    material_id: int
    key: str
    name: str
    matter: str
    state: str
    state_label: str
    waived_by: str
    required: bool
    deferrable: bool
    formats: list[str]
    max_size_kb: int
    file_name: str
    size: int
    sha256: str


class TaskOut(Schema):
    id: int
    matter: str
    implementation: str
    department: str
    stage: int
    state: str
    state_label: str
    started_at: dt.datetime | None
    due_at: dt.datetime | None
    decided_at: dt.datetime | None
    reason: str
    certificate_id: str
    version: int


class TimelineOut(Schema):
    kind: str
    note: str
    department: str
    at: dt.datetime


class SupplementOut(Schema):
    department: str
    matter: str
    note: str
    materials: list[str]
    requested_at: dt.datetime


class ApplicationOut(Schema):
    id: int
    number: str
    bundle: str
    bundle_name: str
    status: str
    status_label: str
    answers: dict[str, Any]
    form: dict[str, Any]
    prefilled: dict[str, Any]
    commitment: bool
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    completed_at: dt.datetime | None
    materials: list[MaterialOut]
    tasks: list[TaskOut]
    supplements: list[SupplementOut]
    timeline: list[TimelineOut]


class DraftOut(Schema):
    application: ApplicationOut
    problems: dict[str, list[str]]


class StaffTaskOut(TaskOut):
    application_id: int
    application_number: str
    bundle: str
    applicant_name: str
    applicant_code: str = Field(description="masked")
    claimed_by: str
    overdue: bool


class StaffTaskDetailOut(StaffTaskOut):
    form: dict[str, Any] = Field(description="personal fields masked")
    answers: dict[str, Any]
    materials: list[MaterialOut]
    commitment: bool


class SupplementIn(Schema):
    note: str = Field(..., max_length=2000)
    materials: list[str] = Field(default_factory=list, description="material keys to provide")


class DecisionIn(Schema):
    approve: bool
    reason: str = Field("", max_length=2000)
    version: int | None = Field(None, description="the task version read; stale → 409")


class ClaimIn(Schema):
    version: int | None = None


class StatsOut(Schema):
    total: int
    open: int
    supplement: int
    approved: int
    rejected: int
    decided: int
    decided_on_time: int
    on_time_rate: float | None
    overdue_open: int
    average_working_hours: float | None
    by_matter: list[dict[str, Any]]
