"""Demo data for the data system: datasets of five departments, grants between them, a few
logged exchanges. Synthetic rows only, for the demo enterprises and residents.

``seed()`` runs after the main demo seed (it needs its departments, users and registry) and
is idempotent: datasets are republished only when missing, loads of identical content are
no-ops, grants and calls are made once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from yiwang.accounts import actions as account_actions
from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Role
from yiwang.core.errors import DomainError
from yiwang.core.ids import make_resident_id
from yiwang.exchange import actions
from yiwang.exchange.models import DataElement, Dataset, ExchangeLog, Grant

DEMO_PASSWORD = "Yiwang@2026"  # noqa: S105  the demo's documented password (README)


@dataclass
class ExchangeSeedReport:
    datasets: int = 0
    rows: int = 0
    grants: int = 0
    calls: int = 0
    users: list[str] = field(default_factory=list)


def _f(
    name: str, title: str, type_: str = "string", sens: str = "public", **kw: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "title": title, "type": type_, "sensitivity": sens}
    out.update(kw)
    return out


ELEMENTS = [
    ("DE-USCC", "统一社会信用代码", "string", "", "cn.uscc", "GB 32100 统一社会信用代码"),
    ("DE-RIC", "公民身份号码", "string", "", "cn.ric", "GB 11643 公民身份号码"),
    ("DE-INDUSTRY", "国民经济行业代码", "string", "GB/T 4754", "", "GB/T 4754-2017 行业小类"),
    ("DE-DIVISION", "行政区划代码", "string", "GB/T 2260", "", "GB/T 2260 六位行政区划代码"),
    ("DE-ENT-NAME", "市场主体名称", "string", "", "", "登记的市场主体名称"),
]

USCC = _f(
    "credit_code",
    "统一社会信用代码",
    element="DE-USCC",
    constraints={"required": True, "pattern": "[0-9A-HJ-NPQRTUWXY]{18}"},
)

DATASETS: list[dict[str, Any]] = [
    {
        "dept": "scj",
        "code": "scj_enterprise_registration",
        "name": "市场主体登记信息",
        "description": "企业设立、变更登记的基本信息（演示数据）。",
        "share_type": "conditional",
        "frequency": "daily",
        "subject_kind": "enterprise",
        "keywords": "企业,登记,市场主体",
        "schema": {
            "fields": [
                USCC,
                _f("name", "企业名称", element="DE-ENT-NAME", constraints={"required": True}),
                _f("industry_code", "行业代码", element="DE-INDUSTRY"),
                _f("division_code", "注册地行政区划", element="DE-DIVISION"),
                _f("address", "注册地址", sens="internal"),
                _f("founded_on", "成立日期", "date"),
                _f("registered_capital", "注册资本（万元）", "number", constraints={"minimum": 0}),
                _f("legal_rep", "法定代表人", sens="pi", mask="name"),
                _f(
                    "status",
                    "登记状态",
                    constraints={"enum": ["存续", "吊销", "注销"]},
                ),
            ],
            "primaryKey": ["credit_code"],
        },
    },
    {
        "dept": "swj",
        "code": "swj_annual_tax_summary",
        "name": "企业年度纳税汇总",
        "description": "按年度汇总的营业收入、纳税额与纳税信用等级（演示数据）。",
        "share_type": "conditional",
        "frequency": "yearly",
        "subject_kind": "enterprise",
        "keywords": "纳税,营收,信用等级",
        "schema": {
            "fields": [
                USCC,
                _f("year", "年度", "integer", sens="internal", constraints={"required": True}),
                _f("revenue", "营业收入（万元）", "number", sens="internal"),
                _f("tax_paid", "纳税额（万元）", "number", sens="internal"),
                _f(
                    "credit_rating",
                    "纳税信用等级",
                    sens="internal",
                    constraints={"enum": ["A", "B", "M", "C", "D"]},
                ),
            ],
            "primaryKey": ["credit_code", "year"],
        },
    },
    {
        "dept": "rsj",
        "code": "rsj_social_insurance_headcount",
        "name": "企业社保参保人数",
        "description": "企业按月的社会保险参保职工人数（演示数据）。",
        "share_type": "conditional",
        "frequency": "monthly",
        "subject_kind": "enterprise",
        "keywords": "社保,参保,就业",
        "schema": {
            "fields": [
                USCC,
                _f(
                    "period", "所属期", "yearmonth", sens="internal", constraints={"required": True}
                ),
                _f("insured", "参保人数", "integer", sens="internal", constraints={"minimum": 0}),
            ],
            "primaryKey": ["credit_code", "period"],
        },
    },
    {
        "dept": "kjj",
        "code": "kjj_tech_qualifications",
        "name": "科技企业资质认定",
        "description": "高新技术企业、科技型中小企业、专精特新等资质（演示数据）。",
        "share_type": "unconditional",
        "frequency": "monthly",
        "subject_kind": "enterprise",
        "keywords": "高新技术企业,专精特新,科技型中小企业",
        "schema": {
            "fields": [
                USCC,
                _f(
                    "qualification",
                    "资质类型",
                    constraints={
                        "required": True,
                        "enum": ["高新技术企业", "科技型中小企业", "专精特新中小企业"],
                    },
                ),
                _f("certificate_no", "证书编号"),
                _f("valid_from", "有效期起", "date"),
                _f("valid_to", "有效期止", "date"),
            ],
            "primaryKey": ["credit_code", "qualification"],
        },
    },
    {
        "dept": "mzj",
        "code": "mzj_social_assistance",
        "name": "社会救助发放记录",
        "description": "低保、特困与临时救助的年度发放记录（演示数据）。",
        "share_type": "conditional",
        "frequency": "monthly",
        "subject_kind": "person",
        "subject_field": "id_number",
        "keywords": "低保,特困,临时救助,补贴",
        # five years after the last update a row is anonymised: kept for statistics only
        "retention_days": 1826,
        "retention_action": "anonymise",
        "schema": {
            "fields": [
                _f(
                    "id_number",
                    "公民身份号码",
                    sens="spi",
                    mask="id_number",
                    element="DE-RIC",
                    constraints={"required": True},
                ),
                _f("name", "姓名", sens="pi", mask="name"),
                _f("year", "年度", "integer", sens="internal", constraints={"required": True}),
                _f(
                    "kind",
                    "救助类型",
                    sens="spi",
                    constraints={"required": True, "enum": ["低保", "特困", "临时救助"]},
                ),
                _f("amount", "发放金额（元）", "number", sens="pi"),
            ],
            "primaryKey": ["id_number", "year", "kind"],
        },
    },
]

# (requester dept, dataset, fields, purpose, legal basis, decision, narrowed fields)
GRANTS: list[tuple[str, str, list[str], str, str, str, list[str] | None]] = [
    (
        "swj",
        "scj_enterprise_registration",
        ["name", "industry_code", "founded_on", "status"],
        "税源管理：核对企业登记状态",
        "《中华人民共和国税收征收管理法》第十五条",
        "approve",
        None,
    ),
    (
        "kjj",
        "swj_annual_tax_summary",
        ["year", "revenue", "tax_paid", "credit_rating"],
        "高新技术企业认定：核验营业收入",
        "《高新技术企业认定管理办法》",
        "narrow",
        ["year", "revenue"],
    ),
    (
        "scj",
        "rsj_social_insurance_headcount",
        ["period", "insured"],
        "企业画像：从业人数",
        "《政务数据共享管理办法》",
        "approve",
        None,
    ),
    (
        "sjj",
        "scj_enterprise_registration",
        ["name", "industry_code", "division_code", "founded_on", "registered_capital", "status"],
        "企业画像与政策匹配",
        "《政务数据共享管理办法》",
        "approve",
        None,
    ),
    (
        "rsj",
        "mzj_social_assistance",
        ["year", "kind", "amount", "name"],
        "就业援助对象认定",
        "《就业促进法》第五十二条",
        "narrow",
        ["year", "kind"],
    ),
    (
        "scj",
        "mzj_social_assistance",
        ["name", "kind"],
        "企业员工背景了解",
        "无",
        "refuse",
        None,
    ),
    (
        "scj",
        "swj_annual_tax_summary",
        ["year", "tax_paid"],
        "个体工商户年报核对",
        "《市场主体登记管理条例》",
        "pending",
        None,
    ),
]


def _dept(prefix: str, suffix: str) -> Department | None:
    return Department.objects.filter(code=prefix + suffix).first()


def _leader(prefix: str, suffix: str, report: ExchangeSeedReport, pw: str) -> User:
    """The demo's leader and staff for a department (created when missing)."""
    existing = User.objects.filter(department__code=prefix + suffix, role=Role.DEPT_LEADER)
    found = existing.order_by("id").first()
    if found is not None:
        return found
    dept = Department.objects.get(code=prefix + suffix)
    rng = random.Random(suffix)
    for role, name in (
        (Role.DEPT_LEADER, f"leader_{suffix}"),
        (Role.DEPT_STAFF, f"staff_{suffix}"),
    ):
        if User.objects.filter(username=name).exists():
            continue
        account_actions.do_create_user(
            actor=None,
            data=account_actions.UserInput(
                username=name,
                role=role,
                password=DEMO_PASSWORD,
                display_name="演示用户",
                department_code=dept.code,
                division_code=dept.division.code,
                id_number=make_resident_id(
                    dept.division.code[:6], dt.date(1980, 1, 1), rng.randrange(1000)
                ),
                email=f"{name}@demo.yiwang.invalid",
            ),
            synthetic=True,
            validated_password_hash=pw,
        )
        report.users.append(name)
    return User.objects.get(username=f"leader_{suffix}")


def _enterprises() -> list[dict[str, Any]]:
    """Demo enterprises: the registry's synthetic organisations and the enterprise users."""
    from yiwang.registry.models import Organisation

    out: dict[str, dict[str, Any]] = {}
    for o in Organisation.objects.filter(synthetic=True, kind="enterprise").order_by("credit_code"):
        out[o.credit_code] = {
            "credit_code": o.credit_code,
            "name": o.name,
            "industry_code": o.industry_code,
            "division_code": o.credit_code[2:8],
            "address": o.registered_address,
            "founded_on": o.founded_on.isoformat() if o.founded_on else None,
            "registered_capital": float(o.registered_capital or 0),
            "legal_rep": o.legal_representative,
            "status": {"active": "存续", "suspended": "吊销", "cancelled": "注销"}.get(
                o.status, "存续"
            ),
        }
    for u in User.objects.filter(role=Role.ENTERPRISE).exclude(credit_code="").order_by("id"):
        out.setdefault(
            u.credit_code,
            {
                "credit_code": u.credit_code,
                "name": u.enterprise_name or u.username,
                "industry_code": "I6513",
                "division_code": u.credit_code[2:8],
                "address": "",
                "founded_on": "2018-06-01",
                "registered_capital": 300.0,
                "legal_rep": u.display_name,
                "status": "存续",
            },
        )
    return [out[k] for k in sorted(out)]


def _profile(credit_code: str) -> dict[str, Any] | None:
    """The policy demo's synthetic profile of a registry enterprise (or the showcase), so the
    tax, social-insurance and qualification rows agree with it and the profile feed of 政策通
    (policies/feeds.py) confirms the values with the dataset as their source."""
    from yiwang.policies.demo import demo_profile_facts

    return demo_profile_facts(credit_code, timezone.localdate())


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _qualifications(
    credit_code: str, known: dict[str, Any], year: int, i: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for flag, q, start, end in (
        ("is_high_tech", "高新技术企业", "high_tech_certified_on", "high_tech_expires_on"),
        ("is_tech_sme", "科技型中小企业", "", ""),
        ("is_srdi", "专精特新中小企业", "srdi_certified_on", ""),
    ):
        if known.get(flag) is not True:
            continue
        rows.append(
            {
                "credit_code": credit_code,
                "qualification": q,
                "certificate_no": f"GR{year - 1}33{i:06d}{len(rows)}",
                "valid_from": _iso(known.get(start)) if start else None,
                "valid_to": _iso(known.get(end)) if end else None,
            }
        )
    return rows


def _rows(code: str, enterprises: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    year = timezone.localdate().year - 1
    if code == "scj_enterprise_registration":
        return enterprises
    if code == "swj_annual_tax_summary":
        rows = []
        for e in enterprises:
            known = _profile(e["credit_code"])
            if known is not None:
                for y in (year - 1, year):
                    row = {
                        "credit_code": e["credit_code"],
                        "year": y,
                        "revenue": known.get(f"revenue@FY{y}"),
                        "tax_paid": known.get(f"tax_paid@FY{y}"),
                        "credit_rating": known.get("tax_credit_level") if y == year else None,
                    }
                    if row["revenue"] is not None or row["tax_paid"] is not None:
                        rows.append(row)
                continue
            base = rng.lognormvariate(6, 1.1)
            for y in (year - 1, year):
                revenue = round(base * (1 + rng.uniform(-0.1, 0.3)), 2)
                rows.append(
                    {
                        "credit_code": e["credit_code"],
                        "year": y,
                        "revenue": revenue,
                        "tax_paid": round(revenue * rng.uniform(0.02, 0.08), 2),
                        "credit_rating": rng.choices("ABMCD", weights=[30, 45, 15, 7, 3])[0],
                    }
                )
        return rows
    if code == "rsj_social_insurance_headcount":
        rows = []
        for e in enterprises:
            known = _profile(e["credit_code"])
            if known is not None:
                if known.get("employees") is not None:
                    rows += [
                        {
                            "credit_code": e["credit_code"],
                            "period": f"{year}-{m:02d}",
                            "insured": int(known["employees"]),
                        }
                        for m in (10, 11, 12)
                    ]
                continue
            n = int(rng.lognormvariate(2.5, 1.0))
            for m in (10, 11, 12):
                rows.append(
                    {
                        "credit_code": e["credit_code"],
                        "period": f"{year}-{m:02d}",
                        "insured": max(0, n + rng.randint(-2, 2)),
                    }
                )
        return rows
    if code == "kjj_tech_qualifications":
        rows = []
        for i, e in enumerate(enterprises):
            known = _profile(e["credit_code"])
            if known is not None:
                rows += _qualifications(e["credit_code"], known, year, i)
                continue
            if i % 4:
                continue
            q = ["高新技术企业", "科技型中小企业", "专精特新中小企业"][i % 3]
            start = dt.date(year - 1, 1 + i % 12, 1)
            rows.append(
                {
                    "credit_code": e["credit_code"],
                    "qualification": q,
                    "certificate_no": f"GR{year - 1}33{i:06d}",
                    "valid_from": start.isoformat(),
                    "valid_to": start.replace(year=start.year + 3).isoformat(),
                }
            )
        return rows
    if code == "mzj_social_assistance":
        rows = []
        residents = User.objects.filter(role=Role.RESIDENT, synthetic=True).order_by("id")
        for i, u in enumerate(residents):
            if i % 3 or not u.id_number:
                continue
            kind = ["低保", "特困", "临时救助"][i % 3 if i % 9 else 0]
            rows.append(
                {
                    "id_number": u.id_number,
                    "name": u.display_name,
                    "year": year,
                    "kind": kind,
                    "amount": {"低保": 9600, "特困": 12000, "临时救助": 2000}[kind],
                }
            )
        return rows
    return []


def seed() -> ExchangeSeedReport:
    report = ExchangeSeedReport()
    scj = Department.objects.filter(code__endswith="-scj").order_by("code").first()
    if scj is None:
        return report  # the main demo seed has not run
    prefix = scj.code[: -len("scj")]
    pw = make_password(DEMO_PASSWORD)
    leaders = {s: _leader(prefix, s, report, pw) for s in ("scj", "swj", "rsj", "kjj", "mzj")}
    have_elements = set(DataElement.objects.values_list("code", flat=True))
    for code, name, type_, table, validator, definition in ELEMENTS:
        if code in have_elements:
            continue
        actions.do_define_element(
            actor=None,
            code=code,
            name=name,
            type=type_,
            code_table=table,
            validator=validator,
            definition=definition,
        )
    rng = random.Random(20261130)
    enterprises = _enterprises()
    for spec in DATASETS:
        leader = leaders[spec["dept"]]
        if not Dataset.objects.filter(code=spec["code"]).exists():
            actions.do_publish_dataset(
                actor=leader,
                code=spec["code"],
                name=spec["name"],
                description=spec["description"],
                schema=spec["schema"],
                share_type=spec["share_type"],
                frequency=spec["frequency"],
                subject_kind=spec["subject_kind"],
                subject_field=spec.get("subject_field", "credit_code"),
                keywords=spec["keywords"],
                retention_days=spec.get("retention_days"),
                retention_action=spec.get("retention_action", "delete"),
            )
            report.datasets += 1
        before = Dataset.objects.get(code=spec["code"]).version
        v = actions.do_load_dataset(
            actor=leader,
            code=spec["code"],
            source="api",
            content=_rows(spec["code"], enterprises, rng),
            filename="demo",
        )
        if v.number > before:
            report.rows += v.inserted + v.updated
    today = timezone.localdate()
    requesters = {
        s: User.objects.filter(department__code=prefix + s, role=Role.DEPT_LEADER).first()
        or User.objects.filter(department__code=prefix + s, role=Role.DATA_ADMIN).first()
        for s in ("scj", "swj", "rsj", "kjj", "mzj", "sjj")
    }
    for who, ds_code, fields, purpose, basis, decision, narrowed in GRANTS:
        requester = requesters.get(who)
        ds = Dataset.objects.get(code=ds_code)
        if (
            requester is None
            or Grant.objects.filter(dataset=ds, requester=requester.department).exists()
        ):
            continue
        g = actions.do_request_grant(
            actor=requester,
            dataset_code=ds_code,
            fields=fields,
            purpose=purpose,
            legal_basis=basis,
            valid_from=today,
            valid_to=today + dt.timedelta(days=365),
            daily_quota=1000,
        )
        report.grants += 1
        owner = leaders[ds.owner.code[len(prefix) :]]
        if decision == "approve" and g.status == "requested":
            actions.do_decide_grant(actor=owner, grant_id=g.pk, decision="approve")
        elif decision == "narrow":
            actions.do_decide_grant(
                actor=owner,
                grant_id=g.pk,
                decision="narrow",
                fields=narrowed,
                valid_to=today + dt.timedelta(days=180),
                daily_quota=200,
                reason="最小必要：只提供核验所需字段",
            )
        elif decision == "refuse":
            actions.do_decide_grant(
                actor=owner,
                grant_id=g.pk,
                decision="refuse",
                reason="用途与救助数据无关，且无法定依据",
            )
    if not ExchangeLog.objects.exists():
        report.calls = _demo_calls(prefix, requesters)
    return report


def _demo_calls(prefix: str, requesters: dict[str, User | None]) -> int:
    """A few logged exchanges so the log and "who read my data" have content."""
    n = 0
    ent_user = User.objects.filter(username="enterprise").first() or (
        User.objects.filter(role=Role.ENTERPRISE).exclude(credit_code="").first()
    )
    resident = User.objects.filter(role=Role.RESIDENT, synthetic=True).order_by("id").first()
    calls: list[tuple[str, str, str, list[str], str, str]] = []
    if ent_user is not None:
        calls += [
            (
                "swj",
                "scj_enterprise_registration",
                ent_user.credit_code,
                ["name", "status"],
                "税源管理：核对企业登记状态",
                "SW-2026-000123",
            ),
            (
                "kjj",
                "swj_annual_tax_summary",
                ent_user.credit_code,
                ["year", "revenue"],
                "高新技术企业认定：核验营业收入",
                "GQ-2026-0042",
            ),
            (
                "kjj",
                "swj_annual_tax_summary",
                ent_user.credit_code,
                ["tax_paid"],
                "高新技术企业认定",
                "GQ-2026-0042",
            ),
        ]
    if resident is not None and resident.id_number:
        calls.append(
            (
                "rsj",
                "mzj_social_assistance",
                resident.id_number,
                ["year", "kind"],
                "就业援助对象认定",
                "JY-2026-0007",
            )
        )
    for who, ds, subject, fields, purpose, case in calls:
        user = requesters.get(who)
        if user is None:
            continue
        # refusals are logged too; that is part of the demo
        with contextlib.suppress(DomainError):
            actions.do_exchange(
                caller=actions.Caller.for_user(user),
                dataset_code=ds,
                subject=subject,
                fields=fields,
                purpose=purpose,
                case_ref=case,
            )
        n += 1
    return n
