"""The data-system API (mounted at /api/v1/exchange/): thin — schema in, action/selector out.

The exchange itself (``POST /query/{dataset}``) takes a department system's credential
(``Authorization: Bearer ywc_<id>_<secret>``) or a staff member's session or token.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate
from ninja.security import HttpBearer

from yiwang.accounts.types import AuthedRequest
from yiwang.core.api import AUTH, ErrorOut, PageNumber, error_responses
from yiwang.core.errors import ValidationFailed
from yiwang.exchange import actions, dcat, selectors
from yiwang.exchange.models import ExchangeClient
from yiwang.exchange.schemas import (
    AccessOut,
    ClientCreatedOut,
    ClientIn,
    ClientOut,
    CorrectionDecisionIn,
    CorrectionIn,
    CorrectionOut,
    DataElementIn,
    DataElementOut,
    DatasetIn,
    DatasetOut,
    DecisionIn,
    GrantIn,
    GrantOut,
    LoadIn,
    LogOut,
    PurgeOut,
    QualityRunOut,
    QueryIn,
    QueryOut,
    ReasonIn,
    VersionOut,
)

router = Router()

ERRORS: dict[int, Any] = error_responses(409)


class ClientAuth(HttpBearer):
    """``Authorization: Bearer ywc_…`` — a department system's exchange credential."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        client = actions.client_for(token)
        if client is None:
            return None
        request.exchange_client = client  # type: ignore[attr-defined]
        return client


class LogRefusedCall:
    """Last in the exchange's auth list, so it runs only when every credential failed: the
    refusal (401) is logged with its reason before django-ninja answers it. It has no
    OpenAPI security scheme of its own."""

    def __call__(self, request: HttpRequest) -> Any:
        match = request.resolver_match
        user = getattr(request, "user", None)
        actions.log_refused_credential(
            authorization=request.headers.get("Authorization", ""),
            dataset_code=str((match.kwargs if match else {}).get("dataset", "")),
            body=request.body,
            ip=request.META.get("REMOTE_ADDR"),
            session_user=user if user is not None and user.is_authenticated else None,
        )
        return None


# --- Catalog ----------------------------------------------------------------------------------
@router.get("/datasets", response={200: list[DatasetOut], **ERRORS}, summary="Search the catalog")
@paginate(PageNumber)
def list_datasets(
    request: AuthedRequest, q: str = "", department: str = "", share_type: str = ""
) -> Any:
    return selectors.list_datasets_for(
        request.user, q=q, department=department, share_type=share_type
    )


@router.post("/datasets", response={201: DatasetOut, **ERRORS}, summary="Publish a dataset")
def publish_dataset(request: AuthedRequest, payload: DatasetIn) -> Any:
    ds = actions.do_publish_dataset(
        actor=request.user,
        code=payload.code,
        name=payload.name,
        description=payload.description,
        schema=payload.table_schema,
        share_type=payload.share_type,
        frequency=payload.frequency,
        subject_kind=payload.subject_kind,
        subject_field=payload.subject_field,
        keywords=payload.keywords,
        retention_days=payload.retention_days,
        retention_action=payload.retention_action,
    )
    return Status(201, ds)


@router.get(
    "/datasets/{code}/purges",
    response={200: list[PurgeOut], **ERRORS},
    summary="Retention reports of an own dataset (rows deleted or anonymised)",
)
def list_purges(request: AuthedRequest, code: str) -> Any:
    return list(selectors.access_owned_dataset(request.user, code).purges.all()[:100])


@router.get("/catalog.jsonld", response={200: dict[str, Any], **ERRORS}, summary="DCAT export")
def dcat_export(request: AuthedRequest) -> Any:
    return dcat.catalog(
        selectors.list_datasets_for(request.user), request.build_absolute_uri("/")[:-1]
    )


@router.get("/datasets/{code}", response={200: DatasetOut, **ERRORS}, summary="One dataset")
def get_dataset(request: AuthedRequest, code: str) -> Any:
    return selectors.access_dataset(request.user, code)


@router.post(
    "/datasets/{code}/loads",
    response={201: VersionOut, **ERRORS},
    summary="Load rows (JSON push, or a CSV/JSON/XLSX file) into an own dataset",
)
def load_dataset(request: AuthedRequest, code: str, payload: LoadIn) -> Any:
    content: Any
    if payload.rows is not None:
        source, content = "api", payload.rows
    else:
        source = payload.format
        if source == "xlsx":
            try:
                content = base64.b64decode(payload.content, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationFailed(fields={"content": ["not base64"]}) from None
        else:
            content = payload.content.encode()
    return Status(
        201,
        actions.do_load_dataset(
            actor=request.user, code=code, source=source, content=content, filename=payload.filename
        ),
    )


@router.get(
    "/datasets/{code}/versions", response={200: list[VersionOut], **ERRORS}, summary="Loads"
)
@paginate(PageNumber)
def list_versions(request: AuthedRequest, code: str) -> Any:
    return selectors.list_versions_for(request.user, code)


@router.get(
    "/datasets/{code}/versions/{number}",
    response={200: VersionOut, **ERRORS},
    summary="One load with its error report",
)
def get_version(request: AuthedRequest, code: str, number: int) -> Any:
    return selectors.access_version(request.user, code, number)


@router.post(
    "/datasets/{code}/quality",
    response={201: QualityRunOut, **ERRORS},
    summary="Run the quality rules of an own dataset now",
)
def run_quality(request: AuthedRequest, code: str) -> Any:
    return Status(201, actions.do_run_quality(actor=request.user, code=code))


@router.get(
    "/datasets/{code}/quality",
    response={200: list[QualityRunOut], **ERRORS},
    summary="Quality runs of an own dataset (latest first)",
)
@paginate(PageNumber)
def list_quality(request: AuthedRequest, code: str) -> Any:
    return selectors.list_quality_runs_for(request.user, code)


@router.get("/elements", response={200: list[DataElementOut], **ERRORS}, summary="Data elements")
@paginate(PageNumber)
def list_elements(request: AuthedRequest) -> Any:
    return selectors.list_elements(request.user)


@router.post("/elements", response={201: DataElementOut, **ERRORS}, summary="Define an element")
def define_element(request: AuthedRequest, payload: DataElementIn) -> Any:
    return Status(201, actions.do_define_element(actor=request.user, **payload.dict()))


# --- Grants -----------------------------------------------------------------------------------
@router.get("/grants", response={200: list[GrantOut], **ERRORS}, summary="Grants of my department")
@paginate(PageNumber)
def list_grants(request: AuthedRequest, side: str = "", status: str = "") -> Any:
    qs = selectors.list_grants_for(request.user, side)
    return qs.filter(status=status) if status else qs


@router.post("/grants", response={201: GrantOut, **ERRORS}, summary="Request a grant")
def request_grant(request: AuthedRequest, payload: GrantIn) -> Any:
    g = actions.do_request_grant(
        actor=request.user,
        dataset_code=payload.dataset,
        fields=payload.fields,
        purpose=payload.purpose,
        legal_basis=payload.legal_basis,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        daily_quota=payload.daily_quota,
    )
    return Status(201, g)


@router.get("/grants/{grant_id}", response={200: GrantOut, **ERRORS}, summary="One grant")
def get_grant(request: AuthedRequest, grant_id: int) -> Any:
    return selectors.access_grant(request.user, grant_id)


@router.post(
    "/grants/{grant_id}/decision",
    response={200: GrantOut, **ERRORS},
    summary="Approve, narrow or refuse (the owning department)",
)
def decide_grant(request: AuthedRequest, grant_id: int, payload: DecisionIn) -> Any:
    return actions.do_decide_grant(actor=request.user, grant_id=grant_id, **payload.dict())


@router.post("/grants/{grant_id}/revoke", response={200: GrantOut, **ERRORS}, summary="Revoke")
def revoke_grant(request: AuthedRequest, grant_id: int, payload: ReasonIn) -> Any:
    return actions.do_revoke_grant(actor=request.user, grant_id=grant_id, reason=payload.reason)


# --- Clients ----------------------------------------------------------------------------------
@router.get("/clients", response={200: list[ClientOut], **ERRORS}, summary="My systems")
def list_clients(request: AuthedRequest) -> Any:
    return list(selectors.list_clients_for(request.user))


@router.post("/clients", response={201: ClientCreatedOut, **ERRORS}, summary="New credential")
def create_client(request: AuthedRequest, payload: ClientIn) -> Any:
    client, credential = actions.do_create_client(actor=request.user, name=payload.name)
    data = ClientOut.from_orm(client).dict()
    data["credential"] = credential
    return Status(201, data)


@router.post(
    "/clients/{client_pk}/revoke", response={200: ClientOut, **ERRORS}, summary="Revoke a system"
)
def revoke_client(request: AuthedRequest, client_pk: int) -> Any:
    return actions.do_revoke_client(actor=request.user, client_pk=client_pk)


# --- The exchange -----------------------------------------------------------------------------
@router.post(
    "/query/{dataset}",
    auth=[ClientAuth(), *AUTH, LogRefusedCall()],
    response={200: QueryOut, 429: ErrorOut, **ERRORS},
    summary="Exchange: granted fields of one subject, for a stated purpose and case",
)
def query(request: HttpRequest, dataset: str, payload: QueryIn) -> Any:
    principal = request.auth  # type: ignore[attr-defined]
    if isinstance(principal, ExchangeClient):
        caller = actions.Caller.for_client(principal, request.headers.get("X-Yiwang-User", ""))
    else:
        caller = actions.Caller.for_user(principal)
    return actions.do_exchange(
        caller=caller,
        dataset_code=dataset,
        subject=payload.subject,
        fields=payload.fields,
        purpose=payload.purpose,
        case_ref=payload.case,
        ip=request.META.get("REMOTE_ADDR"),
    )


@router.get("/logs", response={200: list[LogOut], **ERRORS}, summary="Exchange log")
@paginate(PageNumber)
def list_logs(request: AuthedRequest, side: str = "", dataset: str = "", case: str = "") -> Any:
    return selectors.list_logs_for(request.user, side=side, dataset=dataset, case=case)


# --- Individuals ------------------------------------------------------------------------------
@router.get("/me/accesses", response={200: list[AccessOut], **ERRORS}, summary="Who read my data")
@paginate(PageNumber)
def my_accesses(request: AuthedRequest) -> Any:
    return selectors.list_my_accesses(request.user)


@router.get("/me/data", response={200: dict[str, Any], **ERRORS}, summary="Export my data")
def my_data(request: AuthedRequest) -> Any:
    return actions.do_export_own_data(actor=request.user)


@router.get(
    "/me/corrections", response={200: list[CorrectionOut], **ERRORS}, summary="My corrections"
)
def my_corrections(request: AuthedRequest) -> Any:
    return list(selectors.list_my_corrections(request.user))


@router.post(
    "/me/corrections",
    response={201: CorrectionOut, **ERRORS},
    summary="Ask the owning department to correct my data",
)
def request_correction(request: AuthedRequest, payload: CorrectionIn) -> Any:
    c = actions.do_request_correction(
        actor=request.user,
        dataset_code=payload.dataset,
        field=payload.field,
        value=payload.value,
        explanation=payload.explanation,
    )
    return Status(201, c)


@router.get(
    "/corrections",
    response={200: list[CorrectionOut], **ERRORS},
    summary="Correction requests on my department's datasets",
)
@paginate(PageNumber)
def list_corrections(request: AuthedRequest, status: str = "") -> Any:
    qs = selectors.list_corrections_for(request.user)
    return qs.filter(status=status) if status else qs


@router.post(
    "/corrections/{correction_id}/decision",
    response={200: CorrectionOut, **ERRORS},
    summary="Accept (the row is corrected) or reject a correction request",
)
def decide_correction(
    request: AuthedRequest, correction_id: int, payload: CorrectionDecisionIn
) -> Any:
    return actions.do_decide_correction(
        actor=request.user,
        correction_id=correction_id,
        accept=payload.accept,
        response=payload.response,
    )
