"""Certificate pages: the holder's wallet (证照夹), a printable certificate with its QR code,
copies (加注件) for other departments, the issuing department's list with revocation, the
copies a department received, and the public verification page.

Thin: reads through ``selectors``, writes through ``actions``; a form that fails is shown
again with its field messages; anything out of scope is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import segno
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.certs import actions, keys, selectors, signing
from yiwang.certs.models import Certificate, CertificateCopy, CertificateStatus, CertificateType
from yiwang.core import audit
from yiwang.core.errors import DomainError, NotFound, ValidationFailed
from yiwang.web.views import requires

PAGE_SIZE = 30


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def verify_link(request: HttpRequest, payload: str) -> str:
    return request.build_absolute_uri(reverse("certs:verify")) + "?p=" + quote(payload, safe=":")


def qr_svg(request: HttpRequest, payload: str, scale: int = 3) -> str:
    return str(segno.make(verify_link(request, payload), error="m").svg_inline(scale=scale))


def _either(request: AuthedRequest) -> bool:
    return bool(request.user.can(Cap.PORTAL) or selectors.is_department_staff(request.user))


def _certificate(request: AuthedRequest, identifier: str) -> Certificate:
    if not _either(request):
        raise Http404()
    try:
        return selectors.access_certificate(request.user, identifier)
    except NotFound:
        raise Http404() from None


def _copy(request: AuthedRequest, identifier: str) -> CertificateCopy:
    if not _either(request):
        raise Http404()
    try:
        return selectors.access_copy(request.user, identifier)
    except NotFound:
        raise Http404() from None


# --- holder -------------------------------------------------------------------------------------
@requires(Cap.PORTAL)
def wallet(request: AuthedRequest) -> HttpResponse:
    certs = list(selectors.list_my_certificates(request.user)[:200])
    copies = list(selectors.list_my_copies(request.user)[:100])
    return render(request, "certs/wallet.html", {"certs": certs, "copies": copies})


# --- certificate and copy pages -----------------------------------------------------------------
def _staff_or_holder(fn: Any) -> Any:
    from functools import wraps

    from django.contrib.auth.decorators import login_required

    @login_required
    @wraps(fn)
    def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return fn(request, *args, **kwargs)  # type: ignore[no-any-return]
        except DomainError as exc:
            if exc.status == 404:
                raise Http404() from None
            messages.error(request, str(exc.message))
            return redirect(request.path)

    return wrapper


@_staff_or_holder
def certificate_page(request: AuthedRequest, identifier: str) -> HttpResponse:
    cert = _certificate(request, identifier)
    staff = selectors.is_department_staff(request.user, cert.issuing_department_id)
    if staff:
        audit.record(
            "certs.certificate_read",
            actor=request.user,
            obj=cert,
            fields=["holder_name", "holder_code"],
            purpose=_("Certificate page"),
        )
    payload = cert.payload()
    return render(
        request,
        "certs/certificate.html",
        {
            "cert": cert,
            "status": cert.effective_status(),
            "holder_code_masked": signing.mask_code(cert.holder_code, cert.holder_code_type),
            "qr": qr_svg(request, payload),
            "payload": payload,
            "link": verify_link(request, payload),
            "is_holder": selectors.is_holder_of(request.user, cert),
            "may_revoke": staff and cert.status != CertificateStatus.REVOKED,
            "may_copy": cert.effective_status() == CertificateStatus.VALID,
            "copies": cert.copies.select_related("recipient_department")[:50]
            if staff or selectors.is_holder_of(request.user, cert)
            else [],
        },
    )


@_staff_or_holder
def certificate_qr(request: AuthedRequest, identifier: str) -> HttpResponse:
    cert = _certificate(request, identifier)
    svg = segno.make(verify_link(request, cert.payload()), error="m").svg_inline(scale=4)
    return HttpResponse(svg, content_type="image/svg+xml")


@_staff_or_holder
def copy_create(request: AuthedRequest, identifier: str) -> HttpResponse:
    cert = _certificate(request, identifier)
    errors: dict[str, list[str]] = {}
    default_exp = timezone.localdate() + dt.timedelta(days=actions.DEFAULT_COPY_DAYS)
    form: dict[str, Any] = {"expires_at": default_exp.isoformat()}
    if request.method == "POST":
        form = request.POST.dict()
        try:
            cp = actions.do_create_copy(
                actor=request.user,
                identifier=cert.identifier,
                purpose=form.get("purpose", ""),
                recipient_department=form.get("recipient_department", ""),
                expires_at=form.get("expires_at", ""),
            )
        except ValidationFailed as exc:
            errors = {("form" if k == "__all__" else k): v for k, v in exc.fields.items()}
        else:
            messages.success(request, _("The copy (加注件) was made."))
            return redirect("certs:copy", identifier=cp.identifier)
    return render(
        request,
        "certs/copy_form.html",
        {
            "cert": cert,
            "form": form,
            "errors": errors,
            "departments": selectors.copy_recipients(request.user, cert),
            "max_days": actions.MAX_COPY_DAYS,
            "max_date": (
                timezone.localdate() + dt.timedelta(days=actions.MAX_COPY_DAYS - 1)
            ).isoformat(),
        },
        status=422 if errors else 200,
    )


@_staff_or_holder
def copy_page(request: AuthedRequest, identifier: str) -> HttpResponse:
    cp = _copy(request, identifier)
    payload = cp.payload()
    return render(
        request,
        "certs/copy.html",
        {
            "cp": cp,
            "cert": cp.certificate,
            "holder_code_masked": signing.mask_code(
                cp.certificate.holder_code, cp.certificate.holder_code_type
            ),
            "qr": qr_svg(request, payload),
            "payload": payload,
            "link": verify_link(request, payload),
        },
    )


@_staff_or_holder
def copy_qr(request: AuthedRequest, identifier: str) -> HttpResponse:
    cp = _copy(request, identifier)
    svg = segno.make(verify_link(request, cp.payload()), error="m").svg_inline(scale=4)
    return HttpResponse(svg, content_type="image/svg+xml")


# --- department ---------------------------------------------------------------------------------
def _dept_staff(request: AuthedRequest) -> None:
    if not selectors.is_department_staff(request.user):
        raise Http404()


@requires(Cap.CONSOLE)
def issued(request: AuthedRequest) -> HttpResponse:
    _dept_staff(request)
    q = request.GET.get("q", "").strip()
    type_code = request.GET.get("type", "")
    status = request.GET.get("status", "")
    qs = selectors.list_issued_certificates(request.user, q=q, type_code=type_code, status=status)
    return render(
        request,
        "certs/issued.html",
        {
            "page": _page(request, qs),
            "q": q,
            "type_code": type_code,
            "status": status,
            "types": CertificateType.objects.all(),
            "statuses": CertificateStatus.choices,
        },
    )


@requires(Cap.CONSOLE)
def received(request: AuthedRequest) -> HttpResponse:
    _dept_staff(request)
    qs = selectors.list_received_copies(request.user)
    return render(request, "certs/received.html", {"page": _page(request, qs)})


@require_POST
@_staff_or_holder
def revoke(request: AuthedRequest, identifier: str) -> HttpResponse:
    try:
        cert = selectors.access_issued_certificate(request.user, identifier)
    except NotFound:
        raise Http404() from None
    try:
        actions.do_revoke_certificate(
            actor=request.user, identifier=cert.identifier, reason=request.POST.get("reason", "")
        )
    except ValidationFailed as exc:
        for msgs in exc.fields.values():
            for m in msgs:
                messages.error(request, m)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The certificate was revoked."))
    return redirect("certs:certificate", identifier=cert.identifier)


# --- public -------------------------------------------------------------------------------------
def verify_page(request: HttpRequest) -> HttpResponse:
    """Public: paste a payload, or open the link in the QR code (``?p=``)."""
    text = (request.POST.get("payload") or request.GET.get("p") or "").strip()
    holder_code = (request.POST.get("holder_code") or "").strip()
    result = None
    if text:
        result = actions.verify(text, holder_code=holder_code)
    status = 200
    if request.method == "POST" and not text:
        status = 422
    return render(
        request,
        "certs/verify.html",
        {
            "payload": text,
            "result": result,
            "reasons": [r.text() for r in result.reasons] if result else [],
            "claims": result.claims if result else {},
            "empty": request.method == "POST" and not text,
            "revocation": result.revocation if result else None,
        },
        status=status,
    )


def keys_json(request: HttpRequest) -> JsonResponse:
    """Public: the issuer key list with revocations (for ``yiwang cert verify --keys``)."""
    resp = JsonResponse(keys.key_list().to_json(), json_dumps_params={"ensure_ascii": False})
    resp["Content-Disposition"] = 'inline; filename="yiwang-cert-keys.json"'
    return resp
