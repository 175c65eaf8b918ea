"""Reads, scoped by the actor. An object outside the actor's scope is ``NotFound`` (404)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from yiwang.accounts.models import ApiToken, Department, Division, User
from yiwang.accounts.roles import Cap, Role
from yiwang.core.errors import NotFound

WHOLE_PLATFORM_ROLES = {Role.SYSADMIN, Role.SECADMIN}


def division_scope(actor: User) -> Division | None:
    """The division subtree the actor's view covers, or None for 'no territory'."""
    if actor.division_id:
        return actor.division
    if actor.department is not None:
        return actor.department.division
    return None


def in_division(prefix_field: str, actor: User) -> Q:
    div = division_scope(actor)
    if div is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix_field}__startswith": div.prefix})


# --- Users ------------------------------------------------------------------------------------
def list_users_for(actor: User) -> QuerySet[User]:
    qs = User.objects.select_related("department", "division")
    if not actor.is_authenticated or not actor.is_active:
        return qs.none()
    if actor.role in WHOLE_PLATFORM_ROLES:
        return qs
    if actor.role == Role.OPERATOR:
        return qs.filter(
            in_division("division__prefix", actor)
            | in_division("department__division__prefix", actor)
        )
    if actor.role == Role.DEPT_LEADER and actor.department_id:
        return qs.filter(department_id=actor.department_id)
    return qs.filter(pk=actor.pk)


def access_user(actor: User, user_id: int) -> User:
    try:
        return list_users_for(actor).get(pk=user_id)
    except User.DoesNotExist:
        raise NotFound() from None


def find_users_by_phone(actor: User, phone: str) -> QuerySet[User]:
    from yiwang.core.personal import blind_index_for

    return list_users_for(actor).filter(phone_index=blind_index_for(User, "phone_index", phone))


def find_users_by_id_number(actor: User, id_number: str) -> QuerySet[User]:
    from yiwang.core.personal import blind_index_for

    return list_users_for(actor).filter(
        id_number_index=blind_index_for(User, "id_number_index", id_number)
    )


# --- Departments ------------------------------------------------------------------------------
def list_departments_for(actor: User) -> QuerySet[Department]:
    qs = Department.objects.select_related("division", "parent")
    if not actor.is_authenticated or not actor.is_active:
        return qs.none()
    if actor.role in WHOLE_PLATFORM_ROLES:
        return qs
    if actor.role in {
        Role.OPERATOR,
        Role.DEPT_LEADER,
        Role.DEPT_STAFF,
        Role.GRID_WORKER,
        Role.DATA_ADMIN,
    }:
        q = in_division("division__prefix", actor)
        if actor.department_id:
            q |= Q(pk=actor.department_id)
        return qs.filter(q)
    # Residents and enterprises see the public directory of active departments.
    return qs.filter(active=True)


def access_department(actor: User, department_id: int) -> Department:
    try:
        return list_departments_for(actor).get(pk=department_id)
    except Department.DoesNotExist:
        raise NotFound() from None


# --- Divisions (public reference data for anyone logged in) ---------------------------------
def list_divisions(
    *, parent_code: str | None = None, level: str | None = None
) -> QuerySet[Division]:
    qs = Division.objects.filter(valid_to__isnull=True)
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("code")


def get_division(code: str) -> Division:
    div = Division.objects.filter(code=code, valid_to__isnull=True).first()
    if div is None:
        raise NotFound()
    return div


# --- Tokens -----------------------------------------------------------------------------------
def list_tokens_for(actor: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor, revoked_at__isnull=True)


def may_unmask(actor: User) -> bool:
    return actor.can(Cap.UNMASK)
