"""Navigation by capability: each later module adds its entries here."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.roles import Cap


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url_name: str
    capability: str


NAV: list[NavItem] = [
    NavItem("portal", _("Services"), "web:portal", Cap.PORTAL),
    NavItem("report", _("Report a problem"), "cases:report", Cap.PORTAL),
    NavItem("my_cases", _("My reports"), "cases:mine", Cap.PORTAL),
    NavItem("messages", _("Messages"), "cases:messages", Cap.PORTAL),
    NavItem("my_entry", _("My registry entry"), "registry:mine", Cap.PORTAL),
    NavItem("my_data", _("Who read my data"), "exchange:me", Cap.PORTAL),
    NavItem("service_guide", _("Service guide"), "onestop:guide", Cap.PORTAL),
    NavItem("my_applications", _("My applications"), "onestop:my_applications", Cap.PORTAL),
    NavItem("my_certs", _("My certificates"), "certs:wallet", Cap.PORTAL),
    NavItem("cert_verify", _("Verify a certificate"), "certs:verify", Cap.PORTAL),
    NavItem("my_ratings", _("My service ratings"), "ratings:mine", Cap.PORTAL),
    NavItem("policies", _("Policy library"), "policies:library", Cap.PORTAL),
    NavItem("my_policies", _("My policies"), "policies:my_matches", Cap.POLICY_ENTERPRISE),
    NavItem("console", _("Workbench"), "web:console", Cap.CONSOLE),
    NavItem("cases", _("Cases"), "cases:list", Cap.CASES_VIEW),
    NavItem("case_messages", _("Messages"), "cases:messages", Cap.CASES_VIEW),
    NavItem("case_stats", _("Case statistics"), "cases:statistics", Cap.CASES_VIEW),
    NavItem("grids", _("Grid map"), "grid:map", Cap.REGISTRY_VIEW),
    NavItem("registry", _("Registry"), "registry:index", Cap.REGISTRY_VIEW),
    NavItem("imports", _("Imports"), "registry_import:index", Cap.REGISTRY_IMPORT),
    NavItem("service_tasks", _("Service approvals"), "onestop:console_tasks", Cap.SERVICE_TASKS),
    NavItem("issued_certs", _("Issued certificates"), "certs:issued", Cap.SERVICE_TASKS),
    NavItem("ratings", _("Service ratings"), "ratings:console", Cap.RATINGS_HANDLE),
    NavItem("policy_console", _("Policy console"), "policies:console", Cap.POLICY_EDIT),
    NavItem("data_catalog", _("Data catalog"), "exchange:catalog", Cap.DATA_CATALOG),
    NavItem("grant_inbox", _("Grant requests"), "exchange:inbox", Cap.DATA_CATALOG),
    NavItem("exchange_log", _("Exchange log"), "exchange:log", Cap.DATA_CATALOG),
    NavItem("users", _("People and departments"), "web:users", Cap.USERS_VIEW),
    NavItem("audit", _("Audit log"), "web:audit", Cap.AUDIT_READ),
    NavItem("security", _("Security"), "web:security", Cap.SECURITY_MANAGE),
    NavItem("admin", _("Configuration"), "admin:index", Cap.ADMIN_SITE),
]


def items_for(user: object) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [i for i in NAV if user.can(i.capability)]  # type: ignore[attr-defined]
