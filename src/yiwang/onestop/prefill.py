"""What arrives already filled in, and which materials need not be provided (免提交).

Sources, named on each form field's ``prefill`` and each material's ``source``/``source_ref``:

- ``profile:<name>`` — the applicant's own account and registry entry (name, ID number, phone,
  home address, household number, enterprise name, credit code). Reading one's own data is
  not a disclosure, so it is not logged as an exchange.
- ``exchange:<dataset>.<field>`` — a department's shared dataset, read through the data
  exchange under the bundle's lead department's grant, one logged exchange message per
  dataset (``exchange.selectors.fetch_for_case``); no grant → the field stays empty and the
  refusal is logged there.
- materials from certificates: waived when the applicant holds a valid certificate of that type
  or when another matter of the same application issues it; from shared data: waived when the
  registry or the dataset holds a record of the applicant.

Every prefilled value is reported with its source label and as-of, so the form can show the
applicant which fields came from where.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.accounts.models import Department, User


@dataclass
class Prefill:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    denied: dict[str, str] = field(default_factory=dict)


PROFILE_LABELS = {
    "account": _("your account"),
    "registry": _("the population registry"),
    "enterprise": _("the enterprise registry"),
}


def subject_code(user: User) -> str:
    """The applicant's ID number, or the enterprise's credit code for an enterprise user."""
    return (user.credit_code or "") if user.role == "enterprise" else (user.id_number or "")


def _profile(user: User) -> dict[str, tuple[Any, str]]:
    from yiwang.registry.selectors import my_person

    out: dict[str, tuple[Any, str]] = {}
    if user.display_name:
        out["name"] = (user.display_name, "account")
    if user.id_number:
        out["id_number"] = (user.id_number, "account")
    if user.phone:
        out["phone"] = (user.phone, "account")
    if user.credit_code:
        out["credit_code"] = (user.credit_code, "account")
    if user.enterprise_name:
        out["enterprise_name"] = (user.enterprise_name, "account")
    person = my_person(user)
    if person is not None:
        out["name"] = (person.name, "registry")
        if person.household_no:
            out["household_no"] = (person.household_no, "registry")
        if person.home is not None and person.home.address:
            out["address"] = (person.home.address, "registry")
    if user.credit_code:
        from yiwang.registry.models import Organisation

        org = Organisation.objects.filter(credit_code=user.credit_code).first()
        if org is not None:
            out["enterprise_name"] = (org.name, "enterprise")
    return out


def prefill_form(
    user: User,
    fields: Iterable[Any],
    *,
    department: Department | None,
    purpose: str,
    ref: str,
) -> Prefill:
    """Values for ``fields`` (objects with ``key`` and ``prefill``)."""
    result = Prefill()
    wanted = [f for f in fields if f.prefill]
    if not wanted:
        return result
    profile = _profile(user) if any(f.prefill.startswith("profile:") for f in wanted) else {}
    now = timezone.now().isoformat()
    exchange_fields: dict[str, list[str]] = {}
    for f in wanted:
        kind, _sep, name = f.prefill.partition(":")
        if kind == "profile" and name in profile:
            value, source = profile[name]
            result.values[f.key] = value
            result.sources[f.key] = {
                "source": f.prefill,
                "label": str(PROFILE_LABELS[source]),
                "as_of": now,
            }
        elif kind == "exchange":
            exchange_fields.setdefault(name, []).append(f.key)
    code = subject_code(user)
    if exchange_fields and code and department is not None:
        from yiwang.exchange.selectors import dataset_titles, fetch_for_case

        got = fetch_for_case(
            None,
            code,
            list(exchange_fields),
            purpose,
            ref,
            department=department,
            user_label=user.get_username(),
        )
        titles = dataset_titles([n.rpartition(".")[0] for n in exchange_fields])
        for name, keys in exchange_fields.items():
            value = got.values.get(name)
            dataset = name.rpartition(".")[0]
            if dataset in got.denied:
                for key in keys:
                    result.denied[key] = got.denied[dataset]
                continue
            if value in (None, ""):
                continue
            for key in keys:
                result.values[key] = value
                result.sources[key] = {
                    "source": f"exchange:{name}",
                    "label": titles.get(dataset, dataset),
                    "as_of": now,
                }
    return result


@dataclass
class Waiver:
    waived: bool
    by: str = ""  # what stands in for the material


def certificate_waiver(user: User, type_code: str, issued_here: set[str]) -> Waiver:
    if type_code in issued_here:
        return Waiver(True, f"issued-in-application:{type_code}")
    if apps.is_installed("yiwang.certs"):
        from yiwang.certs.selectors import valid_certificate_of_type

        cert = valid_certificate_of_type(user, type_code)
        if cert is not None:
            return Waiver(True, f"certificate:{cert.identifier}")
    return Waiver(False)


def shared_waiver(user: User, source_ref: str) -> Waiver:
    from yiwang.registry.selectors import my_person

    if source_ref == "registry:person":
        return Waiver(my_person(user) is not None, "registry:person")
    if source_ref == "registry:organisation":
        if not user.credit_code:
            return Waiver(False)
        from yiwang.registry.models import Organisation

        held = Organisation.objects.filter(credit_code=user.credit_code).exists()
        return Waiver(held, "registry:organisation")
    if source_ref.startswith("exchange:"):
        from yiwang.exchange.selectors import dataset_has_subject

        dataset = source_ref.removeprefix("exchange:")
        code = subject_code(user)
        held = bool(code) and dataset_has_subject(dataset, code)
        return Waiver(held, source_ref)
    return Waiver(False)
