"""Email/SMS to a department when one of its rectifications is overdue.

Recipients: the department's active members who handle ratings (``selectors.HANDLE``). Each
delivery (channel × person) is recorded in the audit log (``ratings.notification_sent``, the
field read named, the recipient masked); a retry skips those already recorded. Texts are in
zh-Hans and carry no personal data and no comment text.
"""

from __future__ import annotations

from django.utils import timezone

from yiwang.accounts.models import User
from yiwang.core import audit, notify
from yiwang.core.models import AuditRecord, AuditResult
from yiwang.ratings.models import Rectification, RectificationStatus
from yiwang.ratings.selectors import HANDLE

SENT = "ratings.notification_sent"
FAILED = "ratings.notification_failed"
PURPOSE = "rectification overdue notice"
SIGNATURE = "【好差评】"


def _recipients(rect: Rectification) -> list[tuple[str, str, User]]:
    out: list[tuple[str, str, User]] = []
    for u in User.objects.filter(department_id=rect.department_id, is_active=True).order_by("pk"):
        if not u.can(HANDLE):
            continue
        if u.phone:
            out.append(("sms", u.phone, u))
        if u.email:
            out.append(("email", u.email, u))
    return out


def _text(rect: Rectification) -> tuple[str, str]:
    inv = rect.rating.invitation
    due = timezone.localtime(rect.due_at)
    subject = f"{SIGNATURE}差评整改已超期"
    body = (
        f"差评整改任务 #{rect.pk}（{inv.matter_name}）已超过整改期限"
        f"（{due:%Y年%m月%d日 %H:%M}），请尽快回访并整改。"
    )
    return subject, body


def deliver_overdue(rectification_id: int) -> dict[str, int]:
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    rect = (
        Rectification.objects.select_related("rating__invitation")
        .filter(pk=rectification_id, overdue=True)
        .first()
    )
    if rect is None or rect.status not in {
        RectificationStatus.OPEN,
        RectificationStatus.CALLED_BACK,
    }:
        return counts
    done = {
        str((d or {}).get("ref", ""))
        for d in AuditRecord.objects.filter(
            event=SENT, object_type="ratings.rectification", object_id=str(rect.pk)
        ).values_list("detail", flat=True)
    }
    subject, body = _text(rect)
    retry = False
    for channel, to, user in _recipients(rect):
        ref = f"{channel}:user:{user.pk}"
        if ref in done:
            counts["skipped"] += 1
            continue
        detail = {"ref": ref, "channel": channel, "to": notify.mask_recipient(channel, to)}  # type: ignore[arg-type]
        field = "email" if channel == "email" else "phone"
        key = f"ratings-overdue-{rect.pk}-{ref}"
        try:
            if channel == "email":
                notify.send_email(to, subject, body, key=key)
            else:
                notify.send_sms(to, SIGNATURE + body, key=key)
        except Exception as exc:
            permanent = isinstance(exc, ValueError) or (
                isinstance(exc, notify.NotifyError) and exc.permanent
            )
            retry = retry or not permanent
            counts["failed"] += 1
            audit.record(
                FAILED,
                obj=rect,
                subject_id=str(user.pk),
                fields=[field],
                purpose=PURPOSE,
                result=AuditResult.FAILED,
                detail={**detail, "error": type(exc).__name__},
            )
            continue
        audit.record(
            SENT, obj=rect, subject_id=str(user.pk), fields=[field], purpose=PURPOSE, detail=detail
        )
        counts["sent"] += 1
    if retry:
        raise notify.NotifyError(f"rectification {rect.pk}: {counts['failed']} sends failed")
    return counts
