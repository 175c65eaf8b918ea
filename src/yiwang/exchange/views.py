"""Data-system pages: catalog, dataset, loads, grant inbox and my grants, the exchange log,
and "who read my data" for residents and enterprises.

Thin: reads through ``selectors``, writes through ``actions``; a form that fails is shown
again with its field messages; anything out of scope is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.exchange import actions, selectors
from yiwang.exchange.models import (
    PERSONAL_LEVELS,
    Dataset,
    GrantStatus,
    Sensitivity,
    ShareType,
)
from yiwang.web.views import requires

PAGE_SIZE = 30
MAX_UPLOAD = 20 * 1024 * 1024


def _page(request: AuthedRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _dataset(request: AuthedRequest, code: str) -> Dataset:
    try:
        return selectors.access_dataset(request.user, code)
    except NotFound:
        raise Http404() from None


def _date(value: str, default: dt.date | None = None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return None


# --- Catalog ----------------------------------------------------------------------------------
@requires(Cap.DATA_CATALOG)
def catalog(request: AuthedRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    share = request.GET.get("share_type", "")
    qs = selectors.list_datasets_for(request.user, q=q, share_type=share)
    return render(
        request,
        "exchange/catalog.html",
        {"page": _page(request, qs), "q": q, "share": share, "share_types": ShareType.choices},
    )


def _dataset_context(request: AuthedRequest, ds: Dataset, **extra: Any) -> dict[str, Any]:
    user = request.user
    own = selectors.owns(user, ds)
    fields = [
        {
            **f,
            "sensitivity_label": Sensitivity(f.get("sensitivity", "internal")).label,
            "personal": f.get("sensitivity") in PERSONAL_LEVELS,
            "is_key": f["name"] in ds.primary_key,
        }
        for f in ds.fields
    ]
    today = timezone.localdate()
    ctx: dict[str, Any] = {
        "ds": ds,
        "fields": fields,
        "own": own,
        "may_load": own and user.can(Cap.DATA_PUBLISH),
        "may_request": not own and ds.share_type != ShareType.NOT_SHARED and user.department_id,
        "versions": ds.versions.order_by("-number")[:10] if own else [],
        "quality": ds.quality_runs.order_by("-at").first() if own else None,
        "purges": ds.purges.all()[:10] if own else [],
        "my_grants": selectors.list_grants_for(user, "requested").filter(dataset=ds)[:10],
        "form": {
            "valid_from": today.isoformat(),
            "valid_to": (today + dt.timedelta(days=365)).isoformat(),
            "daily_quota": 1000,
            "fields": [],
        },
        "errors": {},
    }
    ctx.update(extra)
    return ctx


@requires(Cap.DATA_CATALOG)
def dataset_detail(request: AuthedRequest, code: str) -> HttpResponse:
    ds = _dataset(request, code)
    return render(request, "exchange/dataset.html", _dataset_context(request, ds))


@requires(Cap.DATA_PUBLISH)
@require_POST
def dataset_load(request: AuthedRequest, code: str) -> HttpResponse:
    try:
        ds = selectors.access_owned_dataset(request.user, code)
    except NotFound:
        raise Http404() from None
    upload = request.FILES.get("file")
    errors: dict[str, list[str]] = {}
    if upload is None:
        errors["file"] = [_("Choose a CSV, XLSX or JSON file.")]
    elif upload.size is not None and upload.size > MAX_UPLOAD:
        errors["file"] = [_("The file is larger than 20 MB.")]
    else:
        ext = (upload.name or "").rsplit(".", 1)[-1].lower()
        if ext not in {"csv", "xlsx", "json"}:
            errors["file"] = [_("Choose a CSV, XLSX or JSON file.")]
    if not errors:
        assert upload is not None
        try:
            v = actions.do_load_dataset(
                actor=request.user,
                code=ds.code,
                source=ext,
                content=upload.read(),
                filename=upload.name or "",
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            messages.success(
                request,
                _("Loaded version %(n)s: %(ok)s rows kept, %(bad)s rejected.")
                % {"n": v.number, "ok": v.rows_accepted, "bad": v.rows_rejected},
            )
            return redirect("exchange:version", code=ds.code, number=v.number)
    ctx = _dataset_context(request, ds, load_errors=errors)
    return render(request, "exchange/dataset.html", ctx, status=422)


@requires(Cap.DATA_PUBLISH)
@require_POST
def dataset_quality(request: AuthedRequest, code: str) -> HttpResponse:
    try:
        run = actions.do_run_quality(actor=request.user, code=code)
    except NotFound:
        raise Http404() from None
    messages.success(request, _("Quality score: %(score)s.") % {"score": run.score})
    return redirect("exchange:dataset", code=code)


@requires(Cap.DATA_PUBLISH)
def version_detail(request: AuthedRequest, code: str, number: int) -> HttpResponse:
    try:
        v = selectors.access_version(request.user, code, number)
    except NotFound:
        raise Http404() from None
    return render(request, "exchange/version.html", {"v": v, "ds": v.dataset})


@requires(Cap.DATA_CATALOG)
@require_POST
def grant_request(request: AuthedRequest, code: str) -> HttpResponse:
    ds = _dataset(request, code)
    p = request.POST
    form: dict[str, Any] = {
        "fields": p.getlist("fields"),
        "purpose": p.get("purpose", ""),
        "legal_basis": p.get("legal_basis", ""),
        "valid_from": p.get("valid_from", ""),
        "valid_to": p.get("valid_to", ""),
        "daily_quota": p.get("daily_quota", ""),
    }
    errors: dict[str, list[str]] = {}
    start, end = _date(form["valid_from"]), _date(form["valid_to"])
    if start is None:
        errors["valid_from"] = [_("Enter a date.")]
    if end is None:
        errors["valid_to"] = [_("Enter a date.")]
    try:
        quota = int(form["daily_quota"])
    except ValueError:
        errors["daily_quota"] = [_("Enter a whole number.")]
        quota = 0
    if not errors:
        assert start is not None and end is not None
        try:
            g = actions.do_request_grant(
                actor=request.user,
                dataset_code=ds.code,
                fields=form["fields"],
                purpose=form["purpose"],
                legal_basis=form["legal_basis"],
                valid_from=start,
                valid_to=end,
                daily_quota=quota,
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            messages.success(request, _("Your request has been sent to the owner."))
            return redirect("exchange:grant", grant_id=g.pk)
    ctx = _dataset_context(request, ds, form=form, errors=errors)
    return render(request, "exchange/dataset.html", ctx, status=422)


# --- Grants -----------------------------------------------------------------------------------
@requires(Cap.DATA_CATALOG)
def grant_inbox(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", "requested")
    qs = selectors.list_grants_for(request.user, "owned")
    if status:
        qs = qs.filter(status=status)
    ctx = {
        "page": _page(request, qs),
        "status": status,
        "statuses": GrantStatus.choices,
        "inbox": True,
    }
    return render(request, "exchange/grants.html", ctx)


@requires(Cap.DATA_CATALOG)
def my_grants(request: AuthedRequest) -> HttpResponse:
    qs = selectors.list_grants_for(request.user, "requested")
    return render(request, "exchange/grants.html", {"page": _page(request, qs), "inbox": False})


def _grant_context(request: AuthedRequest, grant_id: int, **extra: Any) -> dict[str, Any]:
    try:
        g = selectors.access_grant(request.user, grant_id)
    except NotFound:
        raise Http404() from None
    user = request.user
    owner = g.dataset.owner_id == user.department_id and user.can(Cap.DATA_GRANT)
    ctx = {
        "g": g,
        "may_decide": owner and g.status == GrantStatus.REQUESTED,
        "may_revoke": (owner or g.requester_id == user.department_id)
        and g.status in (GrantStatus.APPROVED, GrantStatus.NARROWED, GrantStatus.REQUESTED),
        "personal": [f for f in g.requested_fields if g.dataset.sensitivity(f) in PERSONAL_LEVELS],
        "errors": {},
        "form": {},
        "logs": selectors.list_logs_for(user).filter(grant=g)[:20],
    }
    ctx.update(extra)
    return ctx


@requires(Cap.DATA_CATALOG)
def grant_detail(request: AuthedRequest, grant_id: int) -> HttpResponse:
    return render(request, "exchange/grant.html", _grant_context(request, grant_id))


@requires(Cap.DATA_GRANT)
@require_POST
def grant_decide(request: AuthedRequest, grant_id: int) -> HttpResponse:
    ctx = _grant_context(request, grant_id)
    p = request.POST
    decision = p.get("decision", "")
    form: dict[str, Any] = {
        "decision": decision,
        "reason": p.get("reason", ""),
        "fields": p.getlist("fields"),
        "valid_to": p.get("valid_to", ""),
        "daily_quota": p.get("daily_quota", ""),
        "unmasked_fields": p.getlist("unmasked_fields"),
    }
    errors: dict[str, list[str]] = {}
    kwargs: dict[str, Any] = {"unmasked_fields": form["unmasked_fields"]}
    if decision == "narrow":
        kwargs["fields"] = form["fields"]
        if form["valid_to"]:
            kwargs["valid_to"] = _date(form["valid_to"])
            if kwargs["valid_to"] is None:
                errors["valid_to"] = [_("Enter a date.")]
        if form["daily_quota"]:
            try:
                kwargs["daily_quota"] = int(form["daily_quota"])
            except ValueError:
                errors["daily_quota"] = [_("Enter a whole number.")]
    if not errors:
        try:
            actions.do_decide_grant(
                actor=request.user,
                grant_id=grant_id,
                decision=decision,
                reason=form["reason"],
                **kwargs,
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("exchange:grant", grant_id=grant_id)
    ctx.update(form=form, errors=errors)
    return render(request, "exchange/grant.html", ctx, status=422)


@requires(Cap.DATA_CATALOG)
@require_POST
def grant_revoke(request: AuthedRequest, grant_id: int) -> HttpResponse:
    ctx = _grant_context(request, grant_id)
    try:
        actions.do_revoke_grant(
            actor=request.user, grant_id=grant_id, reason=request.POST.get("reason", "")
        )
    except ValidationFailed as exc:
        ctx.update(revoke_errors=exc.fields)
        return render(request, "exchange/grant.html", ctx, status=422)
    messages.success(request, _("The grant has been revoked."))
    return redirect("exchange:grant", grant_id=grant_id)


# --- The exchange log -------------------------------------------------------------------------
@requires(Cap.DATA_CATALOG)
def exchange_log(request: AuthedRequest) -> HttpResponse:
    side = request.GET.get("side", "owned")
    case = request.GET.get("case", "").strip()
    qs = selectors.list_logs_for(request.user, side=side, case=case)
    return render(
        request, "exchange/log.html", {"page": _page(request, qs), "side": side, "case": case}
    )


# --- Individuals ------------------------------------------------------------------------------
def _me_context(request: AuthedRequest, **extra: Any) -> dict[str, Any]:
    ctx = {
        "page": _page(request, selectors.list_my_accesses(request.user)),
        "corrections": selectors.list_my_corrections(request.user)[:20],
        "my_datasets": selectors.my_datasets(request.user),
        "errors": {},
        "form": {},
    }
    ctx.update(extra)
    return ctx


@requires(Cap.PORTAL)
def my_accesses(request: AuthedRequest) -> HttpResponse:
    return render(request, "exchange/my_accesses.html", _me_context(request))


@requires(Cap.PORTAL)
@require_POST
def my_correction(request: AuthedRequest) -> HttpResponse:
    p = request.POST
    form = {k: p.get(k, "") for k in ("dataset", "field", "value", "explanation")}
    try:
        actions.do_request_correction(
            actor=request.user,
            dataset_code=form["dataset"],
            field=form["field"],
            value=form["value"],
            explanation=form["explanation"],
        )
    except NotFound:
        errors = {"dataset": [_("No data about you in this dataset.")]}
    except ValidationFailed as exc:
        errors = exc.fields
    else:
        messages.success(request, _("Your request was sent to the department that holds the data."))
        return redirect("exchange:me")
    return render(
        request,
        "exchange/my_accesses.html",
        _me_context(request, errors=errors, form=form),
        status=422,
    )


@requires(Cap.DATA_PUBLISH)
def corrections(request: AuthedRequest) -> HttpResponse:
    qs = selectors.list_corrections_for(request.user)
    return render(request, "exchange/corrections.html", {"page": _page(request, qs)})


@requires(Cap.DATA_PUBLISH)
@require_POST
def correction_decide(request: AuthedRequest, correction_id: int) -> HttpResponse:
    accept = request.POST.get("accept") == "1"
    try:
        actions.do_decide_correction(
            actor=request.user,
            correction_id=correction_id,
            accept=accept,
            response=request.POST.get("response", ""),
        )
    except NotFound:
        raise Http404() from None
    except ValidationFailed as exc:
        for msgs in exc.fields.values():
            for m in msgs:
                messages.error(request, m)
        return redirect("exchange:corrections")
    messages.success(request, _("Decision recorded."))
    return redirect("exchange:corrections")


@requires(Cap.PORTAL)
def my_export(request: AuthedRequest) -> HttpResponse:
    data = actions.do_export_own_data(actor=request.user)
    resp = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    resp["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return resp
