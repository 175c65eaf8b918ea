"""Accounts API: thin — schema in, action/selector, schema out."""

from __future__ import annotations

from typing import Any

from ninja import Router, Status
from ninja.pagination import paginate

from yiwang.accounts import actions, selectors
from yiwang.accounts.schemas import (
    ActiveIn,
    DepartmentOut,
    DivisionOut,
    LanguageIn,
    MeOut,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    UnmaskIn,
    UnmaskOut,
    UserIn,
    UserOut,
)
from yiwang.accounts.types import AuthedRequest
from yiwang.core.api import ErrorOut, PageNumber, error_responses

me_router = Router()
router = Router()

ERRORS: dict[int, Any] = error_responses()


@me_router.get("", response={200: MeOut, 401: ErrorOut}, summary="Who I am")
def me(request: AuthedRequest) -> Any:
    return request.user


@me_router.put(
    "/language",
    response={200: MeOut, **ERRORS},
    summary="Set my language",
    description=(
        "The language of my pages, in-app messages, email and SMS on every device "
        '(`zh-hans`, `en`, or `""` for the platform default, zh-Hans). An explicit '
        "Accept-Language header on an API request still wins for that request."
    ),
)
def set_my_language(request: AuthedRequest, payload: LanguageIn) -> Any:
    return actions.do_set_language(actor=request.user, language=payload.language)


@me_router.get("/tokens", response={200: list[TokenOut], 401: ErrorOut}, summary="My API tokens")
def my_tokens(request: AuthedRequest) -> Any:
    return list(selectors.list_tokens_for(request.user))


@me_router.post("/tokens", response={201: TokenCreatedOut, **ERRORS}, summary="Create an API token")
def create_token(request: AuthedRequest, payload: TokenIn) -> Any:
    tok, raw = actions.do_create_api_token(
        actor=request.user, name=payload.name, expires_in_days=payload.expires_in_days
    )
    data = TokenOut.from_orm(tok).dict()
    data["token"] = raw
    return Status(201, data)


@me_router.delete(
    "/tokens/{token_id}", response={204: None, **ERRORS}, summary="Revoke an API token"
)
def revoke_token(request: AuthedRequest, token_id: int) -> Any:
    actions.do_revoke_api_token(actor=request.user, token_id=token_id)
    return Status(204, None)


@router.get("/users", response={200: list[UserOut], **ERRORS}, summary="Users in my scope")
@paginate(PageNumber)
def list_users(request: AuthedRequest, q: str = "", role: str = "") -> Any:
    qs = selectors.list_users_for(request.user)
    if q:
        qs = qs.filter(username__icontains=q)
    if role:
        qs = qs.filter(role=role)
    return qs


@router.get("/users/{user_id}", response={200: UserOut, **ERRORS}, summary="One user (masked)")
def get_user(request: AuthedRequest, user_id: int, purpose: str = "") -> Any:
    return actions.read_user_profile(actor=request.user, user_id=user_id, purpose=purpose)


@router.post("/users", response={201: UserOut, **ERRORS}, summary="Create a user (system admin)")
def create_user(request: AuthedRequest, payload: UserIn) -> Any:
    user = actions.do_create_user(actor=request.user, data=actions.UserInput(**payload.dict()))
    return Status(201, user)


@router.post(
    "/users/{user_id}/active", response={200: UserOut, **ERRORS}, summary="Activate or deactivate"
)
def set_active(request: AuthedRequest, user_id: int, payload: ActiveIn) -> Any:
    return actions.do_set_user_active(
        actor=request.user, user_id=user_id, active=payload.active, reason=payload.reason
    )


@router.post(
    "/users/{user_id}/unmask",
    response={200: UnmaskOut, **ERRORS},
    summary="Reveal one personal field (needs the unmask permission; audited)",
)
def unmask(request: AuthedRequest, user_id: int, payload: UnmaskIn) -> Any:
    value = actions.do_unmask(
        actor=request.user, user_id=user_id, field=payload.field, purpose=payload.purpose
    )
    return {"field": payload.field, "value": value}


@router.get("/departments", response={200: list[DepartmentOut], **ERRORS}, summary="Departments")
@paginate(PageNumber)
def list_departments(request: AuthedRequest) -> Any:
    return selectors.list_departments_for(request.user)


@router.get("/departments/{department_id}", response={200: DepartmentOut, **ERRORS})
def get_department(request: AuthedRequest, department_id: int) -> Any:
    return selectors.access_department(request.user, department_id)


@router.get("/divisions", response={200: list[DivisionOut], **ERRORS}, summary="Division codes")
@paginate(PageNumber)
def list_divisions(request: AuthedRequest, parent: str = "", level: str = "") -> Any:
    return selectors.list_divisions(parent_code=parent or None, level=level or None).select_related(
        "parent"
    )


@router.get("/divisions/{code}", response={200: DivisionOut, **ERRORS})
def get_division(request: AuthedRequest, code: str) -> Any:
    return selectors.get_division(code)
