"""Test-only URLs until the app is integrated: the project's URLs with the certs pages and
API router mounted where the integration will put them (see docs/certs.md).

The router is added before the project's URLs are imported (ninja refuses routers once its
URLs have been generated)."""

from django.urls import include, path

from yiwang.config.api import api

if not any(prefix.strip("/") == "certs" for prefix, _ in api._routers):
    from yiwang.certs.api import router as certs_router

    api.add_router("/certs", certs_router, tags=["certs"])

from yiwang.config import urls as project_urls

urlpatterns = [
    *project_urls.urlpatterns[:-1],
    path("certs/", include("yiwang.certs.urls")),
    project_urls.urlpatterns[-1],
]
