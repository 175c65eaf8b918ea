"""The approval process of an application: one task per department and matter, a state machine
per task (python-statemachine bound to ``ApprovalTask.state``), stages run in order with the
tasks of one stage in parallel, and the application's status derived from its tasks under the
bundle's completion condition (all / any). See docs/adr/0015-onestop.md.

The state lives in the database column, so it is persisted with the row and migrates like any
column: a changed process (a renamed or added state) is a data migration over ``state`` plus a
new entry in ``PROCESS_VERSION`` history below; tasks keep the ``implementation_version`` they
were opened under.

::

    waiting ──activate──▶ pending ──claim──▶ claimed ──approve──▶ approved
                             ▲  ◀──release──    │  ──reject───▶ rejected
                             │                  │
                             │     request_supplement ▼ ▲ resume
                             │               supplement
    (any open state) ──cancel──▶ cancelled
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from yiwang.onestop.models import ApplicationStatus, Completion, TaskState

#: 1: the states above (2026-12).
PROCESS_VERSION = 1

FINAL = frozenset({TaskState.APPROVED, TaskState.REJECTED, TaskState.CANCELLED})
OPEN = frozenset(set(TaskState) - FINAL)


class TaskMachine(StateMachine):
    waiting = State(value=TaskState.WAITING.value, initial=True)
    pending = State(value=TaskState.PENDING.value)
    claimed = State(value=TaskState.CLAIMED.value)
    supplement = State(value=TaskState.SUPPLEMENT.value)
    approved = State(value=TaskState.APPROVED.value, final=True)
    rejected = State(value=TaskState.REJECTED.value, final=True)
    cancelled = State(value=TaskState.CANCELLED.value, final=True)

    activate = waiting.to(pending)
    claim = pending.to(claimed)
    release = claimed.to(pending)
    request_supplement = claimed.to(supplement)
    resume = supplement.to(claimed)
    approve = claimed.to(approved)
    reject = claimed.to(rejected)
    cancel = waiting.to(cancelled) | pending.to(cancelled) | claimed.to(cancelled)
    cancel |= supplement.to(cancelled)


class StepNotAllowed(Exception):
    def __init__(self, event: str, state: str) -> None:
        super().__init__(f"{event} is not possible in state {state}")
        self.event = event
        self.state = state


def fire(task: Any, event: str) -> str:
    """Take ``event`` on ``task`` (an object with a ``state`` attribute); the new state."""
    machine = TaskMachine(task, state_field="state")
    try:
        machine.send(event)
    except TransitionNotAllowed as exc:
        raise StepNotAllowed(event, str(task.state)) from exc
    return str(task.state)


def allowed_events(task: Any) -> list[str]:
    machine = TaskMachine(task, state_field="state")
    return [e.id for e in machine.allowed_events]


def next_stage(tasks: Sequence[Any]) -> int | None:
    """The stage to start when every task of the stages before it is final, else None."""
    stages = sorted({t.stage for t in tasks})
    for stage in stages:
        of_stage = [t for t in tasks if t.stage == stage]
        if any(t.state == TaskState.WAITING for t in of_stage):
            earlier = [t for t in tasks if t.stage < stage]
            if all(t.state in FINAL for t in earlier):
                return int(stage)
            return None
    return None


def blocked_by_rejection(tasks: Sequence[Any], completion: str) -> bool:
    """Under "all", a rejection in an earlier stage means later stages cannot follow."""
    return completion == Completion.ALL and any(t.state == TaskState.REJECTED for t in tasks)


def application_status(tasks: Sequence[Any], completion: str) -> str:
    """The application's status from its tasks."""
    states = [t.state for t in tasks]
    if not states:
        return ApplicationStatus.SUBMITTED
    approved = states.count(TaskState.APPROVED)
    if completion == Completion.ANY and approved:
        return ApplicationStatus.COMPLETED
    if any(s == TaskState.SUPPLEMENT for s in states):
        return ApplicationStatus.SUPPLEMENT
    if any(s in OPEN for s in states):
        if all(s in (TaskState.PENDING, TaskState.WAITING) for s in states):
            return ApplicationStatus.SUBMITTED
        return ApplicationStatus.IN_REVIEW
    if approved == len(states):
        return ApplicationStatus.COMPLETED
    if approved:
        return ApplicationStatus.PARTLY
    return ApplicationStatus.REJECTED
