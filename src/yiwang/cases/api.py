"""Cases API: intake, scoped lists and detail, transitions, rating, duplicate suggestions,
statistics (JSON and CSV) and in-app messages. Thin: schema in → action/selector → out."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.http import HttpResponse
from ninja import Router, Status
from ninja.pagination import paginate

from yiwang.accounts.types import AuthedRequest
from yiwang.cases import actions, selectors
from yiwang.cases.schemas import (
    CaseIn,
    CaseOut,
    CategoryOut,
    ContactOut,
    DuplicateOut,
    EventOut,
    FollowUpIn,
    MessageOut,
    MessagesReadIn,
    MessagesReadOut,
    RatingIn,
    ReporterSettingsIO,
    StatOut,
    TransitionIn,
)
from yiwang.core.api import PageNumber, error_responses
from yiwang.core.errors import ValidationFailed
from yiwang.grid.coords import CoordSystem, point_to_wgs84

router = Router()
ERRORS: dict[int, Any] = error_responses(409)


def _category_out(c: Any) -> dict[str, Any]:
    return {
        "service_code": c.service_code,
        "code": c.code,
        "kind": c.kind,
        "group": c.group,
        "name": c.name,
        "default_priority": c.default_priority,
        "attributes": c.attributes,
    }


@router.get("/categories", response={200: list[CategoryOut], **ERRORS}, summary="部件/事件 catalog")
def list_categories(request: AuthedRequest) -> Any:
    staff = selectors.is_staff_viewer(request.user)
    return [_category_out(c) for c in selectors.list_categories(public_only=not staff)]


@router.post("", response={201: CaseOut, **ERRORS}, summary="Report a case")
def report_case(request: AuthedRequest, payload: CaseIn) -> Any:
    data = payload.dict()
    channel = data.pop("channel")
    case = actions.do_report_case(actor=request.user, data=data, channel=channel)
    return Status(201, selectors.case_view(request.user, case))


def _multipart(request: Any, schema: Any, field: str, files: str) -> tuple[Any, list[Any]]:
    """The JSON form field ``field`` parsed into ``schema`` and the uploaded ``files``.

    multipart/form-data is the way to send files; for convenience (and clients that have no
    photo to send) an application/json body ``{"<field>": {...}}`` is taken too."""
    import json

    from pydantic import ValidationError

    raw: Any
    if request.content_type == "application/json":
        try:
            raw = json.loads(request.body or b"{}").get(field, {})
        except (ValueError, AttributeError):
            raise ValidationFailed(fields={field: ["Send JSON."]}) from None
        raw = raw if isinstance(raw, str) else json.dumps(raw)
        uploads: list[Any] = []
    else:
        raw = request.POST.get(field, "")
        uploads = request.FILES.getlist(files)
    try:
        return schema.model_validate_json(raw or "{}"), uploads
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for e in exc.errors():
            loc = ".".join(str(p) for p in e.get("loc", ())) or field
            fields.setdefault(f"{field}.{loc}", []).append(str(e.get("msg", "invalid")))
        raise ValidationFailed(fields=fields) from None


def _multipart_doc(field: str, schema: Any, files: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {
                            field: {
                                "type": "string",
                                "description": f"JSON: {schema.__name__}",
                            },
                            files: {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            },
                        },
                    }
                }
            },
        }
    }


@router.post(
    "/with-photos",
    response={201: CaseOut, **ERRORS},
    summary="Report a case with photos (multipart)",
    description="multipart/form-data: `case` is the JSON body of `POST /cases`, `photos` "
    "the files (JPEG, PNG or WebP by content, at most 9 of 10 MB). A bad file fails the "
    "whole report with a field error under `photos`; nothing is created.",
    openapi_extra=_multipart_doc("case", CaseIn, "photos"),
)
def report_case_with_photos(request: AuthedRequest) -> Any:
    payload, files = _multipart(request, CaseIn, "case", "photos")
    data = payload.dict()
    channel = data.pop("channel")
    created = actions.do_report_case(actor=request.user, data=data, channel=channel, files=files)
    return Status(201, selectors.case_view(request.user, created))


@router.get("", response={200: list[CaseOut], **ERRORS}, summary="Cases I may see")
@paginate(PageNumber)
def list_cases(
    request: AuthedRequest,
    state: str = "",
    sla_level: str = "",
    grid: str = "",
    category: str = "",
    department_id: int | None = None,
) -> Any:
    qs = selectors.list_cases_for(request.user).select_related("reporter")
    if state:
        qs = qs.filter(state_id=state)
    if sla_level:
        qs = qs.filter(sla_level=sla_level)
    if grid:
        qs = qs.filter(grid__code=grid)
    if category:
        cat = selectors.get_category(category)
        qs = qs.filter(category=cat) if cat else qs.none()
    if department_id:
        qs = qs.filter(department_id=department_id)
    return [selectors.case_view(request.user, c) for c in qs.order_by("-created_at", "-pk")[:5000]]


@router.get(
    "/duplicates",
    response={200: list[DuplicateOut], **ERRORS},
    summary="Open cases of the same category nearby (before submitting)",
)
def duplicates(
    request: AuthedRequest,
    category: str,
    lng: float,
    lat: float,
    coord_system: str = "wgs84",
    radius_m: float = 50,
    hours: float = 72,
) -> Any:
    cat = selectors.get_category(category)
    if cat is None:
        raise ValidationFailed(fields={"category": ["Unknown category."]})
    if coord_system not in set(CoordSystem) or not (0 < radius_m <= 500 and 0 < hours <= 720):
        raise ValidationFailed(fields={"coord_system": ["Use wgs84, gcj02 or bd09."]})
    x, y = point_to_wgs84(lng, lat, coord_system)
    found = selectors.nearby_open_cases(cat, x, y, radius_m=radius_m, hours=hours)
    # Only the facts a reporter needs to recognise the case: no reporter, no exact location.
    return [
        {
            "id": c.pk,
            "distance_m": round(d, 1),
            "state_name": c.state.name,
            "created_at": c.created_at,
            "description": c.description[:200],
        }
        for c, d in found
    ]


def _period(since: dt.date | None, until: dt.date | None) -> tuple[Any, Any]:
    from yiwang.cases.calendar import SHANGHAI

    def at(d: dt.date | None) -> dt.datetime | None:
        return dt.datetime.combine(d, dt.time(), tzinfo=SHANGHAI) if d else None

    return at(since), at(until + dt.timedelta(days=1)) if until else None


def _stats(request: AuthedRequest, by: str, since: Any, until: Any) -> list[dict[str, Any]]:
    if by not in selectors.GROUPS:
        raise ValidationFailed(fields={"by": [", ".join(selectors.GROUPS)]})
    s, u = _period(since, until)
    return selectors.statistics_for(request.user, by, since=s, until=u)


@router.get(
    "/statistics",
    response={200: list[StatOut], **ERRORS},
    summary="Counts, 响应率, 解决率, 满意率 and on-time rate per group",
)
def statistics(
    request: AuthedRequest,
    by: str = "department",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Any:
    return _stats(request, by, since, until)


@router.get("/statistics.csv", response={200: None, **ERRORS}, summary="The same, as CSV")
def statistics_csv(
    request: AuthedRequest,
    by: str = "department",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Any:
    rows = _stats(request, by, since, until)
    buf = io.StringIO()
    cols = list(StatOut.model_fields)
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r[k] is None else r[k]) for k in cols})
    resp = HttpResponse("\ufeff" + buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="cases-{by}.csv"'
    return resp


@router.get("/messages", response={200: list[MessageOut], **ERRORS}, summary="My in-app messages")
@paginate(PageNumber)
def my_messages(request: AuthedRequest) -> Any:
    return selectors.messages_for(request.user)


@router.post(
    "/messages/read",
    response={200: MessagesReadOut, **ERRORS},
    summary="Mark my in-app messages read (the given ids, or all)",
)
def mark_messages_read(request: AuthedRequest, payload: MessagesReadIn) -> Any:
    n = actions.do_mark_messages_read(actor=request.user, ids=payload.ids)
    return {"marked": n, "unread": selectors.unread_count(request.user)}


@router.get(
    "/settings",
    response={200: ReporterSettingsIO, **ERRORS},
    summary="My reporter settings (email/SMS opt-out)",
)
def get_reporter_settings(request: AuthedRequest) -> Any:
    return selectors.reporter_settings(request.user)


@router.put(
    "/settings",
    response={200: ReporterSettingsIO, **ERRORS},
    summary="Opt out of (or back into) email and SMS about my reports",
)
def put_reporter_settings(request: AuthedRequest, payload: ReporterSettingsIO) -> Any:
    actions.do_set_reporter_settings(actor=request.user, notify_opt_out=payload.notify_opt_out)
    return selectors.reporter_settings(request.user)


@router.get("/{case_id}", response={200: CaseOut, **ERRORS})
def get_case(request: AuthedRequest, case_id: int) -> Any:
    case = selectors.access_case(request.user, case_id)
    return selectors.case_view(request.user, case, with_transitions=True)


@router.get("/{case_id}/timeline", response={200: list[EventOut], **ERRORS})
def case_timeline(request: AuthedRequest, case_id: int) -> Any:
    case = selectors.access_case(request.user, case_id)
    return [
        selectors.event_view(request.user, e) for e in selectors.timeline_for(request.user, case)
    ]


@router.get(
    "/{case_id}/contact",
    response={200: ContactOut, **ERRORS},
    summary="The reporter's contact details in clear (centre operators; audited)",
)
def case_contact(request: AuthedRequest, case_id: int, purpose: str = "") -> Any:
    case = selectors.access_case(request.user, case_id)
    return selectors.contact_for(request.user, case, purpose=purpose)


@router.post(
    "/{case_id}/transitions",
    response={200: CaseOut, **ERRORS},
    summary="Take a workflow step (see the case's `transitions` for the ones allowed)",
)
def transition(request: AuthedRequest, case_id: int, payload: TransitionIn) -> Any:
    data = payload.dict()
    case = actions.do_transition_case(
        actor=request.user,
        case_id=case_id,
        transition=data["transition"],
        note=data["note"],
        department_id=data["department_id"],
        hours=data["hours"],
        target_id=data["target_id"],
        attachments=data["attachments"],
    )
    return selectors.case_view(request.user, case, with_transitions=True)


@router.post(
    "/{case_id}/transitions/with-photos",
    response={200: CaseOut, **ERRORS},
    summary="Take a workflow step with photos (multipart; e.g. a handler's evidence)",
    description="multipart/form-data: `step` is the JSON body of `POST /transitions`, "
    "`attachments` the photo files (checked like a report's photos).",
    openapi_extra=_multipart_doc("step", TransitionIn, "attachments"),
)
def transition_with_photos(request: AuthedRequest, case_id: int) -> Any:
    payload, files = _multipart(request, TransitionIn, "step", "attachments")
    data = payload.dict()
    case = actions.do_transition_case(
        actor=request.user,
        case_id=case_id,
        transition=data["transition"],
        note=data["note"],
        department_id=data["department_id"],
        hours=data["hours"],
        target_id=data["target_id"],
        attachments=data["attachments"],
        files=files,
    )
    return selectors.case_view(request.user, case, with_transitions=True)


@router.post("/{case_id}/rating", response={200: CaseOut, **ERRORS}, summary="Rate a closed case")
def rate(request: AuthedRequest, case_id: int, payload: RatingIn) -> Any:
    case = actions.do_rate_case(
        actor=request.user,
        case_id=case_id,
        rating=payload.rating,
        comment=payload.comment,
        reopen=payload.reopen,
    )
    return selectors.case_view(request.user, case)


@router.post(
    "/{case_id}/follow-up",
    response={200: CaseOut, **ERRORS},
    summary="Answer the four-week 'still fixed?' question (部件 cases)",
    description="By the reporter, or by a centre operator on their behalf. 'Still broken' "
    "recorded by an operator reopens the case; the reporter's own answer puts it under review "
    "and asks the centre to reopen it.",
)
def follow_up(request: AuthedRequest, case_id: int, payload: FollowUpIn) -> Any:
    from yiwang.cases.followup import do_answer_follow_up

    case = do_answer_follow_up(
        actor=request.user, case_id=case_id, still_fixed=payload.still_fixed, note=payload.note
    )
    return selectors.case_view(request.user, case)
