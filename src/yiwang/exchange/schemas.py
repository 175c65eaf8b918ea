"""API shapes of the data system."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema


class DataElementIn(Schema):
    code: str
    name: str
    type: str = "string"
    code_table: str = ""
    validator: str = ""
    definition: str = ""


class DataElementOut(Schema):
    code: str
    name: str
    type: str
    code_table: str
    validator: str
    definition: str


class DatasetIn(Schema):
    code: str
    name: str
    description: str = ""
    table_schema: dict[str, Any]
    share_type: str = "conditional"
    frequency: str = "monthly"
    subject_kind: str = ""
    subject_field: str = ""
    keywords: str = ""
    retention_days: int | None = None
    retention_action: str = "delete"  # or "anonymise" at the end of retention


class DatasetOut(Schema):
    code: str
    name: str
    description: str
    owner_code: str
    owner_name: str
    table_schema: dict[str, Any]
    primary_key: list[str]
    share_type: str
    frequency: str
    subject_kind: str
    version: int
    schema_version: int
    rows: int
    loaded_at: dt.datetime | None
    retention_days: int | None
    retention_action: str

    @staticmethod
    def resolve_owner_code(obj: Any) -> str:
        return str(obj.owner.code)

    @staticmethod
    def resolve_owner_name(obj: Any) -> str:
        return str(obj.owner.name)

    @staticmethod
    def resolve_table_schema(obj: Any) -> dict[str, Any]:
        return dict(obj.schema)


class LoadIn(Schema):
    """Rows pushed as JSON objects, or a whole file as text (csv/json) or base64 (xlsx)."""

    rows: list[dict[str, Any]] | None = None
    format: str = ""
    content: str = ""
    filename: str = ""


class RowErrorOut(Schema):
    row: int
    field: str
    type: str
    message: str


class VersionOut(Schema):
    number: int
    source: str
    filename: str
    content_hash: str
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    inserted: int
    updated: int
    unchanged: int
    loaded_at: dt.datetime
    errors: list[RowErrorOut]


class GrantIn(Schema):
    dataset: str
    fields: list[str]
    purpose: str
    legal_basis: str
    valid_from: dt.date
    valid_to: dt.date
    daily_quota: int = 1000


class DecisionIn(Schema):
    decision: str
    reason: str = ""
    fields: list[str] | None = None
    valid_to: dt.date | None = None
    daily_quota: int | None = None
    unmasked_fields: list[str] | None = None


class ReasonIn(Schema):
    reason: str


class GrantOut(Schema):
    id: int
    dataset: str
    dataset_name: str
    owner: str
    requester: str
    purpose: str
    legal_basis: str
    requested_fields: list[str]
    requested_from: dt.date
    requested_to: dt.date
    requested_quota: int
    status: str
    fields: list[str]
    unmasked_fields: list[str]
    valid_from: dt.date | None
    valid_to: dt.date | None
    daily_quota: int
    reason: str
    decided_at: dt.datetime | None
    calls_total: int

    @staticmethod
    def resolve_dataset(obj: Any) -> str:
        return str(obj.dataset.code)

    @staticmethod
    def resolve_dataset_name(obj: Any) -> str:
        return str(obj.dataset.name)

    @staticmethod
    def resolve_owner(obj: Any) -> str:
        return str(obj.dataset.owner.code)

    @staticmethod
    def resolve_requester(obj: Any) -> str:
        return str(obj.requester.code)


class ClientIn(Schema):
    name: str


class ClientOut(Schema):
    id: int
    name: str
    client_id: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ClientCreatedOut(ClientOut):
    credential: str


class QueryIn(Schema):
    subject: str = ""
    fields: list[str] = []
    purpose: str = ""
    case: str = ""


class QueryOut(Schema):
    dataset: str
    version: int
    fields: list[str]
    masked_fields: list[str]
    records: list[dict[str, Any]]
    log_id: int
    request_hash: str
    response_hash: str


class LogOut(Schema):
    id: int
    at: dt.datetime
    service: str
    requester: str
    client: str
    user: str
    case_ref: str
    purpose: str
    fields: list[str]
    fields_served: list[str]
    request_hash: str
    response_hash: str
    result: str
    status_code: int
    reason: str

    @staticmethod
    def resolve_requester(obj: Any) -> str:
        return str(obj.requester.code) if obj.requester else ""

    @staticmethod
    def resolve_client(obj: Any) -> str:
        return str(obj.client.client_id) if obj.client else ""


class AccessOut(Schema):
    """One read of my data, as the data subject sees it."""

    at: dt.datetime
    department: str
    dataset: str
    owner: str
    purpose: str
    case_ref: str
    fields: list[str]
    result: str

    @staticmethod
    def resolve_department(obj: Any) -> str:
        return str(obj.requester.name) if obj.requester else ""

    @staticmethod
    def resolve_dataset(obj: Any) -> str:
        return str(obj.dataset.name) if obj.dataset else obj.service

    @staticmethod
    def resolve_owner(obj: Any) -> str:
        return str(obj.dataset.owner.name) if obj.dataset else ""

    @staticmethod
    def resolve_fields(obj: Any) -> list[str]:
        return list(obj.fields_served or obj.fields)


class QualityRunOut(Schema):
    id: int
    at: dt.datetime
    version: int
    rows: int
    score: float
    problems: int
    due_on: dt.date | None
    seconds: float
    checks: list[dict[str, Any]]


class CorrectionIn(Schema):
    dataset: str
    field: str
    value: str
    explanation: str = ""


class CorrectionDecisionIn(Schema):
    accept: bool
    response: str = ""


class CorrectionOut(Schema):
    id: int
    dataset: str
    field: str
    explanation: str
    status: str
    due_on: dt.date
    response: str
    created_at: dt.datetime
    decided_at: dt.datetime | None

    @staticmethod
    def resolve_dataset(obj: Any) -> str:
        return str(obj.dataset.code)


class PurgeOut(Schema):
    at: dt.datetime
    cutoff: dt.datetime
    action: str
    records_deleted: int
    records_anonymised: int
    revisions_deleted: int
    fields_removed: list[str]
