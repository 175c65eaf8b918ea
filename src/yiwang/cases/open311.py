"""Open311 GeoReport v2 at ``/open311/v2/`` (see docs/open311.md).

Every resource in ``.xml`` (required by the spec) and ``.json``. Errors are a list of
``{code, description}`` with HTTP 400, 403 or 404. Datetimes are ISO 8601 with the
Asia/Shanghai offset. ``POST requests`` is form-encoded and needs an ``api_key`` issued to the
client application (``cases.Open311Client``); reads are public but only show cases of public
categories reported through public channels (not 12345 hotline calls), with no reporter data.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from yiwang.cases import actions, selectors
from yiwang.cases.calendar import SHANGHAI
from yiwang.cases.models import Case, Category, Channel, StateType
from yiwang.core.errors import DomainError

SPEC = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_DAYS = 90
MAX_RESULTS = 1000
PUBLIC_CHANNELS = [Channel.PORTAL, Channel.PATROL, Channel.API, Channel.OPEN311]
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


# --- Rendering --------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_value(parent: ET.Element, tag: str, value: Any, item_tags: dict[str, str]) -> None:
    el = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_value(el, k, v, item_tags)
    elif isinstance(value, list):
        child = item_tags.get(tag, "item")
        for v in value:
            _xml_value(el, child, v, item_tags)
    else:
        el.text = _text(value)


def render(fmt: str, root: str, item: str, data: Any, status: int = 200) -> HttpResponse:
    """``data`` as JSON, or as XML: a list becomes ``<root><item>…</item></root>``."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False)
    else:
        item_tags = {
            root: item,
            "attributes": "attribute",
            "values": "value",
            "endpoints": "endpoint",
            "formats": "format",
        }
        el = ET.Element(root)
        if isinstance(data, list):
            for d in data:
                _xml_value(el, item, d, item_tags)
        else:
            for k, v in data.items():
                _xml_value(el, k, v, item_tags)
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(el, encoding="unicode")
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, descriptions: Iterable[str]) -> HttpResponse:
    data = [{"code": status, "description": d} for d in descriptions]
    return render(fmt, "errors", "error", data, status=status)


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


# --- Services ---------------------------------------------------------------------------------
def _service(c: Category) -> dict[str, Any]:
    return {
        "service_code": c.service_code,
        "service_name": c.name,
        "description": c.description or c.name,
        "metadata": bool(c.attributes),
        "type": "realtime",
        "keywords": ",".join(c.keywords.split()),
        "group": c.group,
    }


def _attribute(a: dict[str, Any]) -> dict[str, Any]:
    out = {
        "variable": bool(a.get("variable", True)),
        "code": a["code"],
        "datatype": a.get("datatype", "string"),
        "required": bool(a.get("required")),
        "datatype_description": a.get("datatype_description", ""),
        "order": int(a.get("order", 0)),
        "description": a.get("description", ""),
    }
    if a.get("values"):
        out["values"] = [{"key": v["key"], "name": v["name"]} for v in a["values"]]
    return out


def _public_categories() -> Any:
    return selectors.list_categories(public_only=True)


@require_GET
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri("/open311/v2/")
    latest = Category.objects.order_by().values_list("pk", flat=True).count()
    data = {
        "changeset": f"2026-01-01T00:00:00+08:00#{latest}",
        "contact": "指挥中心 / command centre",
        "key_service": "Ask the command centre for an api_key.",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base,
                "changeset": "2026-01-01T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", "discovery", data)


@require_GET
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    return render(fmt, "services", "service", [_service(c) for c in _public_categories()])


@require_GET
def service_definition(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    c = selectors.get_category(code)
    if c is None or not c.public:
        return errors(fmt, 404, [f"service_code {code} not found"])
    attrs = sorted(c.attributes or [], key=lambda a: int(a.get("order", 0)))
    data = {"service_code": c.service_code, "attributes": [_attribute(a) for a in attrs]}
    return render(fmt, "service_definition", "service_definition", data)


# --- Requests ---------------------------------------------------------------------------------
def _public_cases() -> Any:
    return Case.objects.select_related("category", "state", "department").filter(
        category__public=True, channel__in=PUBLIC_CHANNELS
    )


def _request(c: Case) -> dict[str, Any]:
    note = (
        c.events.filter(public=True)
        .exclude(note="")
        .order_by("-at", "-pk")
        .values_list("note", flat=True)
        .first()
        or ""
    )
    expected = c.due_at if c.sla_stage in {"handle", "verify"} else None
    return {
        "service_request_id": c.service_request_id,
        "status": c.state.open311_status,
        "status_notes": note[:500],
        "service_name": c.category.name,
        "service_code": c.category.service_code,
        "description": c.description,
        "agency_responsible": c.department.name if c.department else "",
        "service_notice": "",
        "requested_datetime": _iso(c.created_at),
        "updated_datetime": _iso(c.updated_at),
        "expected_datetime": _iso(expected),
        "address": c.address,
        "address_id": "",
        "zipcode": "",
        "lat": round(c.lat, 6) if c.lat is not None else None,
        "long": round(c.lng, 6) if c.lng is not None else None,
        "media_url": c.media_url,
    }


def _parse_date(value: str) -> dt.datetime:
    v = value.strip().replace(" ", "+")  # '+' in a query string arrives as a space
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    d = dt.datetime.fromisoformat(v)
    return d if d.tzinfo else d.replace(tzinfo=SHANGHAI)


def _list_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    q = request.GET
    qs = _public_cases()
    ids = [i.strip() for i in q.get("service_request_id", "").split(",") if i.strip()]
    if ids:  # the spec: other parameters are ignored
        qs = qs.filter(pk__in=[int(i) for i in ids if i.isdigit()])
        return render(fmt, "service_requests", "request", [_request(c) for c in qs.order_by("pk")])
    try:
        start = _parse_date(q["start_date"]) if q.get("start_date") else None
        end = _parse_date(q["end_date"]) if q.get("end_date") else None
    except ValueError:
        return errors(fmt, 400, ["start_date and end_date must be ISO 8601 datetimes"])
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        assert end is not None
        start = end - dt.timedelta(days=DEFAULT_DAYS)
    if end is None:
        end = start + dt.timedelta(days=DEFAULT_DAYS)
    if end < start:
        return errors(fmt, 400, ["end_date is before start_date"])
    if end - start > dt.timedelta(days=DEFAULT_DAYS):
        return errors(fmt, 400, [f"the date range may span at most {DEFAULT_DAYS} days"])
    qs = qs.filter(created_at__gte=start, created_at__lte=end)
    codes = [c.strip() for c in q.get("service_code", "").split(",") if c.strip()]
    if codes:
        cats = [selectors.get_category(c) for c in codes]
        qs = qs.filter(category__in=[c for c in cats if c is not None])
    statuses = {s.strip() for s in q.get("status", "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        return errors(fmt, 400, ["status must be open or closed"])
    if statuses == {"open"}:
        qs = qs.filter(state__type=StateType.OPEN)
    elif statuses == {"closed"}:
        qs = qs.filter(~Q(state__type=StateType.OPEN))
    rows = [_request(c) for c in qs.order_by("-created_at", "-pk")[:MAX_RESULTS]]
    return render(fmt, "service_requests", "request", rows)


_ERROR_NAMES = {"lat": "lat/long", "attributes": "attribute"}


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    p = request.POST
    client = actions.open311_client_for(p.get("api_key", ""))
    if client is None:
        return errors(fmt, 403, ["api_key is missing or not valid"])
    code = p.get("service_code", "").strip()
    if not code:
        return errors(fmt, 400, ["service_code is required"])
    c = selectors.get_category(code)
    if c is None or not c.public:
        return errors(fmt, 400, [f"service_code {code} not found"])
    lat, lng = p.get("lat", "").strip(), p.get("long", "").strip()
    address = p.get("address_string", "").strip()
    address_id = p.get("address_id", "").strip()
    if not (lat and lng) and not address and not address_id:
        return errors(
            fmt, 400, ["a location is required: lat and long, address_string or address_id"]
        )
    attrs: dict[str, Any] = {}
    for key in p:
        if key.startswith("attribute[") and key.endswith("]"):
            name = key[len("attribute[") : -1]
            multi = name.endswith("][")
            if multi:
                name = name[:-2]
            values = p.getlist(key)
            attrs[name] = values if multi or len(values) > 1 else values[0]
    name = " ".join(x for x in (p.get("last_name", ""), p.get("first_name", "")) if x).strip()
    data = {
        "category": c.service_code,
        "description": p.get("description", "").strip() or c.name,
        "lng": lng or None,
        "lat": lat or None,
        "coord_system": "wgs84",
        "address": address or (f"address_id:{address_id}" if address_id else ""),
        "attributes": attrs,
        "contact_name": name,
        "contact_phone": p.get("phone", ""),
        "contact_email": p.get("email", ""),
        "device_id": p.get("device_id", ""),
        "account_id": p.get("account_id", ""),
        "media_url": p.get("media_url", ""),
    }
    try:
        case = actions.do_report_case(actor=None, data=data, open311_client=client)
    except DomainError as exc:
        msgs = [f"{_ERROR_NAMES.get(k, k)}: {m}" for k, ms in exc.fields.items() for m in ms] or [
            str(exc.message)
        ]
        return errors(fmt, 400, msgs)
    out = [
        {
            "service_request_id": case.service_request_id,
            "service_notice": "",
            "account_id": case.account_id or None,
        }
    ]
    return render(fmt, "service_requests", "request", out)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    return _list_requests(request, fmt)


@require_GET
def request_detail(request: HttpRequest, request_id: str, fmt: str) -> HttpResponse:
    c = _public_cases().filter(pk=int(request_id)).first() if request_id.isdigit() else None
    if c is None:
        return errors(fmt, 404, [f"service_request_id {request_id} not found"])
    return render(fmt, "service_requests", "request", [_request(c)])


@require_GET
def token_view(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    import uuid

    try:
        key = uuid.UUID(token)
    except ValueError:
        key = None
    c = _public_cases().filter(token=key).first() if key else None
    if c is None:
        return errors(fmt, 404, [f"token {token} not found"])
    data = [{"service_request_id": c.service_request_id, "token": str(c.token)}]
    return render(fmt, "service_requests", "request", data)
