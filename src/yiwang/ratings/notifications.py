"""Email/SMS to a department when its rectifications fall overdue: one digest per sweep.

Recipients: the department's active members who handle ratings (``selectors.HANDLE``). A sweep
that marks several of a department's tasks overdue sends each handler one message naming how
many and which (up to five task numbers), not one message per task. Each delivery (channel ×
person) is recorded in the audit log (``ratings.notification_sent`` on the department, the
field read named, the recipient masked, the batch key); a retry skips those already recorded.
Texts are in each handler's language (ADR 0022) and carry no personal data and no comment
text.
"""

from __future__ import annotations

import hashlib

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from yiwang.accounts.language import in_language_of
from yiwang.accounts.models import User
from yiwang.core import audit, notify
from yiwang.core.models import AuditRecord, AuditResult
from yiwang.ratings.models import PENDING_STATES, Rectification
from yiwang.ratings.selectors import HANDLE

SENT = "ratings.notification_sent"
FAILED = "ratings.notification_failed"
PURPOSE = "rectification overdue notice"
SIGNATURE = "【好差评】"
LISTED = 5


def batch_key(department_id: int, rectification_ids: list[int]) -> str:
    text = f"{department_id}:" + ",".join(str(i) for i in sorted(rectification_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _recipients(department_id: int) -> list[tuple[str, str, User]]:
    out: list[tuple[str, str, User]] = []
    for u in User.objects.filter(department_id=department_id, is_active=True).order_by("pk"):
        if not u.can(HANDLE):
            continue
        if u.phone:
            out.append(("sms", u.phone, u))
        if u.email:
            out.append(("email", u.email, u))
    return out


def _text(ids: list[int]) -> tuple[str, str]:
    """(subject, body) in the active language (the recipient's: ``deliver_overdue``)."""
    listed = _(", ").join(f"#{i}" for i in ids[:LISTED])
    if len(ids) > LISTED:
        listed = _("%(listed)s and others") % {"listed": listed}
    subject = SIGNATURE + _("Rectification of poor ratings overdue")
    body = ngettext(
        "%(n)d rectification task of your department for a poor rating is past its deadline "
        "(%(listed)s): follow up and rectify it as soon as possible.",
        "%(n)d rectification tasks of your department for poor ratings are past their "
        "deadline (%(listed)s): follow up and rectify them as soon as possible.",
        len(ids),
    ) % {"n": len(ids), "listed": listed}
    return subject, body


def deliver_overdue(department_id: int, rectification_ids: list[int]) -> dict[str, int]:
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    ids = sorted(
        Rectification.objects.filter(
            pk__in=rectification_ids,
            department_id=department_id,
            overdue=True,
            status__in=PENDING_STATES,
        ).values_list("pk", flat=True)
    )
    if not ids:
        return counts
    key = batch_key(department_id, rectification_ids)
    done = {
        str((d or {}).get("ref", ""))
        for d in AuditRecord.objects.filter(
            event=SENT, object_type="accounts.department", object_id=str(department_id)
        ).values_list("detail", flat=True)
        if (d or {}).get("batch") == key
    }
    retry = False
    for channel, to, user in _recipients(department_id):
        ref = f"{channel}:user:{user.pk}"
        if ref in done:
            counts["skipped"] += 1
            continue
        with in_language_of(user):  # ADR 0022
            subject, body = _text(ids)
        detail = {
            "ref": ref,
            "batch": key,
            "channel": channel,
            "to": notify.mask_recipient(channel, to),  # type: ignore[arg-type]
            "rectifications": ids[:50],
        }
        field = "email" if channel == "email" else "phone"
        msg_key = f"ratings-overdue-{key}-{ref}"
        try:
            if channel == "email":
                notify.send_email(to, subject, body, key=msg_key)
            else:
                notify.send_sms(to, SIGNATURE + body, key=msg_key)
        except Exception as exc:
            permanent = isinstance(exc, ValueError) or (
                isinstance(exc, notify.NotifyError) and exc.permanent
            )
            retry = retry or not permanent
            counts["failed"] += 1
            audit.record(
                FAILED,
                object_type="accounts.department",
                object_id=department_id,
                subject_id=str(user.pk),
                fields=[field],
                purpose=PURPOSE,
                result=AuditResult.FAILED,
                detail={**detail, "error": type(exc).__name__},
            )
            continue
        audit.record(
            SENT,
            object_type="accounts.department",
            object_id=department_id,
            subject_id=str(user.pk),
            fields=[field],
            purpose=PURPOSE,
            detail=detail,
        )
        counts["sent"] += 1
    if retry:
        raise notify.NotifyError(f"department {department_id}: {counts['failed']} sends failed")
    return counts
