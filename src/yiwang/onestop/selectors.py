"""Reads of 一网通办, scoped to the acting user.

An applicant sees their own applications; department staff see the tasks of their department
and the applications those tasks belong to (anything else is 404). Reading an application's
form as staff is a personal-data access and is audited with its purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from yiwang.accounts.models import User
from yiwang.accounts.roles import Role
from yiwang.cases.calendar import WorkCalendar
from yiwang.core import audit
from yiwang.core.errors import NotFound
from yiwang.onestop.models import (
    Application,
    ApprovalTask,
    Bundle,
    BundleStatus,
    TaskState,
)

STAFF_ROLES = (Role.DEPT_STAFF, Role.DEPT_LEADER)
CALENDAR = WorkCalendar()


def published_bundles() -> QuerySet[Bundle]:
    return Bundle.objects.filter(status=BundleStatus.PUBLISHED).select_related("lead_department")


def bundle_by_code(code: str) -> Bundle:
    bundle = published_bundles().filter(code=code).first()
    if bundle is None:
        raise NotFound()
    return bundle


def list_my_applications(actor: User) -> QuerySet[Application]:
    if not actor.is_authenticated:
        return Application.objects.none()
    return Application.objects.filter(applicant=actor).select_related("bundle")


def access_my_application(actor: User, application_id: int) -> Application:
    app = list_my_applications(actor).filter(pk=application_id).first()
    if app is None:
        raise NotFound()
    return app


def _is_staff(actor: User) -> bool:
    return actor.is_authenticated and actor.role in STAFF_ROLES and bool(actor.department_id)


def list_tasks_for(
    actor: User, *, state: str = "", q: str = "", overdue: bool = False
) -> QuerySet[ApprovalTask]:
    """The actor's department's tasks (not those waiting for an earlier stage)."""
    if not _is_staff(actor):
        return ApprovalTask.objects.none()
    qs = (
        ApprovalTask.objects.filter(department_id=int(actor.department_id or 0))
        .exclude(state=TaskState.WAITING)
        .select_related("application__bundle", "implementation__matter", "claimed_by")
    )
    if state:
        qs = qs.filter(state=state)
    if q:
        match = (
            Q(application__number__icontains=q)
            | Q(implementation__matter__name__icontains=q)
            | Q(application__applicant_name__icontains=q)
        )
        if len(q.strip()) in (15, 18):  # an ID number or credit code: exact, by blind index
            from yiwang.core.personal import blind_index_for

            index = blind_index_for(Application, "applicant_code_index", q.strip())
            match |= Q(application__applicant_code_index=index)
        qs = qs.filter(match)
    if overdue:
        qs = qs.filter(state__in=[TaskState.PENDING, TaskState.CLAIMED], due_at__lt=timezone.now())
    return qs.order_by("due_at", "id")


def access_task(actor: User, task_id: int, *, purpose: str = "") -> ApprovalTask:
    task = list_tasks_for(actor).filter(pk=task_id).first()
    if task is None:
        raise NotFound()
    if purpose:
        audit.record(
            "onestop.application_read",
            actor=actor,
            obj=task.application,
            purpose=purpose,
            fields=["form", "materials"],
        )
    return task


@dataclass
class Progress:
    application: Application
    tasks: list[ApprovalTask]
    timeline: list[Any]
    materials: list[Any]
    supplements: list[Any] = field(default_factory=list)


def progress(app: Application) -> Progress:
    tasks = list(
        app.tasks.select_related("department", "implementation__matter").order_by("stage", "id")
    )
    supplements = [
        s
        for t in tasks
        for s in t.supplements.filter(answered_at__isnull=True).select_related("task__department")
    ]
    return Progress(
        application=app,
        tasks=tasks,
        timeline=list(app.timeline.select_related("task").order_by("at", "id")),
        materials=list(
            app.materials.select_related("material__implementation__matter").order_by(
                "material__implementation_id", "material__order"
            )
        ),
        supplements=supplements,
    )


@dataclass
class DepartmentStats:
    total: int
    open: int
    supplement: int
    approved: int
    rejected: int
    decided_on_time: int
    decided: int
    overdue_open: int
    average_working_hours: float | None
    by_matter: list[dict[str, Any]]

    @property
    def on_time_rate(self) -> float | None:
        return self.decided_on_time / self.decided if self.decided else None


def department_statistics(actor: User, *, since: dt.datetime | None = None) -> DepartmentStats:
    """On-time rate (decided by the due time, which 补正 pauses extend), average working time
    from start to decision, counts by state and per matter — for the actor's department."""
    qs = list_tasks_for(actor)
    if since is not None:
        qs = qs.filter(started_at__gte=since)
    now = timezone.now()
    tasks = list(qs)
    decided = [t for t in tasks if t.state in (TaskState.APPROVED, TaskState.REJECTED)]
    on_time = [t for t in decided if t.due_at and t.decided_at and t.decided_at <= t.due_at]
    hours = [
        CALENDAR.between(t.started_at, t.decided_at).total_seconds() / 3600
        for t in decided
        if t.started_at and t.decided_at
    ]
    by: dict[str, dict[str, Any]] = {}
    for t in tasks:
        row = by.setdefault(
            t.implementation.code,
            {
                "code": t.implementation.code,
                "name": t.implementation.matter.name,
                "total": 0,
                "approved": 0,
                "rejected": 0,
                "open": 0,
            },
        )
        row["total"] += 1
        if t.state == TaskState.APPROVED:
            row["approved"] += 1
        elif t.state == TaskState.REJECTED:
            row["rejected"] += 1
        elif t.state != TaskState.CANCELLED:
            row["open"] += 1
    return DepartmentStats(
        total=len(tasks),
        open=sum(t.state in (TaskState.PENDING, TaskState.CLAIMED) for t in tasks),
        supplement=sum(t.state == TaskState.SUPPLEMENT for t in tasks),
        approved=sum(t.state == TaskState.APPROVED for t in tasks),
        rejected=sum(t.state == TaskState.REJECTED for t in tasks),
        decided_on_time=len(on_time),
        decided=len(decided),
        overdue_open=sum(
            t.state in (TaskState.PENDING, TaskState.CLAIMED)
            and t.due_at is not None
            and t.due_at < now
            for t in tasks
        ),
        average_working_hours=(sum(hours) / len(hours)) if hours else None,
        by_matter=sorted(by.values(), key=lambda r: -r["total"]),
    )
