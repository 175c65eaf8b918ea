"""Roles and what each may do. Capabilities are strings checked in selectors and actions.

三权分立: the system admin configures users and organisation but cannot read or change the
audit log; the security admin runs login policy, lockouts and two-factor; the audit admin
reads the audit log and nothing else.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    ENTERPRISE = "enterprise", _("Enterprise user")
    GRID_WORKER = "grid_worker", _("Grid worker")
    DEPT_STAFF = "dept_staff", _("Department staff")
    DEPT_LEADER = "dept_leader", _("Department leader")
    OPERATOR = "operator", _("Command-centre operator")
    DATA_ADMIN = "data_admin", _("Data administrator")
    SYSADMIN = "sysadmin", _("System administrator")
    SECADMIN = "secadmin", _("Security administrator")
    AUDITADMIN = "auditadmin", _("Audit administrator")


PUBLIC_ROLES = frozenset({Role.RESIDENT, Role.ENTERPRISE})
STAFF_ROLES = frozenset(set(Role) - PUBLIC_ROLES)
ADMIN_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN})


class Cap:
    """Capability names."""

    CONSOLE = "console.access"
    PORTAL = "portal.access"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    USERS_VIEW = "accounts.view_users"
    USERS_MANAGE = "accounts.manage_users"
    ORG_MANAGE = "accounts.manage_org"
    SECURITY_MANAGE = "security.manage"
    UNMASK = "personal.unmask"
    REGISTRY_VIEW = "registry.view"
    REGISTRY_IMPORT = "registry.import"
    CASES_VIEW = "cases.view"
    POLICY_EDIT = "policies.edit"  # draft policies and items, atomise, submit for review
    POLICY_REVIEW = "policies.review"  # the checker: approve and publish, withdraw
    POLICY_ENTERPRISE = "policies.enterprise"  # an enterprise's own matches, profile, inbox
    POLICY_MATCHES = "policies.matches"  # who qualifies; reading an enterprise profile
    DATA_CATALOG = "exchange.catalog"  # read the data catalog, request grants
    DATA_PUBLISH = "exchange.publish"  # publish datasets, load data, run quality
    DATA_GRANT = "exchange.grant"  # decide on grant requests for one's department's datasets
    SERVICE_TASKS = "onestop.tasks"  # a department's 一网通办 approval tasks and statistics
    RATINGS_HANDLE = "ratings.handle"  # a department's 好差评: ratings, callbacks, appeals
    RATINGS_REVIEW = "ratings.review"  # the rating authority: decide appeals (admin/supervision)
    CODETABLES_MANAGE = "core.codetables"  # import code-table versions, set their validity
    ADMIN_SITE = "admin.site"


CAPABILITIES: dict[str, frozenset[str]] = {
    Role.RESIDENT: frozenset({Cap.PORTAL}),
    Role.ENTERPRISE: frozenset({Cap.PORTAL, Cap.POLICY_ENTERPRISE}),
    Role.GRID_WORKER: frozenset(
        {Cap.CONSOLE, Cap.REGISTRY_VIEW, Cap.CASES_VIEW, Cap.RATINGS_HANDLE}
    ),
    Role.DEPT_STAFF: frozenset(
        {
            Cap.CONSOLE,
            Cap.REGISTRY_VIEW,
            Cap.CASES_VIEW,
            Cap.POLICY_EDIT,
            Cap.POLICY_MATCHES,
            Cap.DATA_CATALOG,
            Cap.DATA_PUBLISH,
            Cap.SERVICE_TASKS,
            Cap.RATINGS_HANDLE,
        }
    ),
    Role.DEPT_LEADER: frozenset(
        {
            Cap.CONSOLE,
            Cap.USERS_VIEW,
            Cap.UNMASK,
            Cap.REGISTRY_VIEW,
            Cap.CASES_VIEW,
            Cap.POLICY_EDIT,
            Cap.POLICY_REVIEW,
            Cap.POLICY_MATCHES,
            Cap.DATA_CATALOG,
            Cap.DATA_PUBLISH,
            Cap.DATA_GRANT,
            Cap.SERVICE_TASKS,
            Cap.RATINGS_HANDLE,
            Cap.RATINGS_REVIEW,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            Cap.CONSOLE,
            Cap.USERS_VIEW,
            Cap.UNMASK,
            Cap.REGISTRY_VIEW,
            Cap.CASES_VIEW,
            Cap.RATINGS_HANDLE,
        }
    ),
    Role.DATA_ADMIN: frozenset(
        {
            Cap.CONSOLE,
            Cap.REGISTRY_VIEW,
            Cap.REGISTRY_IMPORT,
            Cap.DATA_CATALOG,
            Cap.DATA_PUBLISH,
            Cap.RATINGS_HANDLE,
            Cap.RATINGS_REVIEW,
            Cap.CODETABLES_MANAGE,
        }
    ),
    Role.SYSADMIN: frozenset(
        {
            Cap.CONSOLE,
            Cap.USERS_VIEW,
            Cap.USERS_MANAGE,
            Cap.ORG_MANAGE,
            Cap.ADMIN_SITE,
            Cap.REGISTRY_IMPORT,
        }
    ),
    Role.SECADMIN: frozenset({Cap.CONSOLE, Cap.USERS_VIEW, Cap.SECURITY_MANAGE, Cap.ADMIN_SITE}),
    Role.AUDITADMIN: frozenset({Cap.CONSOLE, Cap.AUDIT_READ, Cap.AUDIT_VERIFY}),
}

# Django admin apps each admin role may touch (三权分立: nobody gets the audit tables).
ADMIN_APPS: dict[str, frozenset[str]] = {
    Role.SYSADMIN: frozenset(
        {"accounts", "cases", "onestop", "core.codetableversion", "core.industrycode"}
    ),
    Role.SECADMIN: frozenset({"axes", "otp_totp"}),
}


def capabilities(role: str) -> frozenset[str]:
    return CAPABILITIES.get(role, frozenset())
