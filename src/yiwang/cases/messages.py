"""Case messages in the reader's language (ADR 0022).

A ``Message`` is stored as its kind, its case and a few parameters (``params``); its text is
rendered when read, in the active language — the reader's: the request's for pages and the
API, the recipient's (``accounts.language.in_language_of``) for email and SMS. ``text`` keeps
the rendering in the platform default language for older clients and for messages written
before ``params`` existed (which this module falls back to when it lacks what it needs).

Texts carry no personal data and are composed from the kind and the case, never from
free-text notes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from yiwang.cases.models import Message
from yiwang.cases.workflow import TRANSITIONS

REPORTER = "reporter"
STAFF = "staff"


def _zh() -> bool:
    return (translation.get_language() or settings.LANGUAGE_CODE).startswith("zh")


def _step(code: str) -> str | None:
    t = TRANSITIONS.get(code)
    if t is None:
        return None
    return t.zh if _zh() else str(t.name)


def _refs(message: Message) -> tuple[str, str]:
    """The case as named inside a sentence and at its start."""
    case = message.case
    assert case is not None
    values = {"id": case.pk, "category": case.category.name}
    return (
        _("case #%(id)s (%(category)s)") % values,
        _("Case #%(id)s (%(category)s)") % values,
    )


def compose(message: Message, audience: str) -> tuple[str, str]:
    """(headline, body) of ``message`` for the reporter or for staff, in the active language
    (email and SMS)."""
    case = message.case
    if case is None:
        return _("New message"), text_of(message)
    ref, Ref = _refs(message)
    kind = message.kind
    step = _step(kind)
    if audience == REPORTER:
        if kind == "reported":
            return _("Report received"), _(
                "Your report (%(category)s) was received; case number #%(id)s. We will deal "
                "with it as soon as possible."
            ) % {"category": case.category.name, "id": case.pk}
        if kind == "follow_up":
            if case.closed_at:
                closed = timezone.localtime(case.closed_at)
                date = _("%(year)d-%(month)02d-%(day)02d") % {
                    "year": closed.year,
                    "month": closed.month,
                    "day": closed.day,
                }
                asked = _(
                    "Your report %(ref)s was closed on %(date)s. Is the problem still solved? "
                    "Please reply under “My reports” or call 12345."
                ) % {"ref": ref, "date": date}
            else:
                asked = _(
                    "Your report %(ref)s was closed. Is the problem still solved? Please reply "
                    "under “My reports” or call 12345."
                ) % {"ref": ref}
            return _("Follow-up"), asked
        if step is not None:
            return step, _("Your report %(ref)s has progressed: %(step)s.") % {
                "ref": ref,
                "step": step,
            }
        return _("New message"), _("Your report %(ref)s has a new message; log in to read it.") % {
            "ref": ref
        }
    if kind == "reported":
        return _("To accept"), _("New %(ref)s awaits acceptance.") % {"ref": ref}
    if kind == "review":
        return _("To review"), _("%(Ref)s was rated dissatisfied; review it.") % {"Ref": Ref}
    if kind == "follow_up_broken":
        return _("Follow-up: not solved"), _(
            "%(Ref)s follow-up: the reporter says the problem is still not solved; review and "
            "reopen it."
        ) % {"Ref": Ref}
    if step is not None:
        return step, _("%(Ref)s: %(step)s.") % {"Ref": Ref, "step": step}
    return _("New message"), _("%(Ref)s has a new message; log in to read it.") % {"Ref": Ref}


def audience_of(message: Message) -> str:
    case = message.case
    if (
        case is not None
        and message.recipient_id is not None
        and message.recipient_id == case.reporter_id
    ):
        return REPORTER
    return STAFF


def text_of(message: Message) -> str:
    """The in-app text of ``message`` in the active language."""
    kind, params, case = message.kind, message.params or {}, message.case
    if kind == "overdue":
        if "n" not in params:
            return message.text
        if params.get("scope") == "area":
            return _("%(n)d cases in your area became overdue.") % {"n": params["n"]}
        return _("%(n)d cases of your department are overdue.") % {"n": params["n"]}
    if case is None:
        return message.text
    if kind == "review":
        if "reopen" not in params:
            return message.text
        text = (
            _("Case #%(id)s: the reporter is dissatisfied and asks to reopen it.")
            if params["reopen"]
            else _("Case #%(id)s was rated dissatisfied: review it.")
        )
        return text % {"id": case.pk}
    audience = audience_of(message)
    if kind == "reported" and audience == REPORTER:
        return _("Your report was received.")
    if kind in ("follow_up", "follow_up_broken", "reported"):
        return compose(message, audience)[1]
    step = TRANSITIONS.get(kind)
    if step is not None:
        return _("Case #%(id)s: %(step)s.") % {"id": case.pk, "step": step.name}
    return message.text or compose(message, audience)[1]


def default_text(message: Message) -> str:
    """``text`` as stored: the rendering in the platform's default language."""
    with translation.override(settings.LANGUAGE_CODE):
        return text_of(message)[:500]


def new_message(**fields: Any) -> Message:
    """An unsaved ``Message`` whose stored ``text`` is rendered from its kind and params."""
    message = Message(**fields)
    message.text = default_text(message)
    return message


__all__ = ["REPORTER", "STAFF", "audience_of", "compose", "default_text", "new_message", "text_of"]
