"""The public service guide (办事指南); mounted into ``onestop.urls`` (namespace ``onestop``)."""

from __future__ import annotations

from django.urls import path

from yiwang.onestop import guide_views

urlpatterns = [
    path("services/", guide_views.guide, name="guide"),
    path("services/matters/<str:code>/", guide_views.matter_detail, name="guide_matter"),
    path("services/bundles/<slug:code>/", guide_views.bundle_detail, name="guide_bundle"),
]
