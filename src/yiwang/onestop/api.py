"""The 一网通办 API (mounted at /api/v1/onestop/): thin — schema in, action/selector out.

Public: the published bundles and the situation plan (which matters and materials apply to
given answers). Applicants: their applications (start, save a draft, upload a material,
submit once, answer a supplement, withdraw). Department staff: their department's tasks
(claim, release, request a supplement, approve or reject) and statistics.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Status, UploadedFile
from ninja.pagination import paginate

from yiwang.accounts.types import AuthedRequest
from yiwang.core.api import ErrorOut, PageNumber, error_responses
from yiwang.onestop import actions, present, selectors
from yiwang.onestop.schemas import (
    ApplicationOut,
    BundleDetailOut,
    BundleOut,
    ClaimIn,
    DecisionIn,
    DraftIn,
    DraftOut,
    MaterialOut,
    NoteIn,
    PlanIn,
    PlanOut,
    StaffTaskDetailOut,
    StaffTaskOut,
    StartIn,
    StatsOut,
    SubmitIn,
    SupplementIn,
)

router = Router()

ERRORS: dict[int, Any] = error_responses(409)


# --- Public -------------------------------------------------------------------------------------
@router.get("/bundles", auth=None, response=list[BundleOut], summary="Published bundles (一件事)")
def list_bundles(request: HttpRequest) -> Any:
    return [present.bundle(b) for b in selectors.published_bundles()]


@router.get(
    "/bundles/{code}",
    auth=None,
    response={200: BundleDetailOut, 404: ErrorOut},
    summary="A bundle with its situation questions, matters and form",
)
def get_bundle(request: HttpRequest, code: str) -> Any:
    return present.bundle(selectors.bundle_by_code(code), detail=True)


@router.post(
    "/bundles/{code}/plan",
    auth=None,
    response={200: PlanOut, 404: ErrorOut, 422: ErrorOut},
    summary="Which matters, materials and fields apply to these answers (情形)",
)
def plan_bundle(request: HttpRequest, code: str, payload: PlanIn) -> Any:
    from yiwang.core.errors import ValidationFailed
    from yiwang.onestop.situations import clean_answers

    b = selectors.bundle_by_code(code)
    answers, bad = clean_answers(actions.questions_of(b), payload.answers)
    if bad:
        raise ValidationFailed(
            fields={f"answers.{k}": [actions._answer_message(v)] for k, v in bad.items()}
        )
    return present.plan(b, answers)


# --- Applicant ----------------------------------------------------------------------------------
@router.post(
    "/applications",
    response={201: ApplicationOut, **ERRORS},
    summary="Start an application (a draft with the form prefilled)",
)
def start_application(request: AuthedRequest, payload: StartIn) -> Any:
    app = actions.do_start_application(
        actor=request.user,
        bundle_code=payload.bundle,
        idempotency_key=request.headers.get("Idempotency-Key", ""),
    )
    return Status(201, present.application(app))


@router.get(
    "/applications", response={200: list[ApplicationOut], **ERRORS}, summary="My applications"
)
@paginate(PageNumber)
def my_applications(request: AuthedRequest) -> Any:
    return [present.application(a) for a in selectors.list_my_applications(request.user)]


@router.get(
    "/applications/{application_id}",
    response={200: ApplicationOut, **ERRORS},
    summary="One of my applications, with every department's progress",
)
def my_application(request: AuthedRequest, application_id: int) -> Any:
    return present.application(selectors.access_my_application(request.user, application_id))


@router.patch(
    "/applications/{application_id}",
    response={200: DraftOut, **ERRORS},
    summary="Save a draft: answers and form values (problems are returned, good values kept)",
)
def save_draft(request: AuthedRequest, application_id: int, payload: DraftIn) -> Any:
    app, problems = actions.do_save_draft(
        actor=request.user,
        application_id=application_id,
        answers=payload.answers,
        form=payload.form,
    )
    return {"application": present.application(app), "problems": problems}


@router.post(
    "/applications/{application_id}/materials/{material_id}",
    response={200: MaterialOut, **ERRORS},
    summary="Upload the file for one material (multipart field `file`)",
)
def upload_material(
    request: AuthedRequest, application_id: int, material_id: int, file: File[UploadedFile]
) -> Any:
    am = actions.do_upload_material(
        actor=request.user,
        application_id=application_id,
        material_id=material_id,
        name=file.name or "upload",
        data=file.read(),
    )
    return present.material(am)


@router.post(
    "/applications/{application_id}/submit",
    response={200: ApplicationOut, **ERRORS},
    summary="Submit once: every problem is listed; on success one task per department opens",
)
def submit(request: AuthedRequest, application_id: int, payload: SubmitIn) -> Any:
    app = actions.do_submit_application(
        actor=request.user, application_id=application_id, commitment=payload.commitment
    )
    return present.application(app)


@router.post(
    "/applications/{application_id}/supplement",
    response={200: ApplicationOut, **ERRORS},
    summary="Answer a supplement request (upload the files first); the clock resumes",
)
def answer_supplement(request: AuthedRequest, application_id: int, payload: NoteIn) -> Any:
    app = actions.do_answer_supplement(
        actor=request.user, application_id=application_id, note=payload.note
    )
    return present.application(app)


@router.post(
    "/applications/{application_id}/withdraw",
    response={200: ApplicationOut, **ERRORS},
    summary="Withdraw an application that is not finished",
)
def withdraw(request: AuthedRequest, application_id: int) -> Any:
    app = actions.do_withdraw_application(actor=request.user, application_id=application_id)
    return present.application(app)


# --- Department ---------------------------------------------------------------------------------
@router.get("/tasks", response={200: list[StaffTaskOut], **ERRORS}, summary="My department's tasks")
@paginate(PageNumber)
def list_tasks(request: AuthedRequest, state: str = "", q: str = "", overdue: bool = False) -> Any:
    return [
        present.staff_task(t)
        for t in selectors.list_tasks_for(request.user, state=state, q=q, overdue=overdue)
    ]


@router.get(
    "/tasks/{task_id}",
    response={200: StaffTaskDetailOut, **ERRORS},
    summary="One task with the application's form and materials (read is audited)",
)
def get_task(request: AuthedRequest, task_id: int) -> Any:
    t = selectors.access_task(request.user, task_id, purpose="examining an application")
    return present.staff_task(t, detail=True)


@router.post("/tasks/{task_id}/claim", response={200: StaffTaskOut, **ERRORS}, summary="Claim")
def claim(request: AuthedRequest, task_id: int, payload: ClaimIn) -> Any:
    return present.staff_task(
        actions.do_claim_task(actor=request.user, task_id=task_id, version=payload.version)
    )


@router.post(
    "/tasks/{task_id}/release", response={200: StaffTaskOut, **ERRORS}, summary="Release a claim"
)
def release(request: AuthedRequest, task_id: int) -> Any:
    return present.staff_task(actions.do_release_task(actor=request.user, task_id=task_id))


@router.post(
    "/tasks/{task_id}/supplement",
    response={200: StaffTaskOut, **ERRORS},
    summary="Request a supplement (补正); the clock pauses",
)
def request_supplement(request: AuthedRequest, task_id: int, payload: SupplementIn) -> Any:
    t = actions.do_request_supplement(
        actor=request.user, task_id=task_id, note=payload.note, materials=payload.materials
    )
    return present.staff_task(t)


@router.post(
    "/tasks/{task_id}/decide",
    response={200: StaffTaskOut, **ERRORS},
    summary="Approve (issues the certificate) or reject with a reason",
)
def decide(request: AuthedRequest, task_id: int, payload: DecisionIn) -> Any:
    t = actions.do_decide_task(
        actor=request.user,
        task_id=task_id,
        approve=payload.approve,
        reason=payload.reason,
        version=payload.version,
    )
    return present.staff_task(t)


@router.get(
    "/statistics",
    response={200: StatsOut, **ERRORS},
    summary="My department: on-time rate, average working time, counts per matter",
)
def statistics(request: AuthedRequest) -> Any:
    s = selectors.department_statistics(request.user)
    return {**s.__dict__, "on_time_rate": s.on_time_rate}
