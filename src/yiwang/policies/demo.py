"""The demo policy library and enterprise profiles (演示数据, synthetic and labelled so).

``seed()`` loads the documents and items of ``policies/content`` through the real actions —
a policy officer drafts and submits each item, a second person (the reviewer) approves it
(maker–checker), so every step is audited as it would be for real — and gives every
enterprise in the registry a profile: synthetic facts from the departments that would hold
them (税务局, 人社局, 科技局, 经信局, 海关, 信用中国 …) over three fiscal years, about 5 % of
them missing. The facts are written in bulk and audited as one seeding event (the per-fact
action would audit and announce each one). Then matching runs for every published item so the
enterprises' inboxes fill. Deterministic (fixed seeds) and idempotent: a second run adds
nothing.

Items whose deadline has already passed (relative to the day the demo is seeded) are
published with their window open and then closed and expired — so the library shows some
expired items, as a real one would.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import zlib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from yiwang.accounts import actions as account_actions
from yiwang.accounts.models import Department, Division, User
from yiwang.accounts.roles import Role
from yiwang.core import audit
from yiwang.core.ids import make_resident_id
from yiwang.policies import actions, content, matching, profile
from yiwang.policies.models import (
    EnterpriseFact,
    ItemStatus,
    PolicyDelivery,
    PolicyDocument,
    PolicyItem,
    PolicyMatch,
    SourceKind,
    VersionStatus,
)
from yiwang.registry.models import Organisation

SEED = 20261201
OFFICER = "policyofficer"
REVIEWER = "policyreviewer"
#: The demo's policy desk sits in the development and reform bureau (营商环境/惠企政策专班).
DESK = "fgj"
SHOWCASE_USER = "enterprise"
DEMO_MARK = "（演示）"


@dataclass
class PolicySeedReport:
    departments: int = 0
    users: int = 0
    organisations: int = 0
    profiles: int = 0
    facts: int = 0
    documents: int = 0
    items: int = 0
    published: int = 0
    expired: int = 0
    matched_items: int = 0
    matches: int = 0
    deliveries: int = 0
    feed_grants: int = 0  # grants the policy desk obtained for the profile feed
    fed_facts: int = 0  # facts written by the feed from the exchange's datasets
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.departments,
                self.users,
                self.organisations,
                self.facts,
                self.documents,
                self.items,
                self.published,
                self.feed_grants,
                self.fed_facts,
            )
        )


# ---------------------------------------------------------------------------- the whole seed


def seed(
    *,
    district_code: str | None = None,
    today: dt.date | None = None,
    match: bool = True,
) -> PolicySeedReport:
    """Seed the policy library and the enterprise profiles of the demo district.

    Needs the demo district (``yiwang.demo.seed``): its division, streets and departments,
    and the registry's enterprises. ``match=False`` leaves matching to the queue.
    """
    import time

    report = PolicySeedReport()
    code = district_code or settings.YIWANG_DEMO_DIVISION
    district = Division.objects.filter(code=code, valid_to__isnull=True).first()
    if district is None:
        return report
    day = today or profile.today()
    streets = list(Division.objects.filter(parent=district).order_by("code")[:4])
    t0 = time.perf_counter()
    departments = _departments(district, streets, report)
    officer, reviewer = _desk_users(district, departments, report)
    _enterprise_user_organisations(district, report)
    report.timings["setup_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    seed_profiles(day, report)
    report.timings["profiles_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    feed_from_exchange(departments, reviewer, day, report)
    report.timings["feed_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    published = seed_library(
        district, streets, departments, officer, reviewer, day=day, report=report
    )
    report.timings["library_s"] = round(time.perf_counter() - t0, 3)
    if match:
        t0 = time.perf_counter()
        run_matching(published, report, day)
        report.timings["matching_s"] = round(time.perf_counter() - t0, 3)
    return report


# ---------------------------------------------------------------------------- departments, users


def _departments(
    district: Division, streets: list[Division], report: PolicySeedReport
) -> dict[str, Department]:
    """The departments the content names, as ``<district>-<key>``; missing ones are made."""
    prefix = f"{district.code}-"
    out: dict[str, Department] = {}
    for key, name in content.DEPARTMENTS.items():
        found = Department.objects.filter(code=prefix + key).first()
        if found is None:
            if key.startswith("street-"):
                idx = int(key.split("-")[1]) - 1
                if idx >= len(streets):
                    continue
                found = account_actions.do_create_department(
                    actor=None,
                    code=prefix + key,
                    name=f"{streets[idx].name}办事处{DEMO_MARK}",
                    kind=Department.Kind.STREET_OFFICE,
                    division_code=streets[idx].code,
                )
            else:
                found = account_actions.do_create_department(
                    actor=None,
                    code=prefix + key,
                    name=f"{district.name}{name}{DEMO_MARK}",
                    kind=Department.Kind.BUREAU,
                    division_code=district.code,
                )
            report.departments += 1
        out[key] = found
    return out


def _desk_users(
    district: Division, departments: dict[str, Department], report: PolicySeedReport
) -> tuple[User, User]:
    """The maker (a policy officer) and the checker (the desk's leader)."""
    from yiwang.demo import DEMO_PASSWORD

    rng = random.Random(SEED)
    made: list[User] = []
    for username, role, display, note in (
        (OFFICER, Role.DEPT_STAFF, "周政策", "惠企政策专员（发改局）"),
        (REVIEWER, Role.DEPT_LEADER, "吴审核", "惠企政策审核负责人（发改局）"),
    ):
        user = User.objects.filter(username=username).first()
        if user is None:
            dept = departments[DESK]
            birth = dt.date(1975, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 20))
            user = account_actions.do_create_user(
                actor=None,
                data=account_actions.UserInput(
                    username=username,
                    role=role,
                    password=DEMO_PASSWORD,
                    display_name=display,
                    division_code=dept.division.code,
                    department_code=dept.code,
                    id_number=make_resident_id(district.code, birth, rng.randrange(0, 999)),
                    email=f"{username}@demo.yiwang.invalid",
                ),
                synthetic=True,
                validated_password_hash=make_password(DEMO_PASSWORD),
            )
            User.objects.filter(pk=user.pk).update(first_name=note)
            report.users += 1
        made.append(user)
    return made[0], made[1]


def register_enterprise_user_organisations(district: Division) -> int:
    """Called by the main demo before the exchange's datasets are made, so that those describe
    the same enterprises on the first run as on any later one. Returns how many were added."""
    report = PolicySeedReport()
    _enterprise_user_organisations(district, report)
    return report.organisations


def _enterprise_user_organisations(district: Division, report: PolicySeedReport) -> None:
    """The demo's enterprise users act for an organisation with their credit code: register
    the ones the registry does not have yet (synthetic, in a demo building), so that their
    inbox and profile have something to show."""
    from yiwang.registry.demo import _history_bulk
    from yiwang.registry.models import Place

    users = list(
        User.objects.filter(role=Role.ENTERPRISE, synthetic=True)
        .exclude(credit_code="")
        .order_by("username")
    )
    have = set(
        Organisation.objects.filter(credit_code__in=[u.credit_code for u in users]).values_list(
            "credit_code", flat=True
        )
    )
    todo = [u for u in users if u.credit_code not in have]
    if not todo:
        return
    buildings = list(
        Place.objects.filter(synthetic=True, kind=Place.Kind.BUILDING, grid__isnull=False).order_by(
            "-code"
        )
    )
    if not buildings:
        return
    rng = random.Random(SEED + 1)
    industries = ["I6510", "C3911", "F5294", "M7520", "H6210", "C2710", "I6420", "L7212"]
    rows = []
    for i, u in enumerate(todo):
        site = buildings[i % len(buildings)]
        showcase = u.username == SHOWCASE_USER
        rows.append(
            Organisation(
                kind=Organisation.Kind.ENTERPRISE,
                credit_code=u.credit_code,
                name=(u.enterprise_name or f"演示企业{i + 1}{DEMO_MARK}")[:200],
                industry_code="I6510" if showcase else industries[i % len(industries)],
                size_class="small" if showcase else rng.choice(["micro", "small", "medium"]),
                registered_address=site.name,
                founded_on=dt.date(2021, 3, 15)
                if showcase
                else dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 15)),
                registered_capital=500 if showcase else round(rng.lognormvariate(5, 1), 2),
                legal_representative=u.display_name or "",
                place=site,
                grid_id=site.grid_id,
                lng=site.lng,
                lat=site.lat,
                synthetic=True,
            )
        )
    with transaction.atomic():
        Organisation.objects.bulk_create(rows)
        _history_bulk(
            "organisation",
            list(
                Organisation.objects.filter(
                    credit_code__in=[r.credit_code for r in rows]
                ).values_list("pk", flat=True)
            ),
        )
        audit.record(
            "registry.demo_seeded",
            object_type="registry.organisation",
            detail={"count": len(rows), "for": "demo enterprise users"},
        )
    report.organisations = len(rows)


# ---------------------------------------------------------------------------- profiles


def demo_profile_facts(credit_code: str, today: dt.date) -> dict[str, Any] | None:
    """The synthetic facts ``seed_profiles`` gives the enterprise with this credit code (the
    exchange demo's tax, social insurance and qualification rows carry the same values, so
    the profile feed confirms them with the dataset as source); ``None`` when unknown."""
    showcase = (
        User.objects.filter(username=SHOWCASE_USER, role=Role.ENTERPRISE)
        .values_list("credit_code", flat=True)
        .first()
    )
    if showcase and credit_code == showcase:
        return showcase_facts(today)
    org = Organisation.objects.filter(credit_code=credit_code).first()
    if org is None:
        return None
    return enterprise_facts(
        org, random.Random(SEED * 31 + zlib.crc32(org.credit_code.encode())), today
    )


def feed_from_exchange(
    departments: dict[str, Department], requester: User, today: dt.date, report: PolicySeedReport
) -> None:
    """The policy desk asks the owners of the mapped datasets (profile_sources.yaml) for
    grants of the mapped fields, the owners' leaders approve, and the profiles are fed once
    through the exchange (each batch logged with the purpose 政策精准匹配). Idempotent: a
    grant is asked for once, a dataset fed once (later loads feed through the event)."""
    from yiwang.exchange import actions as exchange_actions
    from yiwang.exchange.models import Dataset, ExchangeLog, Grant
    from yiwang.policies import feeds

    desk = departments.get(DESK)
    if desk is None:
        return
    src = feeds.sources()
    for code, dmap in src.datasets.items():
        ds = Dataset.objects.select_related("owner").filter(code=code).first()
        if ds is None:
            continue
        if not Grant.objects.filter(dataset=ds, requester=desk).exists():
            owner = (
                User.objects.filter(department=ds.owner, role=Role.DEPT_LEADER)
                .order_by("id")
                .first()
            )
            if owner is None:
                continue
            g = exchange_actions.do_request_grant(
                actor=requester,
                dataset_code=code,
                fields=dmap.fields,
                purpose=src.purpose,
                legal_basis="《优化营商环境条例》第十条；《政务数据共享管理办法》",
                valid_from=today,
                valid_to=today + dt.timedelta(days=365),
                daily_quota=1000,
            )
            if g.status == "requested":  # unconditional sharing is approved on request
                exchange_actions.do_decide_grant(actor=owner, grant_id=g.pk, decision="approve")
            report.feed_grants += 1
        if ExchangeLog.objects.filter(
            dataset=ds, requester=desk, purpose=src.purpose, result="ok"
        ).exists():
            continue
        fed = feeds.feed_dataset(
            code, since_version=0, department=desk, src=src, as_of=today, notify=False
        )
        report.fed_facts += fed.facts


def _source(name: str) -> str:
    """The department and system a fact comes from: the catalog's source, without its gloss."""
    spec = content.catalog()[name]
    return spec.source.split(" (")[0].split("，")[0][:200]


def _fy_as_of(year: int, today: dt.date) -> dt.date:
    """Annual figures are known once the yearly tax filing closes (31 May next year)."""
    return min(dt.date(year + 1, 5, 31), today)


def seed_profiles(today: dt.date, report: PolicySeedReport) -> None:
    """Synthetic facts for every organisation without any (bulk; one audit record)."""
    done = set(EnterpriseFact.objects.values_list("organisation_id", flat=True).distinct())
    orgs = list(Organisation.objects.exclude(pk__in=done).order_by("pk"))
    if not orgs:
        return
    showcase = (
        User.objects.filter(username=SHOWCASE_USER, role=Role.ENTERPRISE)
        .values_list("credit_code", flat=True)
        .first()
    )
    sources: dict[str, str] = {}
    rows: list[EnterpriseFact] = []
    for org in orgs:
        rng = random.Random(SEED * 31 + zlib.crc32(org.credit_code.encode()))
        facts = (
            showcase_facts(today)
            if showcase and org.credit_code == showcase
            else enterprise_facts(org, rng, today)
        )
        for key, value in facts.items():
            name, _sep, period = key.partition("@")
            name, period, stored = profile.clean_fact(name, value, period)
            if name not in sources:
                sources[name] = _source(name)
            as_of = (
                _fy_as_of(int(period[2:]), today)
                if period
                else min(today, dt.date(today.year, 10, 31))
            )
            rows.append(
                EnterpriseFact(
                    organisation_id=org.pk,
                    name=name,
                    period=period,
                    value=stored,
                    source=sources[name],
                    source_kind=SourceKind.DATASET,
                    as_of=as_of,
                )
            )
    with transaction.atomic():
        EnterpriseFact.objects.bulk_create(rows, batch_size=5000)
        audit.record(
            "policies.demo_profiles_seeded",
            object_type="policies.enterprisefact",
            detail={
                "organisations": len(orgs),
                "facts": len(rows),
                "sources": sorted(set(sources.values())),
                "synthetic": True,
            },
        )
    report.profiles = len(orgs)
    report.facts = len(rows)


def _pick(rng: random.Random, options: list[tuple[Any, float]]) -> Any:
    values = [v for v, _w in options]
    weights = [w for _v, w in options]
    return rng.choices(values, weights=weights)[0]


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=rng.randrange(0, (end - start).days + 1))


def _add_years(d: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (29 February → 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _r(x: float, nd: int = 2) -> float:
    return round(x, nd)


def enterprise_facts(org: Organisation, rng: random.Random, today: dt.date) -> dict[str, Any]:
    """A plausible profile for one organisation from its registry entry (industry, size,
    age): what the tax bureau, human resources, science, economy, customs, statistics and
    credit systems would hold; about 5 % of the values left out (unknown)."""
    ind = (org.industry_code or "Z").upper()
    sec = ind[:1]
    size = org.size_class or "small"
    s = {"micro": 0, "small": 1, "medium": 2, "large": 3}.get(size, 1)
    founded = org.founded_on or dt.date(2015, 1, 1)
    age = (today - founded).days / 365.25
    last = today.year - 1
    years = [last - 2, last - 1, last]
    tech = sec in ("C", "I", "M")
    f: dict[str, Any] = {}

    def fy(name: str, year: int, value: Any) -> None:
        f[f"{name}@FY{year}"] = value

    # --- money and growth (税务局) -----------------------------------------------------------
    base = rng.lognormvariate(math.log([300, 3000, 25000, 200000][s]), 0.7)
    g_last = max(-0.6, min(1.5, rng.gauss(0.08, 0.18)))
    g_prev = max(-0.6, min(1.5, rng.gauss(0.08, 0.18)))
    rev = {last: base, last - 1: base / (1 + g_last)}
    rev[last - 2] = rev[last - 1] / (1 + g_prev)
    young = {y for y in years if dt.date(y, 12, 31) < founded}
    for y in years:
        if y not in young:
            fy("revenue", y, _r(rev[y]))
    if last - 1 not in young:
        fy("revenue_growth", last, _r(g_last * 100, 1))
    if last - 2 not in young:
        fy("revenue_growth", last - 1, _r(g_prev * 100, 1))
    for y in (last - 1, last):
        if y in young:
            continue
        tax = rev[y] * rng.uniform(0.02, 0.07)
        fy("tax_paid", y, _r(tax))
        fy("district_contribution", y, _r(tax * rng.uniform(0.2, 0.35)))
        fy("taxable_income", y, _r(rev[y] * rng.uniform(-0.05, 0.15)))
    f["tax_credit_level"] = _pick(rng, [("A", 35), ("B", 40), ("M", 15), ("C", 7), ("D", 3)])
    f["is_small_scale_taxpayer"] = rng.random() < [0.7, 0.3, 0.0, 0.0][s]
    f["tax_violation_3y"] = rng.random() < 0.01
    # R&D
    if tech and rng.random() < 0.65:
        ratio = rng.uniform(1, 9)
    elif rng.random() < 0.1:
        ratio = rng.uniform(0.2, 2)
    else:
        ratio = 0.0
    for y in years:
        if y in young:
            continue
        r_y = max(0.0, ratio * rng.uniform(0.85, 1.1)) if ratio else 0.0
        fy("rd_expense", y, _r(rev[y] * r_y / 100))
        fy("rd_ratio", y, _r(r_y, 2))
    if ratio and last - 1 not in young:
        fy("rd_growth", last, _r(rng.gauss(12, 25), 1))

    # --- statistics and economy (统计局 / 经信局 / 发改局) -----------------------------------
    above = sec == "C" and rev[last] >= 2000
    f["is_above_scale"] = above
    if above:
        f["above_scale_since"] = _date_between(
            rng, max(founded, dt.date(2012, 1, 1)), dt.date(last, 12, 1)
        )
        if rng.random() < 0.1:
            f["above_scale_since"] = dt.date(last, rng.choice([1, 7]), 1)
    if sec == "C":
        fy("industrial_output", last, _r(rev[last] * rng.uniform(0.9, 1.1)))
        fy(
            "tech_upgrade_investment",
            last,
            _r(rng.uniform(100, 5000)) if rng.random() < 0.15 else 0,
        )
        f["smart_factory_level"] = _pick(
            rng, [("none", 91), ("district", 5), ("municipal", 3), ("provincial", 1)]
        )
        f["green_factory_level"] = _pick(
            rng, [("none", 93.5), ("municipal", 4), ("provincial", 2), ("national", 0.5)]
        )
        fy("energy_consumption", last, _r(rev[last] / 10 * rng.uniform(0.1, 1), 1))
        fy("energy_intensity_drop", last, _r(rng.gauss(3, 5), 1))
        f["pv_capacity_kw"] = _r(rng.uniform(50, 3000), 0) if rng.random() < 0.1 else 0
    fy("digital_investment", last, _r(rng.uniform(3, 300)) if rng.random() < 0.2 else 0)
    if sec in ("F", "H"):
        f["is_above_quota"] = rev[last] >= 500
        if f["is_above_quota"] and rng.random() < 0.1:
            f["above_scale_since"] = dt.date(last, rng.choice([1, 4, 7]), 1)
        fy("retail_sales", last, _r(rev[last] * rng.uniform(0.6, 1.0)))
        fy("retail_growth", last, _r(g_last * 100 + rng.gauss(0, 3), 1))
        online = ind.startswith("F529") or rng.random() < 0.15
        fy("online_retail_sales", last, _r(rev[last] * rng.uniform(0.3, 1.0)) if online else 0)
        f["brand_time_honoured"] = rng.random() < 0.03
    if ind.startswith(("I64", "I65")):
        fy("software_revenue", last, _r(rev[last] * rng.uniform(0.6, 1.0)))
    # SRDI tiers (经信局)
    if s <= 2 and sec in ("C", "I"):
        level = _pick(
            rng, [("none", 81.8), ("innovative", 12), ("provincial", 5), ("little_giant", 1.2)]
        )
    else:
        level = "none"
    f["srdi_level"] = level
    f["is_srdi"] = level in ("provincial", "little_giant")
    if level != "none":
        f["srdi_certified_on"] = _date_between(
            rng, dt.date(today.year - 3, 1, 1), today - dt.timedelta(days=20)
        )

    # --- commerce and customs (商务局 / 海关) ------------------------------------------------
    exporter = (sec == "C" or ind.startswith("F51")) and rng.random() < 0.3
    for y in (last - 1, last):
        if y not in young:
            fy("export_value", y, _r(rev[y] * rng.uniform(0.1, 0.6)) if exporter else 0)
    if exporter and last - 1 not in young:
        fy("export_growth", last, _r(rng.gauss(6, 20), 1))
    fy("import_value", last, _r(rev[last] * rng.uniform(0.05, 0.3)) if rng.random() < 0.12 else 0)
    fy(
        "cross_border_ecommerce",
        last,
        _r(f.get(f"export_value@FY{last}", 0) * rng.uniform(0.1, 0.5))
        if exporter and rng.random() < 0.25
        else 0,
    )
    fy("overseas_fair_cost", last, _r(rng.uniform(3, 60)) if exporter and rng.random() < 0.4 else 0)
    service = sec in ("I", "L", "M") and rng.random() < 0.1
    fy("service_trade_value", last, _r(rev[last] * rng.uniform(0.1, 0.5)) if service else 0)
    f["is_foreign_invested"] = rng.random() < 0.05
    fy(
        "foreign_capital_paid_in",
        last,
        _r(rng.uniform(500, 20000)) if f["is_foreign_invested"] and rng.random() < 0.4 else 0,
    )
    f["is_headquarters"] = rng.random() < [0, 0.002, 0.03, 0.3][s]

    # --- people (人社局) ------------------------------------------------------------------
    employees = (
        [rng.randint(2, 19), rng.randint(20, 99), rng.randint(100, 999)][s]
        if s < 3
        else rng.randint(1000, 6000)
    )
    f["employees"] = employees
    fy("unemployment_insurance_paid", last, _r(employees * rng.uniform(0.03, 0.08)))
    fy("layoff_rate", last, _r(rng.uniform(0, 5) if rng.random() < 0.85 else rng.uniform(5, 25), 1))
    fy("new_jobs", last, max(0, int(employees * rng.gauss(0.05, 0.1))))
    grads = max(1, int(employees * rng.uniform(0, 0.15))) if rng.random() < 0.4 else 0
    fy("new_hires_graduates", last, grads)
    fy("new_hires_disadvantaged", last, rng.randint(1, 5) if rng.random() < 0.1 else 0)
    fy("new_hires_veterans", last, rng.randint(1, 4) if rng.random() < 0.08 else 0)
    f["disabled_employees"] = rng.randint(1, max(1, employees // 20)) if rng.random() < 0.1 else 0
    fy(
        "staff_certified",
        last,
        int(employees * rng.uniform(0.02, 0.2)) if rng.random() < 0.25 else 0,
    )
    fy("interns_hosted", last, rng.randint(2, 20) if rng.random() < 0.05 else 0)
    f["postdoc_station"] = tech and s == 3 and rng.random() < 0.2
    f["wage_arrears"] = rng.random() < 0.01
    recent = age <= 5 and s <= 1
    f["founder_graduate"] = recent and rng.random() < 0.25
    f["founder_veteran"] = recent and rng.random() < 0.05
    f["founder_returnee"] = recent and rng.random() < 0.05

    # --- technology (科技局 / 知识产权) --------------------------------------------------------
    high_tech = tech and rng.random() < [0.05, 0.25, 0.35, 0.45][s]
    f["is_high_tech"] = high_tech
    if high_tech:
        cert = _date_between(
            rng, max(founded, today - dt.timedelta(days=3 * 365)), today - dt.timedelta(days=30)
        )
        if rng.random() < 0.3:
            cert = _date_between(rng, dt.date(today.year, 1, 1), today - dt.timedelta(days=10))
        f["high_tech_certified_on"] = cert
        f["high_tech_first"] = rng.random() < 0.5
        f["high_tech_expires_on"] = _add_years(cert, 3) - dt.timedelta(days=1)
    f["is_tech_sme"] = tech and s <= 2 and rng.random() < (0.6 if high_tech else 0.25)
    f["is_gazelle"] = tech and g_last > 0.2 and rng.random() < 0.15
    f["is_quasi_unicorn"] = f["is_gazelle"] and rng.random() < 0.05
    f["rd_centre_level"] = (
        _pick(
            rng,
            [
                ("none", 80),
                ("district", 8),
                ("municipal", 8),
                ("provincial", 3.5),
                ("national", 0.5),
            ],
        )
        if ratio
        else "none"
    )
    f["incubator_level"] = (
        _pick(rng, [("district", 50), ("municipal", 30), ("provincial", 15), ("national", 5)])
        if sec in ("M", "L") and rng.random() < 0.03
        else "none"
    )
    f["in_incubator"] = tech and age < 3 and rng.random() < 0.35
    fy(
        "tech_contract_turnover",
        last,
        _r(rng.uniform(50, 3000)) if tech and rng.random() < 0.2 else 0,
    )
    patents = int(rng.lognormvariate(1.5, 1.0)) if tech and rng.random() < 0.5 else 0
    f["invention_patents"] = patents
    fy("patents_granted", last, rng.randint(0, min(patents, 30)) if patents else 0)
    fy("pct_applications", last, rng.randint(1, 5) if patents and rng.random() < 0.1 else 0)
    fy("standards_led", last, rng.randint(1, 3) if rng.random() < 0.03 else 0)
    f["quality_award_level"] = _pick(
        rng,
        [("none", 96.5), ("district", 2), ("municipal", 1), ("provincial", 0.4), ("national", 0.1)],
    )
    f["brand_certified"] = sec == "C" and rng.random() < 0.05

    # --- finance (金融办 / 银行) --------------------------------------------------------------
    if s >= 2 and rng.random() < 0.15:
        status = _pick(
            rng, [("reformed", 40), ("counselling", 25), ("accepted", 15), ("listed", 20)]
        )
    else:
        status = "none"
    f["listing_status"] = status
    if status == "listed":
        f["listed_on"] = _date_between(rng, today - dt.timedelta(days=5 * 365), today)
        f["listing_board"] = _pick(
            rng, [("main", 35), ("star", 20), ("chinext", 25), ("bse", 10), ("overseas", 10)]
        )
    fy("equity_raised", last, _r(rng.uniform(500, 20000)) if tech and rng.random() < 0.08 else 0)
    loans = rev[last] * rng.uniform(0.05, 0.3) if rng.random() < 0.35 else 0.0
    fy("new_bank_loans", last, _r(loans))
    fy("loan_interest_paid", last, _r(loans * rng.uniform(0.035, 0.05)))
    fy(
        "guarantee_fee_paid",
        last,
        _r(loans * 0.01) if loans and s <= 1 and rng.random() < 0.2 else 0,
    )
    fy("ip_pledge_loans", last, _r(rng.uniform(100, 3000)) if patents and rng.random() < 0.1 else 0)

    # --- culture, tourism, farming (文旅局 / 农业农村局) -------------------------------------
    if ind.startswith("N785"):
        f["scenic_rating"] = _pick(rng, [("none", 60), ("3A", 25), ("4A", 12), ("5A", 3)])
        if f["scenic_rating"] != "none":
            f["scenic_rated_on"] = _date_between(rng, dt.date(2015, 1, 1), today)
    if ind.startswith("H61"):
        f["homestay_level"] = _pick(
            rng, [("none", 65), ("silver", 20), ("gold", 12), ("white_gold", 3)]
        )
    if sec == "R":
        fy("culture_events", last, rng.randint(1, 120) if rng.random() < 0.6 else 0)
    farming = sec == "A" or ind.startswith(("C13", "C15"))
    if farming:
        f["agri_leading_level"] = _pick(
            rng,
            [("none", 80), ("district", 10), ("municipal", 6), ("provincial", 3), ("national", 1)],
        )
        f["farmland_area_mu"] = (
            _r(rng.uniform(20, 3000), 0) if sec == "A" and rng.random() < 0.6 else 0
        )
        tea = ind.startswith(("A016", "C153"))
        f["tea_garden_area_mu"] = _r(rng.uniform(20, 1500), 0) if tea else 0
        f["green_food_certs"] = rng.randint(0, 6)
        fy("farmers_employed", last, rng.randint(0, 200))

    # --- premises and compliance ---------------------------------------------------------------
    rent_lo, rent_hi = [(2, 20), (10, 80), (50, 300), (200, 2000)][s]
    fy("office_rent", last, _r(rng.uniform(rent_lo, rent_hi)))
    area_lo, area_hi = [(30, 300), (150, 1000), (800, 5000), (3000, 30000)][s]
    f["office_area"] = _r(rng.uniform(area_lo, area_hi), 0)
    if rng.random() < 0.15:
        f["registered_in_district_on"] = _date_between(rng, founded, today - dt.timedelta(days=30))
        if rng.random() < 0.2:
            f["registered_in_district_on"] = _date_between(
                rng, max(founded, dt.date(last, 1, 1)), dt.date(last, 12, 31)
            )
    else:
        f["registered_in_district_on"] = founded
    f["on_dishonesty_list"] = rng.random() < 0.02
    f["major_accident_3y"] = rng.random() < (0.02 if sec == "C" else 0.005)
    f["env_violation_2y"] = rng.random() < (0.03 if sec == "C" else 0.005)

    # about 5 % of what government would hold is missing
    return {k: v for k, v in f.items() if rng.random() >= 0.05}


def showcase_facts(today: dt.date) -> dict[str, Any]:
    """The demo enterprise user's company: a young software firm in the district that meets
    many policies, with a few facts missing so that some items are "possibly eligible"."""
    last = today.year - 1
    this_year = dt.date(today.year, 1, 1)
    return {
        f"revenue@FY{last - 2}": 2100,
        f"revenue@FY{last - 1}": 2600,
        f"revenue@FY{last}": 3500,
        f"revenue_growth@FY{last}": 34.6,
        f"tax_paid@FY{last}": 168,
        f"district_contribution@FY{last}": 46,
        f"taxable_income@FY{last}": 210,
        "tax_credit_level": "A",
        "is_small_scale_taxpayer": False,
        "tax_violation_3y": False,
        f"rd_expense@FY{last - 1}": 230,
        f"rd_expense@FY{last}": 320,
        f"rd_ratio@FY{last}": 9.14,
        f"rd_growth@FY{last}": 39.1,
        f"software_revenue@FY{last}": 3200,
        f"digital_investment@FY{last}": 12,
        "srdi_level": "innovative",
        "srdi_certified_on": this_year + dt.timedelta(days=89),
        "is_srdi": False,
        f"export_value@FY{last}": 0,
        f"service_trade_value@FY{last}": 0,
        "is_foreign_invested": False,
        "is_headquarters": False,
        "employees": 85,
        f"unemployment_insurance_paid@FY{last}": 4.5,
        f"new_hires_graduates@FY{last}": 12,
        f"new_hires_disadvantaged@FY{last}": 0,
        f"new_hires_veterans@FY{last}": 1,
        f"staff_certified@FY{last}": 9,
        "wage_arrears": False,
        "founder_graduate": False,
        "founder_veteran": False,
        "founder_returnee": True,
        "is_high_tech": True,
        "high_tech_certified_on": this_year + dt.timedelta(days=290),
        "high_tech_first": True,
        "high_tech_expires_on": this_year.replace(year=this_year.year + 3) + dt.timedelta(days=289),
        "is_tech_sme": True,
        "is_gazelle": True,
        "is_quasi_unicorn": False,
        "rd_centre_level": "district",
        "incubator_level": "none",
        "in_incubator": False,
        "invention_patents": 7,
        f"patents_granted@FY{last}": 3,
        f"pct_applications@FY{last}": 1,
        f"standards_led@FY{last}": 0,
        "quality_award_level": "none",
        "listing_status": "none",
        f"new_bank_loans@FY{last}": 600,
        f"loan_interest_paid@FY{last}": 24,
        f"guarantee_fee_paid@FY{last}": 6,
        f"office_rent@FY{last}": 40,
        "office_area": 650,
        "registered_in_district_on": dt.date(2021, 3, 15),
        "on_dishonesty_list": False,
        "major_accident_3y": False,
        "env_violation_2y": False,
        # left out on purpose (possibly eligible until supplied): layoff_rate,
        # tech_contract_turnover, ip_pledge_loans
    }


# ---------------------------------------------------------------------------- the library


def seed_library(
    district: Division,
    streets: list[Division],
    departments: dict[str, Department],
    officer: User,
    reviewer: User,
    *,
    day: dt.date,
    report: PolicySeedReport,
) -> list[PolicyItem]:
    """Documents and items through the actions: the officer drafts and submits, the reviewer
    approves. Returns the items published by this run."""
    street_codes = [s.code for s in streets]
    published: list[PolicyItem] = []
    for spec in content.load_documents():
        doc = PolicyDocument.objects.filter(doc_number=spec.doc_number, synthetic=True).first()
        if doc is None:
            doc = actions.create_document(
                officer,
                title=spec.title,
                doc_number=spec.doc_number,
                issuer_names=spec.issuer_names,
                issuers=[departments[k] for k in spec.issuers if k in departments],
                issued_on=spec.issued_on,
                effective_from=spec.effective_from,
                effective_to=spec.effective_to,
                region_code=district.code,
                source_url=spec.source_url,
                full_text=spec.full_text,
                interpretation=spec.interpretation,
                synthetic=True,
            )
            report.documents += 1
        for item_spec in spec.items:
            if item_spec.department not in departments:
                continue
            item = _publish_item(
                doc, item_spec, district, street_codes, departments, officer, reviewer, day, report
            )
            if item is not None:
                published.append(item)
    return published


def _publish_item(
    doc: PolicyDocument,
    spec: content.ItemSpec,
    district: Division,
    street_codes: list[str],
    departments: dict[str, Department],
    officer: User,
    reviewer: User,
    day: dt.date,
    report: PolicySeedReport,
) -> PolicyItem | None:
    item = PolicyItem.objects.filter(code=spec.code).first()
    past = spec.closes_on is not None and spec.closes_on < day
    if item is None:
        item = actions.create_item(
            officer,
            doc,
            code=spec.code,
            title=spec.title,
            benefit_type=spec.benefit_type,
            target=spec.target,
            department=departments[spec.department],
            summary=spec.summary,
            rule=content.localise(spec.rule, district.code, street_codes),
            opens_on=spec.opens_on,
            # an item whose deadline has passed is published as it was while open, then closed
            closes_on=None if past else spec.closes_on,
            no_application=spec.no_application,
            synthetic=True,
        )
        report.items += 1
    if item.status != ItemStatus.DRAFT and item.status != ItemStatus.REVIEW:
        return None  # published (or expired) by an earlier run
    version = item.versions.order_by("-number").first()
    with transaction.atomic():
        if version is not None and version.status == VersionStatus.DRAFT:
            actions.submit_for_review(officer, item)
        actions.approve(reviewer, item, note="演示数据：条款与原子条件已逐条核对")
        report.published += 1
        if past:
            _close_and_expire(item, spec.closes_on, day, report)
    item.refresh_from_db()
    return item


def _close_and_expire(
    item: PolicyItem, closes_on: dt.date | None, day: dt.date, report: PolicySeedReport
) -> None:
    """Give a published item its (past) deadline and let the scheduled job expire it."""
    PolicyItem.objects.filter(pk=item.pk).update(closes_on=closes_on, updated_at=timezone.now())
    audit.record(
        "policies.demo_closed",
        obj=item,
        detail={"closes_on": closes_on.isoformat() if closes_on else None, "synthetic": True},
    )
    report.expired += actions.expire_due(timezone.make_aware(dt.datetime.combine(day, dt.time(12))))


# ---------------------------------------------------------------------------- matching


def run_matching(items: list[PolicyItem], report: PolicySeedReport, day: dt.date) -> None:
    """Match the items published by this run over every enterprise and deliver to the inboxes.

    The per-item path (``delivery.on_published``, queued on publication) loads every profile
    once per item; the seed does all items in one pass instead — each enterprise's facts read
    and normalised once and evaluated against every rule (``rules.evaluate_many``) — and
    stores the same match rows. Items the queue has matched already (huey runs at once in
    tests) are left as they are; delivery is the domain's own (once per item and enterprise).
    """
    from yiwang.policies import delivery
    from yiwang.policies.models import Target
    from yiwang.rules import evaluate

    live = [
        i
        for i in items
        if i.status == ItemStatus.PUBLISHED
        and i.target == Target.ENTERPRISE
        and i.published_version is not None
        and not (i.closes_on is not None and i.closes_on < day)
    ]
    matched = set(
        PolicyMatch.objects.filter(item__in=live).values_list("item_id", flat=True).distinct()
    )
    todo = [i for i in live if i.pk not in matched]
    if todo:
        rules = [matching.rule_of(i.published_version) for i in todo]  # type: ignore[arg-type]
        orgs = list(matching.enterprises().order_by("pk"))
        now = timezone.now()
        rows: list[PolicyMatch] = []
        counts = {i.code: {"pass": 0, "unknown": 0} for i in todo}
        cat = profile.catalog()
        normal = [
            cat.normalize(raw, day, strict=False)
            for raw in profile.bulk_raw_facts(orgs, as_of=None)
        ]
        # 1. the bulk sweep finds who passes or might (most pairs fail and need no more);
        # 2. the per-entity evaluator explains just those pairs (what is missing, amounts).
        candidates = _sweep_candidates(rules, orgs, normal, day)
        for idx, org in enumerate(orgs):
            cache: dict[Any, Any] = {}
            for r in candidates.get(idx, ()):
                ev = evaluate(rules[r], normal[idx], day, normalized=True, trace=False, cache=cache)
                if ev.verdict == "fail":  # pragma: no cover - the engines agree (property test)
                    continue
                item = todo[r]
                counts[item.code][ev.verdict] += 1
                rows.append(
                    delivery._match_row(item, item.published_version, org.pk, ev, now)  # type: ignore[arg-type]
                )
        with transaction.atomic():
            PolicyMatch.objects.filter(item__in=todo).delete()
            PolicyMatch.objects.bulk_create(rows, batch_size=2000)
            audit.record(
                "policies.demo_matched",
                object_type="policies.policyitem",
                detail={"enterprises": len(orgs), "items": counts, "as_of": day.isoformat()},
            )
        for item in todo:
            delivery.deliver(item=item)
    report.matched_items = len(live)
    ids = [i.pk for i in items]
    report.matches = PolicyMatch.objects.filter(item_id__in=ids).count()
    report.deliveries = PolicyDelivery.objects.filter(item_id__in=ids).count()


def _sweep_candidates(
    rules: list[Any], orgs: list[Organisation], normal: list[dict[str, Any]], day: dt.date
) -> dict[int, list[int]]:
    """{organisation index: [rule index, ...]} of the pairs that do not fail (vector sweep)."""
    from yiwang.rules import polars_backend, vector
    from yiwang.rules.lower import columns

    cols: dict[str, str] = {}
    for rule in rules:
        cols.update(columns(rule, day))
    df = polars_backend.frame(
        [polars_backend.row_of(n) for n in normal], cols, ids=list(range(len(orgs)))
    )
    res = vector.sweep(rules, vector.FactArrays.from_polars(df), day)
    out: dict[int, list[int]] = {}
    for r, rule in enumerate(rules):
        for unknown in (False, True):
            for idx in res.matches(rule.id, unknown=unknown):
                out.setdefault(int(idx), []).append(r)
    return out


def summary(report: PolicySeedReport) -> str:
    return (
        f"policies: {report.documents} documents, {report.items} items "
        f"({report.published} published, {report.expired} expired), {report.profiles} profiles "
        f"with {report.facts} facts ({report.fed_facts} fed from shared datasets), "
        f"{report.matches} matches, {report.deliveries} deliveries"
    )
