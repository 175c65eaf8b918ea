"""Demo data for electronic certificates: the certificate types and a handful of issued
certificates (one revoked, one copy) for the demo resident and enterprise accounts.

``seed()`` runs after the main demo seed (it needs its departments and users) and is
idempotent: types are updated in place, certificates are issued once (by ``source_ref``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from yiwang.accounts.models import Department, User
from yiwang.certs import actions
from yiwang.certs.models import Certificate, CertificateType
from yiwang.certs.standard_types import upsert_types


@dataclass
class CertsSeedReport:
    types: int = 0
    certificates: int = 0
    copies: int = 0
    revoked: int = 0


def seed_types() -> int:
    """The standard types (migration 0002 made them; this refreshes them)."""
    return upsert_types(CertificateType)


def seed(*, district_code: str = "") -> CertsSeedReport:
    """Types, and certificates issued to the demo ``resident`` and ``enterprise`` accounts
    (and a few more residents) by the demo bureaus."""
    report = CertsSeedReport(types=seed_types())
    district_code = district_code or settings.YIWANG_DEMO_DIVISION
    prefix = f"{district_code}-"

    def dept(code: str) -> Department | None:
        return Department.objects.filter(code=prefix + code).first()

    scj, cgj, rsj, mzj = dept("scj"), dept("cgj"), dept("rsj"), dept("mzj")
    today = timezone.localdate()
    ent = User.objects.filter(username="enterprise").first()
    res = User.objects.filter(username="resident").first()
    plan: list[dict[str, Any]] = []
    if ent is not None and ent.credit_code and scj is not None:
        name = ent.enterprise_name or "演示企业"
        common = {
            "holder_name": name,
            "holder_code": ent.credit_code,
            "holder_code_type": "uscc",
            "holder_user": ent,
        }
        plan.append(
            {
                **common,
                "ref": "demo:certs:licence",
                "type_code": "business_licence",
                "issuing_department": scj,
                "valid_from": today - dt.timedelta(days=400),
                "valid_to": None,
                "data": {
                    "name": name,
                    "enterprise_type": "有限责任公司（自然人投资或控股）",
                    "legal_representative": (res.display_name if res else "") or "张三",
                    "registered_capital": "500万元人民币",
                    "founded": (today - dt.timedelta(days=400)).isoformat(),
                    "address": "演示区东苑街道1号（演示）",
                    "business_scope": "餐饮服务；食品销售（演示）",
                },
            }
        )
        plan.append(
            {
                **common,
                "ref": "demo:certs:food",
                "type_code": "food_business_permit",
                "issuing_department": scj,
                "valid_from": today - dt.timedelta(days=200),
                "valid_to": None,
                "data": {
                    "operator": name,
                    "premises": "演示区东苑街道1号一层（演示）",
                    "main_format": "餐饮服务经营者（小型餐馆）",
                    "items": "热食类食品制售",
                },
            }
        )
        if cgj is not None:
            plan.append(
                {
                    **common,
                    "ref": "demo:certs:signboard",
                    "type_code": "signboard_permit",
                    "issuing_department": cgj,
                    "valid_from": today - dt.timedelta(days=30),
                    "valid_to": None,
                    "data": {
                        "holder": name,
                        "location": "演示区东苑街道1号沿街立面",
                        "size": "6米×1.2米",
                        "content": name,
                    },
                }
            )
    if res is not None and res.id_number:
        common = {
            "holder_name": res.display_name or "演示居民",
            "holder_code": res.id_number,
            "holder_code_type": "ric",
            "holder_user": res,
        }
        if rsj is not None:
            plan.append(
                {
                    **common,
                    "ref": "demo:certs:sscard",
                    "type_code": "social_security_card",
                    "issuing_department": rsj,
                    "valid_from": today - dt.timedelta(days=800),
                    "valid_to": None,
                    "data": {
                        "name": common["holder_name"],
                        "card_number": "A" + res.id_number[-8:],
                        "bank": "演示银行",
                    },
                }
            )
        if mzj is not None:
            plan.append(
                {
                    **common,
                    "ref": "demo:certs:birth",
                    "type_code": "birth_certificate",
                    "issuing_department": mzj,
                    "valid_from": today - dt.timedelta(days=30),
                    "valid_to": None,
                    "revoke": "信息登记有误，已重新签发（演示）",
                    "data": {
                        "child_name": "演示宝宝",
                        "sex": "女",
                        "born": (today - dt.timedelta(days=31)).isoformat(),
                        "place_of_birth": "演示区妇幼保健院",
                        "mother": common["holder_name"],
                    },
                }
            )
    for i, u in enumerate(
        User.objects.filter(username__startswith="resident0").order_by("username")[:5]
    ):
        if rsj is None or not u.id_number:
            continue
        plan.append(
            {
                "ref": f"demo:certs:sscard:{u.username}",
                "type_code": "social_security_card",
                "holder_name": u.display_name or u.username,
                "holder_code": u.id_number,
                "holder_code_type": "ric",
                "holder_user": u,
                "issuing_department": rsj,
                "valid_from": today - dt.timedelta(days=100 * (i + 1)),
                "valid_to": None,
                "data": {"card_number": "A" + u.id_number[-8:]},
            }
        )
    for item in plan:
        ref = item.pop("ref")
        revoke = item.pop("revoke", "")
        if Certificate.objects.filter(source_ref=ref).exists():
            continue
        dept_ = item["issuing_department"]
        cert = actions.do_issue_certificate(
            actor=None, area_code=dept_.division.code[:6], source_ref=ref, **item
        )
        report.certificates += 1
        if revoke:
            actions.do_revoke_certificate(actor=None, identifier=cert.identifier, reason=revoke)
            report.revoked += 1
        elif ref == "demo:certs:food" and cgj is not None and ent is not None:
            actions.do_create_copy(
                actor=ent,
                identifier=cert.identifier,
                purpose="申请户外招牌设置许可（演示）",
                recipient_department=cgj,
                expires_at=today + dt.timedelta(days=30),
            )
            report.copies += 1
    return report
