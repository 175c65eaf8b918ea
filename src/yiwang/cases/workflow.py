"""The transition table: from which states, to which state, and who may take each transition.

Who ("actor rule") is explicit per transition and checked against the case:

- ``centre``: a command- or supervision-centre operator (role ``operator``) whose division
  covers the case's location (the case's ``division_prefix``).
- ``handler``: department staff or leader of the department the case is dispatched to.
- ``verifier``: a centre operator in scope, or a grid worker of the case's grid (on-site 核查).
- ``reporter``: the user who reported the case.

``to`` is ``None`` when the transition keeps the state (suspend, extension, ...).
See docs/adr/0011-cases.md for the diagram.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import User
from yiwang.accounts.roles import Role

OPEN_WORKING = ("reported", "registered", "dispatched", "handling", "verifying")


@dataclass(frozen=True)
class Transition:
    code: str
    name: object  # lazy translation
    zh: str
    sources: tuple[str, ...]
    to: str | None
    who: str
    reason_required: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.code: t
    for t in (
        Transition(
            "accept", _("Accept and register"), "受理立案", ("reported",), "registered", "centre"
        ),
        Transition(
            "reject",
            _("Decline to register"),
            "不予立案",
            ("reported",),
            "rejected",
            "centre",
            True,
        ),
        Transition("dispatch", _("Dispatch"), "派遣", ("registered",), "dispatched", "centre"),
        Transition(
            "reassign",
            _("Re-assign"),
            "改派",
            ("dispatched", "handling"),
            "dispatched",
            "centre",
            True,
        ),
        Transition("start", _("Start handling"), "处置", ("dispatched",), "handling", "handler"),
        Transition(
            "return",
            _("Return to the centre"),
            "退回",
            ("dispatched", "handling"),
            "registered",
            "handler",
            True,
        ),
        Transition(
            "feedback", _("Report back"), "反馈", ("handling",), "verifying", "handler", True
        ),
        Transition(
            "verify_pass",
            _("Verified: close"),
            "核查通过结案",
            ("verifying",),
            "closed",
            "verifier",
        ),
        Transition(
            "verify_fail",
            _("Verification failed"),
            "核查不通过",
            ("verifying",),
            "handling",
            "verifier",
            True,
        ),
        Transition(
            "request_extension",
            _("Request an extension"),
            "申请延期",
            ("dispatched", "handling"),
            None,
            "handler",
            True,
        ),
        Transition(
            "approve_extension",
            _("Approve the extension"),
            "批准延期",
            ("dispatched", "handling"),
            None,
            "centre",
        ),
        Transition(
            "deny_extension",
            _("Deny the extension"),
            "驳回延期",
            ("dispatched", "handling"),
            None,
            "centre",
            True,
        ),
        Transition("suspend", _("Suspend"), "挂起", OPEN_WORKING, None, "centre", True),
        Transition("resume", _("Resume"), "恢复", OPEN_WORKING, None, "centre"),
        Transition(
            "merge",
            _("Merge into another case"),
            "合并",
            ("reported", "registered"),
            "merged",
            "centre",
        ),
        Transition("void", _("Void"), "作废", ("reported", "registered"), "void", "centre", True),
        Transition(
            "reopen",
            _("Reopen"),
            "重开",
            ("closed", "rated", "rejected"),
            "registered",
            "centre",
            True,
        ),
        Transition(
            "close_review",
            _("Keep closed (review done)"),
            "复核维持结案",
            ("closed", "rated"),
            None,
            "centre",
            True,
        ),
        Transition("rate", _("Rate"), "评价", ("closed",), "rated", "reporter"),
    )
}


def actor_fits(who: str, actor: User, case: object) -> bool:
    """Whether ``actor`` matches the transition's actor rule for ``case``."""
    from yiwang.accounts.selectors import division_scope

    if not actor.is_authenticated or not actor.is_active:
        return False
    c = case  # a Case; typed loosely to avoid an import cycle
    if who == "reporter":
        return bool(c.reporter_id and c.reporter_id == actor.pk)  # type: ignore[attr-defined]
    if who == "handler":
        return (
            actor.role in {Role.DEPT_STAFF, Role.DEPT_LEADER}
            and actor.department_id is not None
            and actor.department_id == c.department_id  # type: ignore[attr-defined]
            and c.dispatched_at is not None  # type: ignore[attr-defined]
        )
    centre = False
    if actor.role == Role.OPERATOR:
        div = division_scope(actor)
        centre = div is not None and str(c.division_prefix).startswith(div.prefix)  # type: ignore[attr-defined]
    if who == "centre":
        return centre
    if who == "verifier":
        if centre:
            return True
        return (
            actor.role == Role.GRID_WORKER
            and c.grid_id is not None  # type: ignore[attr-defined]
            and c.grid.members.filter(user=actor).exists()  # type: ignore[attr-defined]
        )
    return False


def allowed_transitions(actor: User, case: object) -> list[Transition]:
    """Transitions ``actor`` may take on ``case`` now (for buttons and the API)."""
    out = []
    state = case.state_id  # type: ignore[attr-defined]
    for t in TRANSITIONS.values():
        if state not in t.sources or not actor_fits(t.who, actor, case):
            continue
        suspended = case.suspended_at is not None  # type: ignore[attr-defined]
        if t.code == "resume" and not suspended:
            continue
        if suspended and t.code not in {"resume", "void", "merge"}:
            continue
        pending = case.extension_hours is not None  # type: ignore[attr-defined]
        if t.code in {"approve_extension", "deny_extension"} and not pending:
            continue
        if t.code == "request_extension" and pending:
            continue
        if t.code == "close_review" and not case.under_review:  # type: ignore[attr-defined]
            continue
        out.append(t)
    return out
