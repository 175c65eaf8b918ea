"""factory_boy factories and the two-territory test world."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import factory
from django.contrib.auth.hashers import make_password

from yiwang.accounts.models import Department, Division, DivisionLevel, User
from yiwang.accounts.roles import Role
from yiwang.core.ids import make_credit_code, make_resident_id

PASSWORD = "Test#Pass2026"
_HASH: dict[str, str] = {}


def password_hash() -> str:
    if "h" not in _HASH:
        _HASH["h"] = make_password(PASSWORD)
    return _HASH["h"]


class DivisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Division
        django_get_or_create = ("code", "release")

    code = factory.Sequence(lambda n: f"{330100 + n:06d}")
    prefix = factory.LazyAttribute(lambda o: o.code)
    name = factory.Sequence(lambda n: f"测试区{n}")
    level = DivisionLevel.COUNTY
    release = "2022"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"测试局{n}")
    kind = Department.Kind.BUREAU
    division = factory.SubFactory(DivisionFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.RESIDENT
    password = factory.LazyFunction(password_hash)
    display_name = "张三丰"
    id_number = factory.Sequence(lambda n: make_resident_id("330106", dt.date(1990, 3, 7), n))
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.invalid")


@dataclass
class World:
    """Users by key ``<role>_a`` / ``<role>_b`` and the organisation around them."""

    users: dict[str, User] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    divisions: dict[str, Division] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        for bag in (self.users, self.departments, self.divisions, self.extra):
            if key in bag:
                return bag[key]
        raise KeyError(key)


def build_world() -> World:
    w = World()
    province = DivisionFactory(
        code="330000", prefix="33", name="浙江省", level=DivisionLevel.PROVINCE
    )
    city = DivisionFactory(
        code="330100", prefix="3301", name="杭州市", level=DivisionLevel.CITY, parent=province
    )
    for side, county_code in (("a", "330106"), ("b", "330108")):
        county = DivisionFactory(
            code=county_code, prefix=county_code, name=f"区{side}", parent=city
        )
        street = DivisionFactory(
            code=f"{county_code}001",
            prefix=f"{county_code}001",
            name=f"街道{side}",
            level=DivisionLevel.STREET,
            parent=county,
        )
        w.divisions[f"county_{side}"] = county
        w.divisions[f"street_{side}"] = street
        bureau = DepartmentFactory(code=f"{county_code}-cgj", name=f"城管局{side}", division=county)
        centre = DepartmentFactory(
            code=f"{county_code}-ccc",
            name=f"指挥中心{side}",
            division=county,
            kind=Department.Kind.COMMAND_CENTRE,
        )
        admin = DepartmentFactory(
            code=f"{county_code}-sjj",
            name=f"数据局{side}",
            division=county,
            kind=Department.Kind.ADMIN,
        )
        w.departments[f"bureau_{side}"] = bureau
        w.departments[f"centre_{side}"] = centre
        w.departments[f"admin_{side}"] = admin
        placement = {
            Role.RESIDENT: (None, street),
            Role.ENTERPRISE: (None, street),
            Role.GRID_WORKER: (None, street),
            Role.DEPT_STAFF: (bureau, None),
            Role.DEPT_LEADER: (bureau, None),
            Role.OPERATOR: (centre, county),
            Role.DATA_ADMIN: (admin, county),
            Role.SYSADMIN: (admin, None),
            Role.SECADMIN: (admin, None),
            Role.AUDITADMIN: (admin, None),
        }
        for i, (role, (dept, div)) in enumerate(placement.items()):
            extra: dict[str, Any] = {}
            if role == Role.ENTERPRISE:
                extra = {
                    "credit_code": make_credit_code(county_code, f"{i:08d}{i % 10}"),
                    "enterprise_name": f"测试企业{side}",
                }
            w.users[f"{role}_{side}"] = UserFactory(
                username=f"{role}_{side}",
                role=role,
                department=dept,
                division=div,
                is_staff=role in {Role.SYSADMIN, Role.SECADMIN},
                **extra,
            )
    return w
