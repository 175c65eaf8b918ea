"""Electronic certificates API (mounted at /api/v1/certs/): thin — schema in, action or
selector out. ``POST /verify`` and ``GET /keys`` are public (no login)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from yiwang.accounts.types import AuthedRequest
from yiwang.certs import actions, keys, selectors
from yiwang.certs.schemas import (
    CertificateOut,
    CopyIn,
    CopyOut,
    RevokeIn,
    VerificationOut,
    VerifyIn,
)
from yiwang.core.api import PageNumber, error_responses

router = Router()

ERRORS: dict[int, Any] = error_responses(409)


@router.post(
    "/verify",
    auth=None,
    response={200: VerificationOut, **ERRORS},
    summary="Verify a certificate or copy payload (public): signature, issuer registry, status",
)
def verify(request: HttpRequest, payload: VerifyIn) -> Any:
    return actions.verify(payload.qr_payload, holder_code=payload.holder_code).to_json()


@router.get(
    "/keys",
    auth=None,
    response={200: dict[str, Any], **ERRORS},
    summary="The issuer key list with revocations, for offline verification (public)",
)
def key_list(request: HttpRequest) -> Any:
    return keys.key_list().to_json()


@router.get("/mine", response={200: list[CertificateOut], **ERRORS}, summary="My certificates")
@paginate(PageNumber)
def my_certificates(request: AuthedRequest) -> Any:
    return selectors.list_my_certificates(request.user)


@router.get(
    "/issued",
    response={200: list[CertificateOut], **ERRORS},
    summary="Certificates my department issued",
)
@paginate(PageNumber)
def issued_certificates(
    request: AuthedRequest, q: str = "", type_code: str = "", status: str = ""
) -> Any:
    return selectors.list_issued_certificates(request.user, q=q, type_code=type_code, status=status)


@router.get(
    "/certificates/{identifier}",
    response={200: CertificateOut, **ERRORS},
    summary="One certificate (its holder or its issuing department)",
)
def certificate_detail(request: AuthedRequest, identifier: str) -> Any:
    return selectors.access_certificate(request.user, identifier)


@router.post(
    "/certificates/{identifier}/copies",
    response={201: CopyOut, **ERRORS},
    summary="Make a purpose-limited, time-limited copy (加注件) for a department",
)
def create_copy(request: AuthedRequest, identifier: str, payload: CopyIn) -> Any:
    cp = actions.do_create_copy(
        actor=request.user,
        identifier=identifier,
        purpose=payload.purpose,
        recipient_department=payload.recipient_department,
        expires_at=payload.expires_at,
    )
    return Status(201, cp)


@router.post(
    "/certificates/{identifier}/revoke",
    response={200: CertificateOut, **ERRORS},
    summary="Revoke (注销) a certificate of my department, with a reason",
)
def revoke(request: AuthedRequest, identifier: str, payload: RevokeIn) -> Any:
    return actions.do_revoke_certificate(
        actor=request.user, identifier=identifier, reason=payload.reason
    )


@router.get(
    "/copies",
    response={200: list[CopyOut], **ERRORS},
    summary="Copies: of my certificates (holders) or received by my department (staff)",
)
@paginate(PageNumber)
def copies(request: AuthedRequest) -> Any:
    if selectors.is_department_staff(request.user):
        return selectors.list_received_copies(request.user)
    return selectors.list_my_copies(request.user)


@router.get("/copies/{identifier}", response={200: CopyOut, **ERRORS}, summary="One copy")
def copy_detail(request: AuthedRequest, identifier: str) -> Any:
    return selectors.access_copy(request.user, identifier)
