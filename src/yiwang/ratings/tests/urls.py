"""The project's URLs plus the ratings pages and API router (test-only, before integration).

The router is added before ``yiwang.config.urls`` is imported: ninja refuses routers once the
API's URLs have been generated. ``conftest.py`` imports this module first thing.
"""

from django.urls import include, path

from yiwang.config.api import api
from yiwang.ratings.api import router

if not any(prefix.strip("/") == "ratings" for prefix, _r in api._routers):
    api.add_router("/ratings", router, tags=["ratings"])

from yiwang.config import urls as project

urlpatterns = [path("ratings/", include("yiwang.ratings.urls")), *project.urlpatterns]
