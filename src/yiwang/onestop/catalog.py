"""The matter catalog from YAML (``content/matters.yaml``, ``content/bundles.yaml``) and the
catalog edit actions shared by the loader and the admin.

``load_catalog`` validates everything first and loads nothing when there is any problem (every
problem is reported with its file, entry and field); otherwise it upserts by code, idempotently:
a second run changes nothing, and a changed implementation gets a new version with a snapshot
(``ImplementationVersion``). See docs/onestop-catalog.md.

``python -m yiwang.onestop.catalog check [--path DIR] [--prefix 330106-]`` validates the content.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

CONTENT_DIR = Path(__file__).parent / "content"
MATTERS_FILE = "matters.yaml"
BUNDLES_FILE = "bundles.yaml"

#: certificate type codes defined by the ``certs`` app (used verbatim)
CERTIFICATE_TYPES = {
    "business_licence": "营业执照",
    "food_business_permit": "食品经营许可证",
    "signboard_permit": "户外招牌设置许可",
    "fire_safety_commitment": "公众聚集场所投入使用营业前消防安全检查合格证",
    "birth_certificate": "出生医学证明",
    "household_registration": "户口登记证明",
    "social_security_card": "社会保障卡",
}


def certificate_types() -> dict[str, str]:
    """The certificate type codes a catalog may name: the ones above and every active type
    of the ``certs`` app (code → name)."""
    out = dict(CERTIFICATE_TYPES)
    from django.apps import apps
    from django.db import DatabaseError

    if apps.is_installed("yiwang.certs"):
        # imported by name: the certs app is optional here
        certs: Any = importlib.import_module("yiwang.certs.models")
        # no database (the command-line check without one): the codes above only
        with contextlib.suppress(DatabaseError):
            types = certs.CertificateType.objects.filter(active=True)
            out.update(types.values_list("code", "name"))
    return out


#: where a form field may be prefilled from (besides ``exchange:<dataset>.<column>``)
PROFILE_SOURCES = {
    "profile:name",
    "profile:id_number",
    "profile:phone",
    "profile:address",
    "profile:household_no",
    "profile:enterprise_name",
    "profile:credit_code",
}
REGISTRY_SOURCES = {"registry:person", "registry:organisation"}
FORMATS = {"pdf", "ofd", "jpg", "jpeg", "png"}
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def _record(event: str, **kw: Any) -> Any:
    from yiwang.core import audit

    return audit.record(event, **kw)


# --- report ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry}" + (f" · {self.field}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass
class CatalogReport:
    problems: list[Problem] = field(default_factory=list)
    matters_created: int = 0
    matters_updated: int = 0
    implementations_created: int = 0
    implementations_versioned: int = 0
    bundles_created: int = 0
    bundles_updated: int = 0
    kept_materials: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changed(self) -> int:
        return (
            self.matters_created
            + self.matters_updated
            + self.implementations_created
            + self.implementations_versioned
            + self.bundles_created
            + self.bundles_updated
        )

    def summary(self) -> str:
        if self.problems:
            return f"{len(self.problems)} problems; nothing loaded"
        return (
            f"matters +{self.matters_created} ~{self.matters_updated}, implementations "
            f"+{self.implementations_created} new versions {self.implementations_versioned}, "
            f"bundles +{self.bundles_created} ~{self.bundles_updated}"
        )


# --- snapshots and the save action ---------------------------------------------------------------
def _fee(value: Any) -> str:
    return f"{Decimal(value or 0):.2f}"


def snapshot_implementation(impl: Any) -> dict[str, Any]:
    """Every implementation-list field and the materials, as plain JSON (no version, no dates):
    what an application filed under this version was promised."""
    return {
        "code": impl.code,
        "matter": impl.matter.catalog_code,
        "matter_name": impl.matter.name,
        "department": impl.department.code,
        "accept_conditions": impl.accept_conditions,
        "legal_limit": impl.legal_limit,
        "legal_limit_unit": impl.legal_limit_unit,
        "promised_limit": impl.promised_limit,
        "visits_required": impl.visits_required,
        "fee_yuan": _fee(impl.fee_yuan),
        "fee_basis": impl.fee_basis,
        "flow": impl.flow,
        "online_depth": int(impl.online_depth),
        "service_area": impl.service_area,
        "co_departments": sorted(d.code for d in impl.co_departments.all()) if impl.pk else [],
        "result_type": impl.result_type,
        "result_name": impl.result_name,
        "certificate_type": impl.certificate_type,
        "certificate_fields": dict(impl.certificate_fields or {}),
        "guide_notes": impl.guide_notes,
        "window_address": impl.window_address,
        "phone": impl.phone,
        "active": impl.active,
        "materials": [_material_snapshot(m) for m in impl.materials.order_by("order", "key")]
        if impl.pk
        else [],
    }


def _material_snapshot(m: Any) -> dict[str, Any]:
    return {
        "key": m.key,
        "name": m.name,
        "required": m.required,
        "deferrable": m.deferrable,
        "formats": list(m.formats or []),
        "max_size_kb": m.max_size_kb,
        "source": m.source,
        "source_ref": m.source_ref,
        "sample": m.sample,
        "acceptance_standard": m.acceptance_standard,
        "applies_when": m.applies_when,
        "order": m.order,
    }


def do_save_implementation(*, actor: Any, implementation: Any, note: str = "") -> Any:
    """Save the implementation (its materials already saved) and, when anything differs from
    the latest version's snapshot, make the next version: bump ``version`` and write an
    ``ImplementationVersion``. Returns the new version row, or ``None`` when nothing changed."""
    from yiwang.onestop.models import Implementation, ImplementationVersion

    with transaction.atomic():
        if implementation.pk is None:
            implementation.save()
        else:
            # lock the row so two editors cannot both make version N+1
            Implementation.objects.select_for_update().filter(pk=implementation.pk).first()
            implementation.save()
        snap = snapshot_implementation(implementation)
        last = implementation.versions.order_by("-number").first()
        if last is not None and last.snapshot == snap:
            return None
        number = last.number + 1 if last else max(int(implementation.version or 1), 1)
        implementation.version = number
        Implementation.objects.filter(pk=implementation.pk).update(version=number)
        try:
            with transaction.atomic():
                row = ImplementationVersion.objects.create(
                    implementation=implementation,
                    number=number,
                    snapshot=snap,
                    note=note[:300],
                    changed_by=actor if getattr(actor, "pk", None) else None,
                )
        except IntegrityError as exc:  # a concurrent save took the number
            raise ValueError("the implementation was changed concurrently; try again") from exc
        _record(
            "onestop.implementation_saved",
            actor=actor if getattr(actor, "pk", None) else None,
            obj=implementation,
            purpose="matter catalog maintenance",
            detail={"code": implementation.code, "version": number, "note": note[:100]},
        )
        return row


def bundle_snapshot(bundle: Any) -> dict[str, Any]:
    """The bundle, its questions, items and form, as plain JSON (for change detection)."""
    return {
        "name": bundle.name,
        "name_en": bundle.name_en,
        "audience": bundle.audience,
        "theme": bundle.theme,
        "summary": bundle.summary,
        "completion": bundle.completion,
        "lead": bundle.lead_department.code,
        "promised_days": bundle.promised_days,
        "status": bundle.status,
        "order": bundle.order,
        "questions": [
            {
                "key": q.key,
                "text": q.text,
                "text_en": q.text_en,
                "help": q.help,
                "kind": q.kind,
                "choices": q.choices,
                "shown_when": q.shown_when,
                "order": q.order,
            }
            for q in bundle.questions.order_by("order", "key")
        ],
        "items": [
            {
                "implementation": i.implementation.code,
                "applies_when": i.applies_when,
                "stage": i.stage,
                "order": i.order,
            }
            for i in bundle.items.select_related("implementation").order_by("order", "id")
        ],
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "label_en": f.label_en,
                "kind": f.kind,
                "required": f.required,
                "choices": f.choices,
                "max_length": f.max_length,
                "prefill": f.prefill,
                "applies_when": f.applies_when,
                "personal": f.personal,
                "order": f.order,
            }
            for f in bundle.fields.order_by("order", "key")
        ],
    }


def do_touch_bundle(*, actor: Any, bundle: Any, note: str = "") -> None:
    """Record a changed bundle: the next version and an audit record."""
    from yiwang.onestop.models import Bundle

    with transaction.atomic():
        Bundle.objects.select_for_update().filter(pk=bundle.pk).first()
        bundle.version = int(bundle.version or 0) + 1
        Bundle.objects.filter(pk=bundle.pk).update(version=bundle.version)
        _record(
            "onestop.bundle_saved",
            actor=actor if getattr(actor, "pk", None) else None,
            obj=bundle,
            purpose="matter catalog maintenance",
            detail={"code": bundle.code, "version": bundle.version, "note": note[:100]},
        )


# --- reading and validating ----------------------------------------------------------------------
@dataclass
class _Datasets:
    columns: dict[str, set[str]] = field(default_factory=dict)
    by_credit_code: set[str] = field(default_factory=set)


def known_datasets() -> _Datasets:
    """The exchange's datasets (in the database, and the demo's specs) with their columns."""
    out = _Datasets()

    def add(code: str, schema: Mapping[str, Any], subject_field: str) -> None:
        cols = {f.get("name", "") for f in (schema or {}).get("fields", [])}
        out.columns.setdefault(code, set()).update(cols)
        if (subject_field or "credit_code") == "credit_code" and "credit_code" in cols:
            out.by_credit_code.add(code)

    try:
        from yiwang.exchange.demo import DATASETS

        for spec in DATASETS:
            add(spec["code"], spec["schema"], spec.get("subject_field", "credit_code"))
    except ImportError:  # pragma: no cover - the exchange app is part of the platform
        pass
    from django.db import DatabaseError

    from yiwang.exchange.models import Dataset

    try:
        rows = list(Dataset.objects.values_list("code", "schema", "subject_field"))
    except DatabaseError:  # no database (the command-line check without one)
        rows = []
    for code, schema, subject in rows:
        add(code, schema, subject)
    return out


def read_content(path: Path | str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    import yaml

    base = Path(path) if path else CONTENT_DIR
    out = []
    for name in (MATTERS_FILE, BUNDLES_FILE):
        with open(base / name, encoding="utf-8") as fh:
            out.append(yaml.safe_load(fh) or {})
    return out[0], out[1]


class _Checker:
    def __init__(self, departments: set[str] | None, datasets: _Datasets) -> None:
        self.problems: list[Problem] = []
        self.departments = departments
        self.datasets = datasets
        self.cert_types = certificate_types()

    def add(self, file: str, entry: str, fld: str, message: str) -> None:
        self.problems.append(Problem(file, entry, fld, message))

    # generic field checks; each returns the clean value (or the default on a problem)
    def text(
        self, file: str, entry: str, data: Mapping[str, Any], key: str, *, required: bool = False
    ) -> str:
        value = data.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str | int):
            self.add(file, entry, key, "must be text")
            return ""
        text = str(value).strip()
        if required and not text:
            self.add(file, entry, key, "is required")
        return text

    def number(
        self,
        file: str,
        entry: str,
        data: Mapping[str, Any],
        key: str,
        default: int,
        *,
        minimum: int = 0,
    ) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.add(file, entry, key, f"must be a whole number ≥ {minimum} (got {value!r})")
            return default
        return value

    def flag(self, file: str, entry: str, data: Mapping[str, Any], key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.add(file, entry, key, f"must be true or false (got {value!r})")
            return default
        return value

    def choice(
        self,
        file: str,
        entry: str,
        data: Mapping[str, Any],
        key: str,
        allowed: Iterable[Any],
        default: Any = None,
    ) -> Any:
        allowed = list(allowed)
        value = data.get(key, default)
        if value not in allowed:
            shown = ", ".join(str(a) for a in allowed)
            self.add(file, entry, key, f"{value!r} is not one of: {shown}")
            return default if default in allowed else allowed[0]
        return value

    def unknown_keys(
        self, file: str, entry: str, data: Mapping[str, Any], known: Iterable[str]
    ) -> None:
        for k in sorted(set(data) - set(known)):
            self.add(file, entry, str(k), "unknown field")

    def department(self, file: str, entry: str, key: str, suffix: Any) -> str:
        if not isinstance(suffix, str) or not suffix:
            self.add(file, entry, key, "a department code is required")
            return ""
        if self.departments is not None and suffix not in self.departments:
            self.add(file, entry, key, f"unknown department {suffix!r}")
        return suffix

    def condition(
        self, file: str, entry: str, key: str, expr: Any, questions: list[Any], where: str = ""
    ) -> str:
        from yiwang.onestop.situations import condition_errors

        if expr is None or expr == "":
            return ""
        if isinstance(expr, bool):
            self.add(file, entry, key, "a condition must be an expression, not true/false")
            return ""
        text = str(expr)
        for err in condition_errors(text, questions):
            self.add(file, entry, key, f"{err}{where}")
        return text


MATTER_KEYS = {
    "catalog_code",
    "name",
    "name_en",
    "type",
    "level",
    "legal_basis",
    "implementations",
}
IMPL_KEYS = {
    "code",
    "department",
    "accept_conditions",
    "legal_limit",
    "legal_limit_unit",
    "promised_limit",
    "visits_required",
    "fee_yuan",
    "fee_basis",
    "flow",
    "online_depth",
    "service_area",
    "co_departments",
    "result_type",
    "result_name",
    "certificate_type",
    "certificate_fields",
    "guide_notes",
    "window_address",
    "phone",
    "active",
    "materials",
}
MATERIAL_KEYS = {
    "key",
    "name",
    "required",
    "deferrable",
    "formats",
    "max_size_kb",
    "source",
    "source_ref",
    "sample",
    "acceptance_standard",
    "applies_when",
}
BUNDLE_KEYS = {
    "code",
    "name",
    "name_en",
    "audience",
    "theme",
    "lead",
    "completion",
    "promised_days",
    "status",
    "order",
    "summary",
    "questions",
    "items",
    "fields",
}
QUESTION_KEYS = {"key", "text", "text_en", "help", "kind", "choices", "shown_when"}
ITEM_KEYS = {"implementation", "applies_when", "stage"}
FIELD_KEYS = {
    "key",
    "label",
    "label_en",
    "kind",
    "required",
    "choices",
    "max_length",
    "prefill",
    "applies_when",
    "personal",
}


@dataclass
class Plan:
    """The validated content, ready to load."""

    matters: list[dict[str, Any]] = field(default_factory=list)
    implementations: list[dict[str, Any]] = field(default_factory=list)
    bundles: list[dict[str, Any]] = field(default_factory=list)


def _list(c: _Checker, file: str, entry: str, data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        c.add(file, entry, key, "must be a list")
        return []
    return value


def _choices(c: _Checker, file: str, entry: str, raw: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    if not isinstance(raw, list) or not raw:
        c.add(file, entry, "choices", "a list of {value, label} is required")
        return out
    seen: set[str] = set()
    for i, ch in enumerate(raw):
        if not isinstance(ch, dict) or not ch.get("value") or not ch.get("label"):
            c.add(file, entry, f"choices[{i}]", "needs a value and a label")
            continue
        value = str(ch["value"])
        if value in seen:
            c.add(file, entry, f"choices[{i}]", f"duplicate value {value!r}")
        seen.add(value)
        out.append(
            {"value": value, "label": str(ch["label"]), "label_en": str(ch.get("label_en", ""))}
        )
    return out


def _check_material(
    c: _Checker, entry: str, i: int, m: Any, seen: set[str]
) -> dict[str, Any] | None:
    f = MATTERS_FILE
    if not isinstance(m, dict):
        c.add(f, f"{entry} / materials[{i}]", "", "must be a mapping")
        return None
    key = str(m.get("key") or "")
    ent = f"{entry} / materials[{i}] {key}"
    c.unknown_keys(f, ent, m, MATERIAL_KEYS)
    if not key or not _SLUG.match(key):
        c.add(f, ent, "key", "a key of letters, digits, - and _ is required")
    elif key in seen:
        c.add(f, ent, "key", f"duplicate material key {key!r}")
    seen.add(key)
    source = c.choice(f, ent, m, "source", ["applicant", "government", "certificate", "shared"])
    ref = c.text(f, ent, m, "source_ref")
    formats = m.get("formats", [])
    if not isinstance(formats, list) or any(not isinstance(x, str) for x in formats):
        c.add(f, ent, "formats", "must be a list of file types")
        formats = []
    bad = [x for x in formats if x.lower() not in FORMATS]
    if bad:
        c.add(f, ent, "formats", f"unknown format(s) {', '.join(bad)} (use {sorted(FORMATS)})")
    formats = [x.lower() for x in formats]
    if source == "applicant" and not formats:
        c.add(f, ent, "formats", "a material the applicant uploads needs its accepted formats")
    if source == "certificate" and ref not in c.cert_types:
        c.add(f, ent, "source_ref", f"{ref!r} is not a certificate type code")
    if source == "government" and ref and ref not in c.cert_types:
        c.add(f, ent, "source_ref", f"{ref!r} is not a certificate type code")
    if source == "shared":
        if ref.startswith("exchange:"):
            ds = ref.removeprefix("exchange:").split(".", 1)[0]
            if ds not in c.datasets.columns:
                c.add(f, ent, "source_ref", f"unknown exchange dataset {ds!r}")
        elif ref not in REGISTRY_SOURCES:
            c.add(
                f,
                ent,
                "source_ref",
                f"{ref!r}: use registry:person, registry:organisation or exchange:<dataset>",
            )
    if source == "applicant" and ref:
        c.add(f, ent, "source_ref", "only shared, certificate or government materials have one")
    return {
        "key": key,
        "name": c.text(f, ent, m, "name", required=True),
        "required": c.flag(f, ent, m, "required", True),
        "deferrable": c.flag(f, ent, m, "deferrable", False),
        "formats": formats,
        "max_size_kb": c.number(f, ent, m, "max_size_kb", 10240, minimum=1),
        "source": source,
        "source_ref": ref,
        "sample": c.text(f, ent, m, "sample"),
        "acceptance_standard": c.text(f, ent, m, "acceptance_standard"),
        "applies_when": m.get("applies_when") or "",
        "order": i,
        "_entry": ent,
    }


def _check_implementation(
    c: _Checker, mentry: str, matter_code: str, i: int, d: Any, seen: set[str]
) -> dict[str, Any] | None:
    from yiwang.onestop.models import (
        LimitUnit,
        OnlineDepth,
        ResultType,
        ServiceArea,
    )

    f = MATTERS_FILE
    if not isinstance(d, dict):
        c.add(f, f"{mentry} / implementations[{i}]", "", "must be a mapping")
        return None
    code = str(d.get("code") or "")
    ent = f"{mentry} / {code or f'implementations[{i}]'}"
    c.unknown_keys(f, ent, d, IMPL_KEYS)
    if not code or not _SLUG.match(code):
        c.add(f, ent, "code", "an implementation code of letters, digits, - and _ is required")
    elif code in seen:
        c.add(f, ent, "code", f"duplicate implementation code {code!r}")
    seen.add(code)
    out: dict[str, Any] = {"code": code, "matter": matter_code, "_entry": ent}
    out["department"] = c.department(f, ent, "department", d.get("department"))
    co = _list(c, f, ent, d, "co_departments")
    out["co_departments"] = [c.department(f, ent, "co_departments", x) for x in co]
    for key in ("accept_conditions", "fee_basis", "flow", "result_name", "guide_notes"):
        out[key] = c.text(f, ent, d, key)
    out["window_address"] = c.text(f, ent, d, "window_address")
    out["phone"] = c.text(f, ent, d, "phone")
    out["legal_limit"] = c.number(f, ent, d, "legal_limit", 20, minimum=1)
    out["legal_limit_unit"] = c.choice(
        f, ent, d, "legal_limit_unit", LimitUnit.values, LimitUnit.WORKING_DAYS.value
    )
    out["promised_limit"] = c.number(f, ent, d, "promised_limit", 5, minimum=0)
    if out["promised_limit"] > out["legal_limit"]:
        c.add(f, ent, "promised_limit", "the promised limit is longer than the legal limit")
    out["visits_required"] = c.number(f, ent, d, "visits_required", 0)
    out["online_depth"] = c.choice(f, ent, d, "online_depth", OnlineDepth.values, 4)
    if out["visits_required"] == 0 and out["online_depth"] != OnlineDepth.FULL:
        c.add(f, ent, "online_depth", "zero visits means entirely online (online_depth 4)")
    if out["visits_required"] > 0 and out["online_depth"] == OnlineDepth.FULL:
        c.add(f, ent, "visits_required", "online_depth 4 (entirely online) means zero visits")
    out["service_area"] = c.choice(
        f, ent, d, "service_area", ServiceArea.values, ServiceArea.DISTRICT.value
    )
    out["result_type"] = c.choice(
        f, ent, d, "result_type", ResultType.values, ResultType.CERTIFICATE.value
    )
    try:
        fee = Decimal(str(d.get("fee_yuan", 0)))
        if fee < 0 or fee != fee.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        c.add(f, ent, "fee_yuan", f"must be an amount in yuan ≥ 0 (got {d.get('fee_yuan')!r})")
        fee = Decimal(0)
    out["fee_yuan"] = fee
    if fee > 0 and not out["fee_basis"]:
        c.add(f, ent, "fee_basis", "a fee needs its basis")
    cert = c.text(f, ent, d, "certificate_type")
    if cert and cert not in c.cert_types:
        c.add(f, ent, "certificate_type", f"{cert!r} is not a certificate type code")
    out["certificate_type"] = cert
    cf = d.get("certificate_fields") or {}
    if not isinstance(cf, dict) or any(
        not isinstance(k, str) or not isinstance(v, str) or not v for k, v in cf.items()
    ):
        c.add(f, ent, "certificate_fields", "must map form field keys to certificate data keys")
        cf = {}
    if cf and not cert:
        c.add(f, ent, "certificate_fields", "certificate fields without a certificate_type")
    out["certificate_fields"] = dict(cf)
    out["active"] = c.flag(f, ent, d, "active", True)
    materials: list[dict[str, Any]] = []
    mseen: set[str] = set()
    for j, m in enumerate(_list(c, f, ent, d, "materials")):
        row = _check_material(c, ent, j, m, mseen)
        if row:
            materials.append(row)
    out["materials"] = materials
    return out


def validate(
    matters_doc: Any,
    bundles_doc: Any,
    *,
    departments: set[str] | None,
    datasets: _Datasets | None = None,
) -> tuple[Plan, list[Problem]]:
    """Check the content; ``departments`` are the known suffixes (``None``: not checked)."""
    from yiwang.onestop.models import (
        Audience,
        BundleStatus,
        Completion,
        ExercisingLevel,
        FieldKind,
        MatterType,
        QuestionKind,
    )
    from yiwang.onestop.situations import Question

    c = _Checker(departments, datasets or known_datasets())
    plan = Plan()
    f = MATTERS_FILE
    if not isinstance(matters_doc, dict) or not isinstance(matters_doc.get("matters"), list):
        c.add(f, "(file)", "matters", "the file needs a list under 'matters'")
        matters_doc = {"matters": []}
    codes: set[str] = set()
    impl_codes: set[str] = set()
    for i, d in enumerate(matters_doc["matters"]):
        if not isinstance(d, dict):
            c.add(f, f"matters[{i}]", "", "must be a mapping")
            continue
        code = str(d.get("catalog_code") or "")
        ent = f"matters[{i}] {code}"
        c.unknown_keys(f, ent, d, MATTER_KEYS)
        if not code:
            c.add(f, ent, "catalog_code", "is required")
        elif code in codes:
            c.add(f, ent, "catalog_code", f"duplicate catalog code {code!r}")
        codes.add(code)
        plan.matters.append(
            {
                "catalog_code": code,
                "name": c.text(f, ent, d, "name", required=True),
                "name_en": c.text(f, ent, d, "name_en"),
                "matter_type": c.choice(f, ent, d, "type", MatterType.values),
                "legal_basis": c.text(f, ent, d, "legal_basis", required=True),
                "exercising_level": c.choice(f, ent, d, "level", ExercisingLevel.values),
            }
        )
        impls = _list(c, f, ent, d, "implementations")
        if not impls:
            c.add(f, ent, "implementations", "a matter needs at least one implementation")
        for j, im in enumerate(impls):
            row = _check_implementation(c, ent, code, j, im, impl_codes)
            if row:
                plan.implementations.append(row)
    impl_by_code = {im["code"]: im for im in plan.implementations}
    #: implementation code -> [(bundle entry, questions, form keys)]
    used_in: dict[str, list[tuple[str, list[Question], set[str]]]] = {}

    f = BUNDLES_FILE
    if not isinstance(bundles_doc, dict) or not isinstance(bundles_doc.get("bundles"), list):
        c.add(f, "(file)", "bundles", "the file needs a list under 'bundles'")
        bundles_doc = {"bundles": []}
    bcodes: set[str] = set()
    for i, d in enumerate(bundles_doc["bundles"]):
        if not isinstance(d, dict):
            c.add(f, f"bundles[{i}]", "", "must be a mapping")
            continue
        code = str(d.get("code") or "")
        ent = f"bundles[{i}] {code}"
        c.unknown_keys(f, ent, d, BUNDLE_KEYS)
        if not code or not _SLUG.match(code):
            c.add(f, ent, "code", "a code of letters, digits, - and _ is required")
        elif code in bcodes:
            c.add(f, ent, "code", f"duplicate bundle code {code!r}")
        bcodes.add(code)
        b: dict[str, Any] = {
            "code": code,
            "name": c.text(f, ent, d, "name", required=True),
            "name_en": c.text(f, ent, d, "name_en"),
            "audience": c.choice(f, ent, d, "audience", Audience.values),
            "theme": c.text(f, ent, d, "theme"),
            "summary": c.text(f, ent, d, "summary"),
            "completion": c.choice(f, ent, d, "completion", Completion.values, "all"),
            "lead": c.department(f, ent, "lead", d.get("lead")),
            "promised_days": c.number(f, ent, d, "promised_days", 5, minimum=1),
            "status": c.choice(f, ent, d, "status", BundleStatus.values, "draft"),
            "order": c.number(f, ent, d, "order", i),
        }
        # questions first: every condition of the bundle is checked against them
        questions: list[Question] = []
        qrows: list[dict[str, Any]] = []
        qseen: set[str] = set()
        for j, q in enumerate(_list(c, f, ent, d, "questions")):
            if not isinstance(q, dict):
                c.add(f, f"{ent} / questions[{j}]", "", "must be a mapping")
                continue
            key = str(q.get("key") or "")
            qent = f"{ent} / questions[{j}] {key}"
            c.unknown_keys(f, qent, q, QUESTION_KEYS)
            if not key or not re.match(r"^[a-z_][a-z0-9_]*$", key):
                c.add(f, qent, "key", "a key of lower-case letters, digits and _ is required")
            elif key in qseen:
                c.add(f, qent, "key", f"duplicate question key {key!r}")
            qseen.add(key)
            kind = c.choice(f, qent, q, "kind", QuestionKind.values)
            choices = _choices(c, f, qent, q.get("choices")) if kind == "enum" else []
            if kind != "enum" and q.get("choices"):
                c.add(f, qent, "choices", "only enum questions have choices")
            row = {
                "key": key,
                "text": c.text(f, qent, q, "text", required=True),
                "text_en": c.text(f, qent, q, "text_en"),
                "help": c.text(f, qent, q, "help"),
                "kind": kind,
                "choices": choices,
                "shown_when": q.get("shown_when") or "",
                "order": j,
                "_entry": qent,
            }
            qrows.append(row)
            questions.append(
                Question(
                    key=key,
                    text=row["text"],
                    kind=kind,
                    choices=tuple(ch["value"] for ch in choices),
                    text_en=row["text_en"],
                )
            )
        for row in qrows:
            row["shown_when"] = c.condition(
                f, row["_entry"], "shown_when", row["shown_when"], questions
            )
        b["questions"] = qrows
        # the form
        frows: list[dict[str, Any]] = []
        fseen: set[str] = set()
        for j, fd in enumerate(_list(c, f, ent, d, "fields")):
            if not isinstance(fd, dict):
                c.add(f, f"{ent} / fields[{j}]", "", "must be a mapping")
                continue
            key = str(fd.get("key") or "")
            fent = f"{ent} / fields[{j}] {key}"
            c.unknown_keys(f, fent, fd, FIELD_KEYS)
            if not key or not _SLUG.match(key):
                c.add(f, fent, "key", "a key of letters, digits, - and _ is required")
            elif key in fseen:
                c.add(f, fent, "key", f"duplicate form field key {key!r}")
            fseen.add(key)
            kind = c.choice(f, fent, fd, "kind", FieldKind.values)
            choices = _choices(c, f, fent, fd.get("choices")) if kind == "choice" else []
            prefill = c.text(f, fent, fd, "prefill")
            if prefill:
                _check_prefill(c, fent, prefill)
            frows.append(
                {
                    "key": key,
                    "label": c.text(f, fent, fd, "label", required=True),
                    "label_en": c.text(f, fent, fd, "label_en"),
                    "kind": kind,
                    "required": c.flag(f, fent, fd, "required", True),
                    "choices": choices,
                    "max_length": c.number(f, fent, fd, "max_length", 200, minimum=1),
                    "prefill": prefill,
                    "applies_when": c.condition(
                        f, fent, "applies_when", fd.get("applies_when"), questions
                    ),
                    "personal": c.flag(f, fent, fd, "personal", False),
                    "order": j,
                }
            )
        b["fields"] = frows
        # the items
        irows: list[dict[str, Any]] = []
        iseen: set[str] = set()
        for j, it in enumerate(_list(c, f, ent, d, "items")):
            if not isinstance(it, dict):
                c.add(f, f"{ent} / items[{j}]", "", "must be a mapping")
                continue
            impl = str(it.get("implementation") or "")
            ient = f"{ent} / items[{j}] {impl}"
            c.unknown_keys(f, ient, it, ITEM_KEYS)
            if impl not in impl_by_code:
                c.add(f, ient, "implementation", f"unknown implementation {impl!r}")
            elif impl in iseen:
                c.add(f, ient, "implementation", f"{impl!r} is already an item of this bundle")
            else:
                used_in.setdefault(impl, []).append((ent, questions, fseen))
            iseen.add(impl)
            irows.append(
                {
                    "implementation": impl,
                    "applies_when": c.condition(
                        f, ient, "applies_when", it.get("applies_when"), questions
                    ),
                    "stage": c.number(f, ient, it, "stage", 1, minimum=1),
                    "order": j,
                }
            )
        if not irows:
            c.add(f, ent, "items", "a bundle needs at least one item")
        b["items"] = irows
        plan.bundles.append(b)

    # what depends on the bundles an implementation is in: material conditions and the
    # form fields its certificate is filled from
    for im in plan.implementations:
        bundles = used_in.get(im["code"], [])
        for bent, _questions, form_keys in bundles:
            for key in im["certificate_fields"]:
                if key not in form_keys:
                    c.add(
                        MATTERS_FILE,
                        im["_entry"],
                        "certificate_fields",
                        f"{key!r} is not a field of the form of {bent}",
                    )
        for m in im["materials"]:
            expr = m["applies_when"]
            if not expr:
                continue
            if not bundles:
                c.add(
                    MATTERS_FILE,
                    m["_entry"],
                    "applies_when",
                    "a condition on a material of an implementation that is in no bundle",
                )
                m["applies_when"] = str(expr)
                continue
            for bent, questions, _keys in bundles:
                m["applies_when"] = c.condition(
                    MATTERS_FILE, m["_entry"], "applies_when", expr, questions, f" (in {bent})"
                )
    return plan, c.problems


def _check_prefill(c: _Checker, entry: str, prefill: str) -> None:
    f = BUNDLES_FILE
    if prefill.startswith("profile:"):
        if prefill not in PROFILE_SOURCES:
            c.add(f, entry, "prefill", f"unknown profile source {prefill!r}")
        return
    if prefill.startswith("exchange:"):
        ds, _dot, col = prefill.removeprefix("exchange:").partition(".")
        if ds not in c.datasets.columns:
            c.add(f, entry, "prefill", f"unknown exchange dataset {ds!r}")
        elif ds not in c.datasets.by_credit_code:
            c.add(f, entry, "prefill", f"dataset {ds!r} is not keyed by credit_code")
        elif col not in c.datasets.columns[ds]:
            c.add(f, entry, "prefill", f"dataset {ds!r} has no column {col!r}")
        return
    c.add(f, entry, "prefill", f"{prefill!r}: use profile:<name> or exchange:<dataset>.<column>")


# --- loading --------------------------------------------------------------------------------------
def _department_map(prefix: str) -> dict[str, Any]:
    from yiwang.accounts.models import Department

    return {
        d.code.removeprefix(prefix): d for d in Department.objects.filter(code__startswith=prefix)
    }


def check_catalog(
    *, department_prefix: str | None = None, path: Path | str | None = None
) -> CatalogReport:
    """Validate only (``department_prefix`` None: departments not checked)."""
    matters_doc, bundles_doc = read_content(path)
    departments = set(_department_map(department_prefix)) if department_prefix else None
    _plan, problems = validate(matters_doc, bundles_doc, departments=departments)
    return CatalogReport(problems=problems)


def load_catalog(
    *, department_prefix: str, actor: Any = None, path: Path | str | None = None
) -> CatalogReport:
    """Validate the content and, when it is clean, upsert it for the district whose department
    codes start with ``department_prefix`` (e.g. ``"330106-"``). Nothing is loaded when there
    is any problem; every problem is in the report."""
    report = CatalogReport()
    import yaml

    try:
        matters_doc, bundles_doc = read_content(path)
    except (OSError, yaml.YAMLError) as exc:  # a YAML syntax error names its line
        report.problems.append(Problem(str(path or CONTENT_DIR), "(file)", "", str(exc)))
        return report
    depts = _department_map(department_prefix)
    plan, problems = validate(matters_doc, bundles_doc, departments=set(depts))
    if problems:
        report.problems = problems
        return report
    with transaction.atomic():
        _load(plan, depts, department_prefix, actor, report)
        if report.changed:
            _record(
                "onestop.catalog_loaded",
                actor=actor if getattr(actor, "pk", None) else None,
                object_type="onestop.catalog",
                object_id=department_prefix,
                purpose="matter catalog maintenance",
                detail={
                    "matters": report.matters_created + report.matters_updated,
                    "implementation_versions": report.implementations_versioned,
                    "bundles": report.bundles_created + report.bundles_updated,
                },
            )
    return report


def _load(
    plan: Plan, depts: dict[str, Any], prefix: str, actor: Any, report: CatalogReport
) -> None:
    from yiwang.onestop.models import (
        Bundle,
        BundleItem,
        FormField,
        Implementation,
        Material,
        Matter,
        SituationQuestion,
    )

    matters: dict[str, Matter] = {}
    for m in plan.matters:
        row = Matter.objects.filter(catalog_code=m["catalog_code"]).first()
        if row is None:
            row = Matter.objects.create(**m)
            report.matters_created += 1
        elif any(getattr(row, k) != v for k, v in m.items()):
            for k, v in m.items():
                setattr(row, k, v)
            row.save()
            report.matters_updated += 1
        matters[m["catalog_code"]] = row

    impls: dict[str, Implementation] = {}
    simple = [
        "accept_conditions",
        "legal_limit",
        "legal_limit_unit",
        "promised_limit",
        "visits_required",
        "fee_yuan",
        "fee_basis",
        "flow",
        "online_depth",
        "service_area",
        "result_type",
        "result_name",
        "certificate_type",
        "certificate_fields",
        "guide_notes",
        "window_address",
        "phone",
        "active",
    ]
    for d in plan.implementations:
        code = prefix + d["code"]
        impl = Implementation.objects.filter(code=code).first()
        created = impl is None
        if impl is None:
            impl = Implementation(code=code)
        impl.matter = matters[d["matter"]]
        impl.department = depts[d["department"]]
        for k in simple:
            setattr(impl, k, d[k])
        if created:
            impl.version = 1
        impl.save()
        impl.co_departments.set([depts[s] for s in d["co_departments"]])
        keep: set[str] = set()
        for m in d["materials"]:
            values = {k: v for k, v in m.items() if k not in {"key", "_entry"}}
            Material.objects.update_or_create(implementation=impl, key=m["key"], defaults=values)
            keep.add(m["key"])
        for gone in impl.materials.exclude(key__in=keep):
            try:
                with transaction.atomic():
                    gone.delete()
            except ProtectedError:  # an application still refers to it
                report.kept_materials.append(f"{code}/{gone.key}")
        row = do_save_implementation(actor=actor, implementation=impl, note="catalog load")
        if created:
            report.implementations_created += 1
        elif row is not None:
            report.implementations_versioned += 1
        impls[d["code"]] = impl

    for b in plan.bundles:
        bundle = Bundle.objects.filter(code=b["code"]).first()
        before = bundle_snapshot(bundle) if bundle else None
        values = {
            k: b[k]
            for k in (
                "name",
                "name_en",
                "audience",
                "theme",
                "summary",
                "completion",
                "promised_days",
                "status",
                "order",
            )
        }
        values["lead_department"] = depts[b["lead"]]
        if bundle is None:
            bundle = Bundle.objects.create(code=b["code"], version=1, **values)
        else:
            for k, v in values.items():
                setattr(bundle, k, v)
            bundle.save()
        for q in b["questions"]:
            SituationQuestion.objects.update_or_create(
                bundle=bundle,
                key=q["key"],
                defaults={k: v for k, v in q.items() if k not in {"key", "_entry"}},
            )
        bundle.questions.exclude(key__in=[q["key"] for q in b["questions"]]).delete()
        for fd in b["fields"]:
            FormField.objects.update_or_create(
                bundle=bundle, key=fd["key"], defaults={k: v for k, v in fd.items() if k != "key"}
            )
        bundle.fields.exclude(key__in=[fd["key"] for fd in b["fields"]]).delete()
        wanted = []
        for it in b["items"]:
            impl = impls[it["implementation"]]
            BundleItem.objects.update_or_create(
                bundle=bundle,
                implementation=impl,
                defaults={
                    "applies_when": it["applies_when"],
                    "stage": it["stage"],
                    "order": it["order"],
                },
            )
            wanted.append(impl.pk)
        bundle.items.exclude(implementation_id__in=wanted).delete()
        if before is None:
            report.bundles_created += 1
            _record(
                "onestop.bundle_saved",
                actor=actor if getattr(actor, "pk", None) else None,
                obj=bundle,
                purpose="matter catalog maintenance",
                detail={"code": bundle.code, "version": bundle.version, "note": "catalog load"},
            )
        elif bundle_snapshot(bundle) != before:
            do_touch_bundle(actor=actor, bundle=bundle, note="catalog load")
            report.bundles_updated += 1


# --- command line ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    import argparse

    import django

    p = argparse.ArgumentParser(prog="python -m yiwang.onestop.catalog")
    sub = p.add_subparsers(dest="cmd", required=True)
    ck = sub.add_parser("check", help="validate the catalog content")
    ck.add_argument("--path", help="a directory with matters.yaml and bundles.yaml")
    ck.add_argument("--prefix", help="check departments against this district prefix")
    args = p.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.config.settings")
    django.setup()
    report = check_catalog(department_prefix=args.prefix, path=args.path)
    for prob in report.problems:
        print(prob)
    matters_doc, bundles_doc = read_content(args.path)
    print(
        f"{len(matters_doc.get('matters') or [])} matters, "
        f"{len(bundles_doc.get('bundles') or [])} bundles: "
        + ("OK" if report.ok else f"{len(report.problems)} problems")
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
