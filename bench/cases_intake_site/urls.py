"""The product's URLs plus ``POST /bench/api/floor``: the same framework, middleware and token
authentication as ``POST /api/v1/cases``, but the view only inserts the same case row (no
validation beyond the schema, no grid lookup, routing, deadline, timeline, audit or messages).
The gap between the two is what intake itself costs."""

from __future__ import annotations

import os
from typing import Any

from django.urls import path
from ninja import NinjaAPI, Schema

from yiwang.cases.schemas import CaseIn
from yiwang.config.urls import urlpatterns as product_urlpatterns
from yiwang.core.api import AUTH

floor_api = NinjaAPI(urls_namespace="bench_floor", auth=AUTH, docs_url=None)

# Resolved once by the benchmark and handed over in the environment: the floor does no lookups.
_IDS = {
    k: int(os.environ.get(f"YIWANG_BENCH_{k.upper()}", "0"))
    for k in ("category", "grid", "department")
}
_PREFIX = os.environ.get("YIWANG_BENCH_PREFIX", "")


class FloorOut(Schema):
    id: int


@floor_api.post("/floor", response={201: FloorOut})
def floor(request: Any, payload: CaseIn) -> Any:
    from yiwang.cases.models import Case

    case = Case.objects.create(
        category_id=_IDS["category"],
        state_id="reported",
        channel="api",
        priority="general",
        description=payload.description,
        attributes=payload.attributes,
        lng=payload.lng,
        lat=payload.lat,
        address=payload.address,
        grid_id=_IDS["grid"],
        division_prefix=_PREFIX,
        reporter=request.user,
        department_id=_IDS["department"],
    )
    return 201, {"id": case.pk}


urlpatterns = [path("bench/api/", floor_api.urls), *product_urlpatterns]
