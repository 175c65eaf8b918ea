"""The four-week follow-up of 部件 cases: "is it still fixed?".

When a 部件 case is verified and closed, ``follow_up_at`` is set four weeks ahead
(``actions.FOLLOW_UP_AFTER``). ``do_send_follow_ups`` (an hourly job, daytime only) asks the
reporter of each such case once: a ``follow_up`` row on the timeline, an in-app message (or,
for a reporter known only by contact details, a message the notification job sends by SMS
and email), an audit record and ``cases.changed``.

``do_answer_follow_up`` records the answer. "Still broken" reopens the case through the
existing reopen transition when the answer is recorded by a centre operator in scope (for a
reporter who answered by phone or SMS); when the reporter answers themselves, the case goes to
review and the centre is asked to reopen it, since the workflow lets only the centre reopen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.accounts.models import User
from yiwang.accounts.roles import Role
from yiwang.cases.messages import new_message
from yiwang.cases.models import Case, CaseEvent, CategoryKind
from yiwang.cases.routing import centre_for
from yiwang.cases.selectors import access_case
from yiwang.cases.workflow import actor_fits
from yiwang.core import audit, events
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed

ASKED = "follow_up"
ANSWERED = "follow_up_answer"
FOLLOW_UP_STATES = ("closed", "rated")
#: Questions go out between these local (Asia/Shanghai) hours only.
DAY_START, DAY_END = 9, 20
BATCH = 500
PURPOSE = "部件 follow-up"


def due_follow_ups(now: dt.datetime) -> QuerySet[Case]:
    """Closed 部件 cases whose follow-up date has come and that were not asked since closing."""
    asked = CaseEvent.objects.filter(
        case=OuterRef("pk"), transition=ASKED, at__gte=OuterRef("closed_at")
    )
    return (
        Case.objects.filter(
            category__kind=CategoryKind.COMPONENT,
            state_id__in=FOLLOW_UP_STATES,
            follow_up_at__lte=now,
            closed_at__isnull=False,
        )
        .exclude(Exists(asked))
        .order_by("follow_up_at", "pk")
    )


def do_send_follow_ups(
    *, now: dt.datetime | None = None, limit: int = BATCH, daytime_only: bool = True
) -> dict[str, Any]:
    """Ask every due case once (at most ``limit`` per run; the next run takes the rest)."""
    now = now or timezone.now()
    hour = timezone.localtime(now).hour
    if daytime_only and not DAY_START <= hour < DAY_END:
        return {"asked": 0, "quiet_hours": True}
    asked = 0
    for case_id in list(due_follow_ups(now).values_list("pk", flat=True)[:limit]):
        asked += _ask(case_id, now)
    return {"asked": asked}


def _ask(case_id: int, now: dt.datetime) -> int:
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("category")
            .filter(pk=case_id)
            .first()
        )
        if case is None or not due_follow_ups(now).filter(pk=case_id).exists():
            return 0  # another run got there first
        CaseEvent.objects.create(
            case=case,
            transition=ASKED,
            from_state=case.state_id,
            to_state=case.state_id,
            detail={"follow_up_at": case.follow_up_at.isoformat() if case.follow_up_at else None},
        )
        # To the reporter's account, or (no account) to the case's contact details only:
        # a row no one sees in-app that the notification job sends by SMS/email.
        message = new_message(recipient_id=case.reporter_id, case=case, kind=ASKED)
        message.save()
        audit.record(
            "cases.follow_up_sent",
            obj=case,
            purpose=PURPOSE,
            detail={"reporter": "user" if case.reporter_id else "contact"},
        )
        events.publish("cases.changed", {"case_id": case.pk, "transition": ASKED})
    return 1


def pending_question(case: Case) -> CaseEvent | None:
    """The follow-up question asked since the case was closed, if not answered yet."""
    if case.closed_at is None or case.state_id not in FOLLOW_UP_STATES:
        return None
    asked = (
        CaseEvent.objects.filter(case=case, transition=ASKED, at__gte=case.closed_at)
        .order_by("-at", "-pk")
        .first()
    )
    if asked is None:
        return None
    if CaseEvent.objects.filter(case=case, transition=ANSWERED, pk__gt=asked.pk).exists():
        return None
    return asked


def do_answer_follow_up(*, actor: User, case_id: int, still_fixed: bool, note: str = "") -> Case:
    """Record the reporter's answer (by the reporter, or by a centre operator on their behalf).

    Still broken: an operator's recording reopens the case (the ``reopen`` transition); the
    reporter's own answer puts the case under review and asks the centre to reopen it.
    """
    from yiwang.cases.actions import do_transition_case

    note = (note or "").strip()
    if len(note) > 1000:
        raise ValidationFailed(fields={"note": [_("At most 1000 characters.")]})
    with transaction.atomic():
        access_case(actor, case_id)  # 404 outside scope
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("category", "state", "department")
            .get(pk=case_id)
        )
        is_reporter = actor_fits("reporter", actor, case)
        is_centre = actor_fits("centre", actor, case)
        if not (is_reporter or is_centre):
            raise Forbidden(_("Only the reporter, or the centre on their behalf, answers."))
        if pending_question(case) is None:
            raise Conflict(_("This case has no open follow-up question."))
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            actor_department=actor.department,
            transition=ANSWERED,
            from_state=case.state_id,
            to_state=case.state_id,
            note=note,
            detail={"still_fixed": still_fixed, "on_behalf": not is_reporter},
        )
        audit.record(
            "cases.follow_up_answered",
            actor=actor,
            obj=case,
            purpose=PURPOSE,
            detail={"still_fixed": still_fixed, "on_behalf": not is_reporter},
        )
        if not still_fixed:
            if is_centre:
                case = do_transition_case(
                    actor=actor,
                    case_id=case.pk,
                    transition="reopen",
                    note=note or "回访：报告人反映问题仍未解决",
                )
            else:
                case.under_review = True
                case.save(update_fields=["under_review", "updated_at"])
                centre = centre_for(case.division_prefix)
                if centre is not None:
                    new_message(
                        department=centre, role=Role.OPERATOR, case=case, kind="follow_up_broken"
                    ).save()
        events.publish("cases.changed", {"case_id": case.pk, "transition": ANSWERED})
    return case
