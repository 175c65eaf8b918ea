"""The demo district: synthetic and labelled as such (演示数据).

One real district code (default 330106 西湖区, from the shipped GB/T 2260 table) with four of
its real streets, twelve made-up communities, its departments, one account per role and some
synthetic residents and enterprise users (Faker zh_CN, checksum-valid IDs and credit codes).
Idempotent: a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from yiwang.accounts import actions
from yiwang.accounts.models import Department, Division, User
from yiwang.accounts.roles import Role
from yiwang.core import audit
from yiwang.core.ids import make_credit_code, make_resident_id

DEMO_PASSWORD = "Yiwang@2026"  # noqa: S105  documented in README; demo only

COMMUNITY_NAMES = [
    "东苑",
    "西溪",
    "南山",
    "北辰",
    "文华",
    "翠柏",
    "金桂",
    "紫荆",
    "银杏",
    "青枫",
    "明月",
    "春晖",
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    department: str  # department code suffix
    note: str


ACCOUNTS = [
    DemoAccount("resident", Role.RESIDENT, "", "居民（演示）"),
    DemoAccount("enterprise", Role.ENTERPRISE, "", "企业用户（演示）"),
    DemoAccount("gridworker", Role.GRID_WORKER, "community-1", "网格员（第一社区）"),
    DemoAccount("staff", Role.DEPT_STAFF, "cgj", "城管局工作人员"),
    DemoAccount("leader", Role.DEPT_LEADER, "cgj", "城管局领导"),
    DemoAccount("operator", Role.OPERATOR, "ccc", "指挥中心值班员"),
    DemoAccount("dataadmin", Role.DATA_ADMIN, "sjj", "数据管理员"),
    DemoAccount("sysadmin", Role.SYSADMIN, "sjj", "系统管理员"),
    DemoAccount("secadmin", Role.SECADMIN, "sjj", "安全管理员"),
    DemoAccount("auditadmin", Role.AUDITADMIN, "sjj", "审计管理员"),
    DemoAccount("staff2", Role.DEPT_STAFF, "scj", "市场监管局工作人员"),
    DemoAccount("leader2", Role.DEPT_LEADER, "scj", "市场监管局领导"),
]

BUREAUS = [
    ("ccc", "城市运行管理中心（演示）", Department.Kind.COMMAND_CENTRE),
    ("jdzx", "城市管理监督中心（演示）", Department.Kind.SUPERVISION),
    ("cgj", "城市管理局（演示）", Department.Kind.BUREAU),
    ("scj", "市场监督管理局（演示）", Department.Kind.BUREAU),
    ("mzj", "民政局（演示）", Department.Kind.BUREAU),
    ("kjj", "科学技术局（演示）", Department.Kind.BUREAU),
    ("rsj", "人力资源和社会保障局（演示）", Department.Kind.BUREAU),
    ("swj", "税务局（演示）", Department.Kind.BUREAU),
    ("sjj", "数据资源管理局（演示）", Department.Kind.ADMIN),
    ("zwb", "政务服务管理办公室（演示）", Department.Kind.BUREAU),
    ("xfj", "消防救援大队（演示）", Department.Kind.BUREAU),
    ("wjw", "卫生健康委员会（演示）", Department.Kind.BUREAU),
    ("gaj", "公安分局（演示）", Department.Kind.BUREAU),
    ("ybj", "医疗保障局（演示）", Department.Kind.BUREAU),
]


@dataclass
class SeedReport:
    divisions: int = 0
    departments: int = 0
    users: int = 0
    registry: Any = None
    cases: int = 0
    policies: Any = None
    exchange: Any = None
    onestop: Any = None
    certs: Any = None
    ratings: Any = None

    @property
    def changed(self) -> bool:
        return bool(self.divisions or self.departments or self.users)


def seed(
    *,
    residents: int = 40,
    enterprises: int = 10,
    people: int = 200,
    things: int = 50,
    organisations: int = 30,
    cases: int = 20,
    policies: bool = True,
    exchange: bool = True,
    onestop: bool = True,
) -> SeedReport:
    """Seed the demo district. Defaults are small (tests); ``yiwang demo`` asks for the full
    district: 50,000 residents, 5,000 city parts, 3,000 organisations."""
    report = SeedReport()
    district_code = settings.YIWANG_DEMO_DIVISION
    report.divisions += actions.do_import_divisions(actor=None, provinces=[district_code[:2]])
    from yiwang.core.codetables import import_industry, load_shipped

    report.divisions += import_industry(actor=None)[0]
    load_shipped(actor=None)
    district = Division.objects.get(code=district_code, valid_to__isnull=True)
    streets = list(Division.objects.filter(parent=district).order_by("code")[:4])
    communities: list[Division] = []
    with transaction.atomic():
        for si, street in enumerate(streets):
            for ci in range(3):
                name = f"{COMMUNITY_NAMES[si * 3 + ci]}社区（演示）"
                before = Division.objects.filter(code=f"{street.code}{ci + 1:03d}").exists()
                communities.append(
                    actions.do_add_community(actor=None, street=street, seq=ci + 1, name=name)
                )
                report.divisions += 0 if before else 1

        prefix = f"{district_code}-"

        def dept(
            code: str, name: str, kind: str, division: Division, parent: str = ""
        ) -> Department:
            found = Department.objects.filter(code=prefix + code).first()
            if found:
                return found
            report.departments += 1
            return actions.do_create_department(
                actor=None,
                code=prefix + code,
                name=name,
                kind=kind,
                division_code=division.code,
                parent_code=parent,
            )

        for code, name, kind in BUREAUS:
            dept(code, f"{district.name}{name}", kind, district)
        for si, street in enumerate(streets):
            dept(
                f"street-{si + 1}",
                f"{street.name}办事处（演示）",
                Department.Kind.STREET_OFFICE,
                street,
            )
        for ci, community in enumerate(communities):
            dept(
                f"community-{ci + 1}",
                f"{community.name}居委会",
                Department.Kind.COMMUNITY,
                community,
                parent=prefix + f"street-{ci // 3 + 1}",
            )

        rng = random.Random(20261130)
        from faker import Faker

        fake = Faker("zh_CN")
        fake.seed_instance(20261130)
        password_hash = make_password(DEMO_PASSWORD)

        def add_user(username: str, role: str, dept_code: str, note: str, idx: int) -> None:
            if User.objects.filter(username=username).exists():
                return
            department = (
                Department.objects.filter(code=prefix + dept_code).first() if dept_code else None
            )
            division = department.division if department else communities[idx % len(communities)]
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 45))
            data = actions.UserInput(
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                display_name=fake.name(),
                division_code=division.code,
                department_code=department.code if department else "",
                id_number=make_resident_id(district_code, birth, rng.randrange(0, 999)),
                phone=fake.phone_number(),
                email=f"{username}@demo.yiwang.invalid",
            )
            if role == Role.ENTERPRISE:
                data.credit_code = make_credit_code(
                    district_code, f"{rng.randrange(10**8):08d}{rng.randrange(10)}"
                )
                data.enterprise_name = fake.company() + "（演示）"
            user = actions.do_create_user(
                actor=None, data=data, synthetic=True, validated_password_hash=password_hash
            )
            user.first_name = note[:150]
            User.objects.filter(pk=user.pk).update(first_name=note[:150])
            report.users += 1

        for i, acct in enumerate(ACCOUNTS):
            add_user(acct.username, acct.role, acct.department, acct.note, i)
        for i in range(residents):
            add_user(f"resident{i + 1:03d}", Role.RESIDENT, "", "居民（演示）", i)
        for i in range(enterprises):
            add_user(f"enterprise{i + 1:03d}", Role.ENTERPRISE, "", "企业用户（演示）", i)
        from yiwang.registry.demo import seed_registry

        reg = seed_registry(
            district_code=district_code,
            communities=communities,
            people=people,
            things=things,
            enterprises=organisations,
        )
        report.registry = reg
        from yiwang.cases.demo import seed_cases

        report.cases = seed_cases(count=cases)
        if policies:
            from yiwang.policies.demo import register_enterprise_user_organisations

            register_enterprise_user_organisations(district)
        if exchange:
            from yiwang.exchange.demo import seed as seed_exchange

            report.exchange = seed_exchange()
        if policies:
            from yiwang.policies.demo import seed as seed_policies

            report.policies = seed_policies(district_code=district_code)
        if onestop:  # 一网通办 with its certificates and ratings
            from yiwang.certs.demo import seed as seed_certs

            # first: the certificate types (a test database flush may have removed the
            # migration's rows) and the wallets the applications waive materials from
            report.certs = seed_certs(district_code=district_code)
            from yiwang.onestop.demo import seed as seed_onestop

            report.onestop = seed_onestop(district_code=district_code)
            from yiwang.ratings.demo import seed as seed_ratings

            report.ratings = seed_ratings(district_code=district_code)
        if report.changed or reg.changed:
            audit.record(
                "demo.seeded",
                detail={
                    "divisions": report.divisions,
                    "departments": report.departments,
                    "users": report.users,
                },
            )
    return report
