"""Input and output schemas for the 政策通 API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


# --- documents and items ------------------------------------------------------------------------
class DocumentIn(Schema):
    title: str = Field(..., max_length=300)
    doc_number: str = Field("", max_length=100, description="文号, e.g. 某区科发〔2026〕12号")
    issuer_names: str = Field("", max_length=300)
    issuer_ids: list[int] = Field([], description="Issuing departments on the platform")
    issued_on: dt.date
    effective_from: dt.date
    effective_to: dt.date | None = None
    region_code: str = Field(..., description="Division code of the area the policy applies to")
    source_url: str = ""
    full_text: str = ""
    interpretation: str = Field("", description="解读")


class DocumentPatch(Schema):
    title: str | None = None
    doc_number: str | None = None
    issuer_names: str | None = None
    issued_on: dt.date | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    source_url: str | None = None
    full_text: str | None = None
    interpretation: str | None = None


class DepartmentOut(Schema):
    id: int
    code: str
    name: str


class DocumentOut(Schema):
    id: int
    title: str
    doc_number: str
    issuer_names: str
    issuers: list[DepartmentOut]
    issued_on: dt.date
    effective_from: dt.date
    effective_to: dt.date | None
    region_code: str
    region_name: str
    source_url: str
    synthetic: bool


class AttachmentOut(Schema):
    id: int
    name: str
    url: str
    sha256: str
    size: int


class DocumentDetailOut(DocumentOut):
    full_text: str
    interpretation: str
    attachments: list[AttachmentOut]
    items: list[ItemOut]


class ItemIn(Schema):
    document_id: int
    code: str = Field(..., description="a unique slug, e.g. kj-rd-subsidy-2026")
    title: str
    benefit_type: str = Field(
        ..., description="subsidy, award, tax_relief, loan_interest or qualification"
    )
    target: str = "enterprise"
    department_id: int
    summary: str = ""
    rule: dict[str, Any] = Field(..., description="A rules_version 1 rule (docs/rules.md)")
    opens_on: dt.date | None = None
    closes_on: dt.date | None = None
    no_application: bool = False


class ItemPatch(Schema):
    title: str | None = None
    benefit_type: str | None = None
    target: str | None = None
    summary: str | None = None
    opens_on: dt.date | None = None
    closes_on: dt.date | None = None
    no_application: bool | None = None


class RuleIn(Schema):
    rule: dict[str, Any]


class NoteIn(Schema):
    note: str = ""


class ReasonIn(Schema):
    reason: str = ""


class ItemOut(Schema):
    id: int
    code: str
    title: str
    benefit_type: str
    target: str
    status: str
    document_id: int
    document_title: str
    department: DepartmentOut
    summary: str
    opens_on: dt.date | None
    closes_on: dt.date | None
    no_application: bool
    published_version: int | None
    is_open: bool


class VersionOut(Schema):
    number: int
    status: str
    rule: dict[str, Any]
    diff: dict[str, Any]
    created_by: str
    created_at: dt.datetime
    submitted_by: str
    submitted_at: dt.datetime | None
    reviewed_by: str
    reviewed_at: dt.datetime | None
    review_note: str


class ItemDetailOut(ItemOut):
    rule: dict[str, Any] | None
    atoms: list[dict[str, Any]]
    versions: list[VersionOut]


# --- matching -----------------------------------------------------------------------------------
class PreviewIn(Schema):
    rule: dict[str, Any]
    as_of: dt.date | None = None


class SummaryOut(Schema):
    item: int | None
    as_of: dt.date
    total: int
    counts: dict[str, int]
    by_street: list[dict[str, Any]]
    by_industry: list[dict[str, Any]]
    sample: list[dict[str, Any]]


class MatchRowOut(Schema):
    organisation_id: int
    name: str
    credit_code: str
    verdict: str
    amount: float | None


class ItemMatchesOut(Schema):
    summary: SummaryOut
    items: list[MatchRowOut]
    count: int
    page: int
    page_size: int


class EnterpriseMatchOut(Schema):
    item: int
    code: str
    title: str
    outcome: str = Field(..., description="eligible, possibly or not_eligible")
    verdict: str
    score: float | None
    amount: float | None
    amount_unit: str
    deadline: dt.date | None
    opens_on: dt.date | None
    missing: list[dict[str, Any]]
    facts_to_provide: list[str]
    failed: list[dict[str, Any]]
    reasons: list[str]
    explanation: str


class CalculatorIn(Schema):
    facts: dict[str, Any] = Field(..., description='Catalog facts, e.g. {"revenue@FY2025": 800}')
    as_of: dt.date | None = None
    lang: str = "zh"


# --- enterprise profile -------------------------------------------------------------------------
class FactOut(Schema):
    key: str
    name: str
    period: str
    value: Any
    source: str
    source_kind: str
    as_of: dt.date | None
    label: dict[str, str]
    type: str
    unit: str
    overridden: bool


class ProfileOut(Schema):
    organisation_id: int
    name: str
    credit_code: str
    facts: list[FactOut]


class FactIn(Schema):
    name: str
    period: str = Field("", description="FY2025 for a fact kept per fiscal year")
    value: Any = None


class CorrectionIn(FactIn):
    reason: str = ""


class CorrectionOut(Schema):
    id: int
    organisation_id: int
    organisation_name: str
    name: str
    period: str
    value: Any
    reason: str
    status: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    note: str


class DecisionIn(Schema):
    accept: bool
    note: str = ""


class DeliveryOut(Schema):
    id: int
    item: int
    code: str
    title: str
    verdict: str
    version: int
    delivered_at: dt.datetime
    read_at: dt.datetime | None
    channels: list[str]
    closes_on: dt.date | None


class PreferenceIn(Schema):
    push: bool | None = None
    email: bool | None = None
    sms: bool | None = None


class PreferenceOut(Schema):
    push: bool
    email: bool
    sms: bool


DocumentDetailOut.model_rebuild()
