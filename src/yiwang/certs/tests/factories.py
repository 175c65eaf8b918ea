"""Certificate types and certificates in the two-territory test world."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from yiwang.certs import actions
from yiwang.certs.demo import seed_types
from yiwang.certs.models import Certificate

LICENCE = "business_licence"
SSCARD = "social_security_card"

LICENCE_DATA = {
    "enterprise_type": "有限责任公司",
    "legal_representative": "张三丰",
    "founded": "2020-01-02",
    "address": "测试路1号",
}


def issue(w: Any, side: str = "a", **kw: Any) -> Certificate:
    """A social security card for ``resident_<side>``, issued by ``bureau_<side>``."""
    res = w.users[f"resident_{side}"]
    res.refresh_from_db()  # other apps' world builders may have changed the ID number
    args: dict[str, Any] = {
        "actor": w.users[f"dept_staff_{side}"],
        "type_code": SSCARD,
        "holder_name": res.display_name,
        "holder_code": res.id_number,
        "holder_code_type": "ric",
        "holder_user": res,
        "issuing_department": w.departments[f"bureau_{side}"],
        "data": {"card_number": f"A{side}0001"},
        "valid_from": timezone.localdate() - dt.timedelta(days=10),
        "valid_to": None,
        "area_code": w.divisions[f"county_{side}"].code,
        "source_ref": "",
    }
    args.update(kw)
    return actions.do_issue_certificate(**args)


def issue_licence(w: Any, side: str = "a", **kw: Any) -> Certificate:
    ent = w.users[f"enterprise_{side}"]
    ent.refresh_from_db()
    return issue(
        w,
        side,
        type_code=LICENCE,
        holder_name=ent.enterprise_name,
        holder_code=ent.credit_code,
        holder_code_type="uscc",
        holder_user=ent,
        **{"data": dict(LICENCE_DATA), **kw},
    )


def build(w: Any) -> None:
    seed_types()
    w.extra["cert_a"] = issue(w, "a")
    w.extra["cert_b"] = issue(w, "b")
    w.extra["licence_a"] = issue_licence(w, "a")
    w.extra["copy_a"] = actions.do_create_copy(
        actor=w.users["resident_a"],
        identifier=w.extra["cert_a"].identifier,
        purpose="办理就业登记",
        recipient_department=w.departments["admin_a"],
    )
