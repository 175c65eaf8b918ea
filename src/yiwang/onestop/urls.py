"""一网通办 pages, all under ``/services/`` (mounted at the root): the public service guide
(``guide_urls``), the applicant's pages (apply, my applications, one application) and the
department console (``console_urls``, under ``services/console/``)."""

from __future__ import annotations

import importlib
from typing import Any

from django.urls import include, path

from yiwang.onestop import views

app_name = "onestop"


def _patterns(module: str) -> list[Any]:
    try:
        return list(importlib.import_module(module).urlpatterns)
    except ModuleNotFoundError:
        return []


urlpatterns = [
    *_patterns("yiwang.onestop.guide_urls"),
    path("services/apply/<slug:code>/", views.apply_start, name="apply_start"),
    path("services/applications/", views.my_applications, name="my_applications"),
    path("services/applications/<int:application_id>/", views.application_page, name="application"),
    path("services/applications/<int:application_id>/save/", views.save_draft, name="save_draft"),
    path(
        "services/applications/<int:application_id>/materials/<int:material_id>/",
        views.upload_material,
        name="upload_material",
    ),
    path(
        "services/applications/<int:application_id>/materials/<int:material_id>/file/",
        views.material_file,
        name="material_file",
    ),
    path("services/applications/<int:application_id>/submit/", views.submit, name="submit"),
    path(
        "services/applications/<int:application_id>/supplement/",
        views.answer_supplement,
        name="answer_supplement",
    ),
    path("services/applications/<int:application_id>/withdraw/", views.withdraw, name="withdraw"),
    path("services/console/", include(_patterns("yiwang.onestop.console_urls"))),
]
