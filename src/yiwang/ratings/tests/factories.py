"""Rated services for tests: invitations made through the action the event calls."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from yiwang.ratings import actions

_seq = itertools.count(1)


def payload(w: Any, side: str = "a", **over: Any) -> dict[str, Any]:
    """An ``onestop.matter_completed`` payload for ``resident_<side>`` by ``bureau_<side>``."""
    n = next(_seq)
    dept = w.departments[f"bureau_{side}"]
    data = {
        "service_ref": f"onestop.applicationmatter:{9000 + n}",
        "application_no": f"YW-20261201-{n:06d}",
        "matter_code": f"11330106MB0000000X400011{n:04d}",
        "matter_name": "户外广告设施设置审批",
        "department_id": dept.pk,
        "department_name": dept.name,
        "applicant_user_id": w.users[f"resident_{side}"].pk,
        "channel": "online",
        "completed_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
    }
    data.update(over)
    return data


def invite(w: Any, side: str = "a", **over: Any) -> Any:
    inv = actions.invite_from_event(payload(w, side, **over))
    assert inv is not None
    return inv


def rate(w: Any, inv: Any, level: str = "1", **kw: Any) -> Any:
    rater = inv.rater
    if level in {"1", "2"}:
        kw.setdefault("problems", ["slow"])
    return actions.do_rate_service(actor=rater, invitation_id=inv.pk, level=level, **kw)


def build(w: Any) -> None:
    """Per side: a pending invitation, a negative rating with an open rectification, one
    called back, one rectified, a negative rating appealed, a positive rating."""
    for side in ("a", "b"):
        staff = w.users[f"dept_staff_{side}"]
        w.extra[f"inv_{side}"] = invite(w, side)
        neg = rate(w, invite(w, side), "1", comment="等了很久")
        w.extra[f"neg_{side}"] = neg
        w.extra[f"rect_{side}"] = neg.rectification
        cb = rate(w, invite(w, side), "2")
        w.extra[f"rect_cb_{side}"] = actions.do_record_callback(
            actor=staff, rectification_id=cb.rectification.pk, notes="已电话回访"
        )
        done = rate(w, invite(w, side), "2")
        actions.do_record_callback(
            actor=staff, rectification_id=done.rectification.pk, notes="已电话回访"
        )
        w.extra[f"rect_done_{side}"] = actions.do_record_rectification(
            actor=staff, rectification_id=done.rectification.pk, result="已优化办事指南"
        )
        appealed = rate(w, invite(w, side), "1")
        w.extra[f"appealed_{side}"] = appealed
        w.extra[f"appeal_{side}"] = actions.do_appeal_rating(
            actor=staff, rating_id=appealed.pk, reason="评价内容与本部门服务无关"
        )
        w.extra[f"pos_{side}"] = rate(w, invite(w, side), "5")
