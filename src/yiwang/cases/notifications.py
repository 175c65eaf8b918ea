"""Case messages beyond in-app: email and SMS to the reporter and to the handlers.

Every case action leaves in-app ``Message`` rows and publishes ``cases.changed`` after commit.
``queue_case_messages`` (a background subscriber) queues one job per new message;
``deliver_message`` (run by that job) sends it by email and SMS to each person it is for:

- a message to the case's reporter (or, with no user, to the case's contact details): the
  contact phone and email given with the report, else the reporter account's phone and email,
  unless the reporter opted out;
- a message to a department (and role): each active member (with that role) by their account's
  email and phone;
- a reporter with no account (Open311, 12345) has no inbox: the public steps of their case's
  timeline are sent to the case's contact details instead (``deliver_case_event``).

Texts are composed from the message kind and the case (``cases.messages``), never from
free-text notes, in each recipient's language (ADR 0022), and carry no personal data. Each
delivery (message × channel × person) is recorded in the audit log
(``cases.notification_sent``, naming the personal-data fields read); the job skips those
already recorded, so a retry or a second event never sends the same message twice to the
same person. A failure is recorded (``cases.notification_failed``) and raised so the queue
retries it; a permanent failure (the gateway refused the message) is recorded and not retried.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from yiwang.accounts.language import language_of
from yiwang.accounts.models import User
from yiwang.cases.actions import _PUBLIC
from yiwang.cases.messages import REPORTER, STAFF, compose
from yiwang.cases.models import Case, CaseEvent, Message
from yiwang.core import audit, events, notify
from yiwang.core.models import AuditRecord, AuditResult

log = logging.getLogger(__name__)

SENT = "cases.notification_sent"
FAILED = "cases.notification_failed"
PURPOSE = "case notification"
SIGNATURE = "【一网统管】"
#: Messages older than this are not sent when a later change of their case comes along
#: (so switching email/SMS on does not send a case's whole history).
MAX_AGE = dt.timedelta(hours=48)
#: Timeline steps sent to a reporter who has no account (the same ones an account holder gets
#: in-app; the follow-up question travels as a message of its own).
CONTACT_STEPS = frozenset({"report", *_PUBLIC})


class DeliveryFailed(Exception):
    """Some deliveries of a message failed and are worth retrying."""


@dataclass(frozen=True)
class Delivery:
    channel: notify.Channel
    to: str
    recipient: str  # "reporter" or "user:<id>"
    audience: str  # REPORTER or STAFF
    fields: tuple[str, ...]  # personal-data fields read to find ``to``
    subject_id: str = ""
    language: str = settings.LANGUAGE_CODE  # the recipient's (ADR 0022)

    @property
    def ref(self) -> str:
        return f"{self.channel}:{self.recipient}"


# --- Who --------------------------------------------------------------------------------------
def reporter_opted_out(case: Case) -> bool:
    """Whether the reporter asked for in-app messages only (``ReporterSettings`` on their
    account, set on the "My reports" page)."""
    from yiwang.cases.models import ReporterSettings

    if case.reporter_id is None:
        return False
    return ReporterSettings.objects.filter(user_id=case.reporter_id, notify_opt_out=True).exists()


def reporter_deliveries(case: Case) -> list[Delivery]:
    if reporter_opted_out(case):
        return []
    user = case.reporter
    subject = str(user.pk) if user is not None else f"case:{case.pk}"
    out = []
    if case.contact_phone:
        out.append(Delivery("sms", case.contact_phone, REPORTER, REPORTER, ("contact_phone",)))
    elif user is not None and user.phone:
        out.append(Delivery("sms", user.phone, REPORTER, REPORTER, ("phone",)))
    if case.contact_email:
        out.append(Delivery("email", case.contact_email, REPORTER, REPORTER, ("contact_email",)))
    elif user is not None and user.email:
        out.append(Delivery("email", user.email, REPORTER, REPORTER, ("email",)))
    lang = language_of(user)
    return [
        Delivery(d.channel, d.to, d.recipient, d.audience, d.fields, subject, lang) for d in out
    ]


def user_deliveries(user: User, audience: str) -> list[Delivery]:
    if not user.is_active:
        return []
    ref, subject, lang = f"user:{user.pk}", str(user.pk), language_of(user)
    out = []
    if user.phone:
        out.append(Delivery("sms", user.phone, ref, audience, ("phone",), subject, lang))
    if user.email:
        out.append(Delivery("email", user.email, ref, audience, ("email",), subject, lang))
    return out


def deliveries_for(message: Message) -> list[Delivery]:
    case = message.case
    if message.recipient_id is not None:
        if case is not None and message.recipient_id == case.reporter_id:
            return reporter_deliveries(case)
        assert message.recipient is not None
        return user_deliveries(message.recipient, STAFF)
    if message.department_id is not None:
        members = User.objects.filter(department_id=message.department_id, is_active=True)
        if message.role:
            members = members.filter(role=message.role)
        return [d for u in members.order_by("pk") for d in user_deliveries(u, STAFF)]
    if case is not None:  # addressed to the case's reporter by contact details only
        return reporter_deliveries(case)
    return []


# --- What -------------------------------------------------------------------------------------
# Texts are composed by ``cases.messages`` in each recipient's language (their account's, or
# the platform default for a reporter known only by contact details). The SMS signature is
# the same in every language: carriers accept only the registered one.


def render(message: Message, delivery: Delivery) -> tuple[str, str]:
    """(subject, body) as sent on the delivery's channel, in the recipient's language."""
    with translation.override(delivery.language):
        headline, body = compose(message, delivery.audience)
        number = _("Case #%(id)s") % {"id": message.case_id} + " " if message.case_id else ""
        subject = f"{SIGNATURE}{number}{headline}"
        if delivery.channel == "sms":
            return "", SIGNATURE + body
        return subject, body + "\n\n" + _(
            "This email was sent automatically; please do not reply to it."
        )


# --- Sending ----------------------------------------------------------------------------------
def delivered_refs(object_type: str, object_id: int) -> set[str]:
    details = AuditRecord.objects.filter(
        event=SENT, object_type=object_type, object_id=str(object_id)
    ).values_list("detail", flat=True)
    return {str(d.get("ref", "")) for d in details if isinstance(d, dict)}


def deliver_message(message_id: int) -> dict[str, int]:
    """Send one in-app message on every channel to every person it is for, skipping
    deliveries already recorded. Raises ``DeliveryFailed`` when a retry may help."""
    message = (
        Message.objects.select_related("case", "case__category", "case__reporter", "recipient")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return {"sent": 0, "skipped": 0, "failed": 0}
    return _deliver(message, message, deliveries_for(message), f"case-message-{message.pk}")


def deliver_case_event(event_id: int) -> dict[str, int]:
    """A reporter known only by contact details (Open311, the 12345 desk) has no in-app
    inbox: the public steps of their case's timeline are sent to them instead."""
    event = (
        CaseEvent.objects.select_related("case", "case__category")
        .filter(pk=event_id, transition__in=CONTACT_STEPS)
        .first()
    )
    if event is None or event.case.reporter_id is not None:
        return {"sent": 0, "skipped": 0, "failed": 0}
    kind = "reported" if event.transition == "report" else event.transition
    message = Message(case=event.case, kind=kind, text="")  # not saved: only composed
    return _deliver(event, message, reporter_deliveries(event.case), f"case-event-{event.pk}")


def _deliver(
    record_on: Message | CaseEvent, message: Message, deliveries: list[Delivery], key: str
) -> dict[str, int]:
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    object_type = record_on._meta.label_lower
    done = delivered_refs(object_type, record_on.pk)
    retry = False
    for d in deliveries:
        if d.ref in done:
            counts["skipped"] += 1
            continue
        done.add(d.ref)
        subject, body = render(message, d)
        detail: dict[str, Any] = {
            "case": message.case_id,
            "kind": message.kind,
            "channel": d.channel,
            "ref": d.ref,
            "to": notify.mask_recipient(d.channel, d.to),
        }
        try:
            if d.channel == "email":
                notify.send_email(d.to, subject, body, key=f"{key}-{d.ref}")
            else:
                notify.send_sms(d.to, body, key=f"{key}-{d.ref}")
        except Exception as exc:
            permanent = isinstance(exc, ValueError) or (
                isinstance(exc, notify.NotifyError) and exc.permanent
            )
            retry = retry or not permanent
            counts["failed"] += 1
            error = str(exc) if isinstance(exc, notify.NotifyError) else type(exc).__name__
            audit.record(
                FAILED,
                obj=record_on,
                subject_id=d.subject_id,
                fields=d.fields,
                purpose=PURPOSE,
                result=AuditResult.FAILED,
                detail={**detail, "error": error[:200], "permanent": permanent},
            )
            log.warning("%s by %s to %s failed: %s", key, d.channel, d.ref, error)
            continue
        audit.record(
            SENT,
            obj=record_on,
            subject_id=d.subject_id,
            fields=d.fields,
            purpose=PURPOSE,
            detail=detail,
        )
        counts["sent"] += 1
    if retry:
        raise DeliveryFailed(f"{key}: {counts['failed']} deliveries failed")
    return counts


def _untouched(object_type: str, ids: list[int]) -> list[int]:
    if not ids:
        return []
    touched = set(
        AuditRecord.objects.filter(
            event__in=[SENT, FAILED],
            object_type=object_type,
            object_id__in=[str(i) for i in ids],
        ).values_list("object_id", flat=True)
    )
    return [i for i in ids if str(i) not in touched]


def pending_message_ids(case_id: int, *, now: dt.datetime | None = None) -> list[int]:
    """Recent messages of the case that no delivery attempt has touched yet."""
    since = (now or timezone.now()) - MAX_AGE
    ids = Message.objects.filter(case_id=case_id, created_at__gte=since).order_by("pk")
    return _untouched("cases.message", list(ids.values_list("pk", flat=True)))


def pending_contact_event_ids(case_id: int, *, now: dt.datetime | None = None) -> list[int]:
    """Recent public steps of a case whose reporter has no account, not yet sent."""
    since = (now or timezone.now()) - MAX_AGE
    ids = CaseEvent.objects.filter(
        case_id=case_id,
        case__reporter__isnull=True,
        transition__in=CONTACT_STEPS,
        public=True,
        at__gte=since,
    ).order_by("pk")
    return _untouched("cases.caseevent", list(ids.values_list("pk", flat=True)))


@events.subscriber("cases.changed", background=True)
def queue_case_messages(payload: dict[str, Any]) -> None:
    """After a case changed: queue a send job for each of its new messages (and, for a
    reporter without an account, for each new public step)."""
    from yiwang.cases.tasks_notify import send_case_event, send_case_message

    case_id = int(payload["case_id"])
    for message_id in pending_message_ids(case_id):
        send_case_message(message_id)
    for event_id in pending_contact_event_ids(case_id):
        send_case_event(event_id)
