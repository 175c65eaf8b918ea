"""Test builders for 政策通: enterprises in the test world, documents, items through the
real actions (maker → checker), enterprise facts."""

from __future__ import annotations

import datetime as dt
from itertools import count
from typing import Any

from django.utils import timezone

from yiwang.policies import actions, delivery
from yiwang.policies.models import PolicyDocument, PolicyItem
from yiwang.registry.models import Organisation

_seq = count(1)

DISTRICT = {"a": "330106", "b": "330108"}


def rule(district: str = "330106", revenue: float = 500, *, amount: bool = True) -> dict[str, Any]:
    """In the district, last year's revenue at least ``revenue`` 万元, a manufacturer; 1% of
    revenue as the amount."""
    r: dict[str, Any] = {
        "when": {
            "all": [
                {
                    "id": "in_district",
                    "clause": "第二条",
                    "expr": f'registered_district == "{district}"',
                },
                {
                    "id": "revenue",
                    "clause": "第三条（一）",
                    "expr": f"revenue@FY-1 >= {revenue}万元",
                },
                {"id": "manufacturing", "clause": "第三条（二）", "expr": 'industry in ["C*"]'},
            ]
        }
    }
    if amount:
        r["amount"] = {
            "unit": "万元",
            "label": {"zh": "补助金额", "en": "subsidy"},
            "formula": {"mul": [{"fact": "revenue@FY-1"}, {"const": 0.01}]},
        }
    return r


def organisation(w: Any, side: str = "a", *, credit_code: str = "", **kw: Any) -> Organisation:
    n = next(_seq)
    grid = w.extra[f"grid_{side}"]
    defaults: dict[str, Any] = {
        "name": f"测试制造企业{side}{n}",
        "industry_code": "C3911",
        "size_class": "small",
        "founded_on": dt.date(2015, 5, 1),
        "registered_capital": 1000,
        "grid": grid,
        "lng": grid.centroid_lng,
        "lat": grid.centroid_lat,
        "synthetic": True,
    }
    defaults.update(kw)
    return Organisation.objects.create(
        credit_code=credit_code or f"91{DISTRICT[side]}MA{n:08d}X"[:18], **defaults
    )


def document(w: Any, side: str = "a", **kw: Any) -> PolicyDocument:
    data: dict[str, Any] = {
        "title": f"关于支持制造业发展的若干政策{side}",
        "doc_number": f"某区经信〔2026〕{next(_seq)}号",
        "issuer_names": "区经信局、区财政局",
        "issued_on": dt.date(2026, 1, 10),
        "effective_from": dt.date(2026, 2, 1),
        "region_code": DISTRICT[side],
        "full_text": "第一条 为支持制造业发展……\n第二条 注册在本区。\n第三条 上年度营业收入……",
    }
    data.update(kw)
    return actions.create_document(w.users[f"dept_staff_{side}"], **data)


def draft_item(w: Any, side: str = "a", doc: PolicyDocument | None = None, **kw: Any) -> PolicyItem:
    doc = doc or document(w, side)
    data: dict[str, Any] = {
        "code": f"test-item-{side}-{next(_seq)}",
        "title": f"制造业营收奖励{side}",
        "benefit_type": "award",
        "department": w.departments[f"bureau_{side}"],
        "summary": "上年度营收达标的制造业企业",
        "rule": rule(DISTRICT[side]),
        "opens_on": timezone.localdate() - dt.timedelta(days=10),
        "closes_on": timezone.localdate() + dt.timedelta(days=60),
    }
    data.update(kw)
    return actions.create_item(w.users[f"dept_staff_{side}"], doc, **data)


def publish(w: Any, item: PolicyItem, side: str = "a", *, run: bool = True) -> PolicyItem:
    """Maker submits, checker (the department leader) approves; with ``run`` the matching and
    delivery the after-commit event would queue are run here directly."""
    actions.submit_for_review(w.users[f"dept_staff_{side}"], item)
    actions.approve(w.users[f"dept_leader_{side}"], item, "同意发布")
    item.refresh_from_db()
    if run:
        delivery.on_published(item.pk)
    return item


def published_item(w: Any, side: str = "a", **kw: Any) -> PolicyItem:
    return publish(w, draft_item(w, side, **kw), side)


def revenue(org: Organisation, value: float, year: int | None = None) -> None:
    fy = year or timezone.localdate().year - 1
    actions.set_fact(
        None,
        org,
        "revenue",
        value,
        period=f"FY{fy}",
        source="税务局年度企业所得税申报",
        notify=False,
    )


def enterprise_org(w: Any, side: str = "a", **kw: Any) -> Organisation:
    """The organisation of the world's enterprise user on ``side``."""
    user = w.users[f"enterprise_{side}"]
    org = Organisation.objects.filter(credit_code=user.credit_code).first()
    return org or organisation(w, side, credit_code=user.credit_code, **kw)
