"""Test data for the data system: two datasets owned by 城管局a, a grant to 数据局a."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from yiwang.exchange import actions

ENTERPRISE_SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "credit_code",
            "title": "统一社会信用代码",
            "type": "string",
            "sensitivity": "public",
            "element": "DE-USCC",
            "constraints": {"required": True, "pattern": "[0-9A-HJ-NPQRTUWXY]{18}"},
        },
        {
            "name": "name",
            "title": "企业名称",
            "type": "string",
            "sensitivity": "public",
            "constraints": {"required": True},
        },
        {
            "name": "legal_rep",
            "title": "法定代表人",
            "type": "string",
            "sensitivity": "pi",
            "mask": "name",
        },
        {
            "name": "legal_rep_id",
            "title": "法定代表人身份证号",
            "type": "string",
            "sensitivity": "spi",
            "mask": "id_number",
        },
        {
            "name": "capital",
            "title": "注册资本（万元）",
            "type": "number",
            "sensitivity": "internal",
            "constraints": {"minimum": 0},
        },
        {"name": "founded", "title": "成立日期", "type": "date", "sensitivity": "public"},
    ],
    "primaryKey": ["credit_code"],
}

SUBSIDY_SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "id_number",
            "type": "string",
            "sensitivity": "spi",
            "mask": "id_number",
            "constraints": {"required": True},
        },
        {
            "name": "year",
            "type": "integer",
            "sensitivity": "internal",
            "constraints": {"required": True},
        },
        {
            "name": "kind",
            "type": "string",
            "sensitivity": "internal",
            "constraints": {"enum": ["低保", "特困", "临时救助"]},
        },
        {"name": "amount", "type": "number", "sensitivity": "pi", "mask": ""},
    ],
    "primaryKey": ["id_number", "year"],
}


def enterprise_csv(rows: list[tuple[Any, ...]]) -> bytes:
    lines = ["credit_code,name,legal_rep,legal_rep_id,capital,founded"]
    lines += [",".join(str(c) for c in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def build(w: Any) -> None:
    """Datasets of 城管局a, loaded with rows for the world's enterprise and resident, and an
    approved grant of some enterprise fields to 数据局a (plus a client credential for it)."""
    actions.do_define_element(
        actor=None, code="DE-USCC", name="统一社会信用代码", type="string", validator="cn.uscc"
    )
    staff = w.users["dept_staff_a"]
    ent = actions.do_publish_dataset(
        actor=staff,
        code="ent_reg_a",
        name="企业登记信息",
        description="市场主体登记",
        schema=ENTERPRISE_SCHEMA,
        share_type="conditional",
        frequency="daily",
        subject_kind="enterprise",
        subject_field="credit_code",
        keywords="企业,登记",
    )
    sub = actions.do_publish_dataset(
        actor=staff,
        code="subsidy_a",
        name="救助补贴发放",
        schema=SUBSIDY_SCHEMA,
        share_type="conditional",
        frequency="monthly",
        subject_kind="person",
        subject_field="id_number",
    )
    credit = w.users["enterprise_a"].credit_code
    w.extra["credit_code_a"] = credit
    w.extra["version_a"] = actions.do_load_dataset(
        actor=staff,
        code=ent.code,
        source="csv",
        content=enterprise_csv(
            [(credit, "测试企业a", "王小明", "330106199003070011", "500", "2019-05-01")]
        ),
        filename="ent.csv",
    )
    actions.do_load_dataset(
        actor=staff,
        code=sub.code,
        source="api",
        content=[
            {
                "id_number": w.users["resident_a"].id_number,
                "year": 2025,
                "kind": "低保",
                "amount": 7200,
            }
        ],
    )
    today = timezone.localdate()
    g = actions.do_request_grant(
        actor=w.users["data_admin_a"],
        dataset_code=ent.code,
        fields=["credit_code", "name", "legal_rep", "capital"],
        purpose="企业画像",
        legal_basis="《政务数据共享管理办法》",
        valid_from=today,
        valid_to=today + dt.timedelta(days=365),
        daily_quota=100,
    )
    w.extra["grant_a"] = actions.do_decide_grant(
        actor=w.users["dept_leader_a"], grant_id=g.pk, decision="approve"
    )
    w.extra["pending_grant_a"] = actions.do_request_grant(
        actor=w.users["data_admin_a"],
        dataset_code=sub.code,
        fields=["year", "kind", "amount"],
        purpose="救助核对",
        legal_basis="《社会救助暂行办法》",
        valid_from=today,
        valid_to=today + dt.timedelta(days=90),
        daily_quota=10,
    )
    client, credential = actions.do_create_client(
        actor=None, name="数据局a 画像系统", department=w.departments["admin_a"]
    )
    w.extra["client_a"] = client
    w.extra["credential_a"] = credential
    w.extra["dataset_a"] = ent
    w.extra["subsidy_dataset_a"] = sub
