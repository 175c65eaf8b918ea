from django.contrib import admin
from django.urls import include, path

from yiwang.accounts import views as accounts_views
from yiwang.config.api import api

admin.site.site_header = "一网 Yiwang"
admin.site.site_title = "一网 Yiwang"

urlpatterns = [
    path("api/v1/", api.urls),
    # The language switch, which also stores a logged-in person's choice (ADR 0022).
    path("i18n/setlang/", accounts_views.set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("yiwang.accounts.urls")),
    path("console/grids/", include("yiwang.grid.urls")),
    path("console/registry/", include("yiwang.registry.urls")),
    path("console/imports/", include("yiwang.registry.urls_import")),
    path("open311/v2/", include("yiwang.cases.open311_urls")),
    path("console/cases/", include("yiwang.cases.urls")),
    path("policies/", include("yiwang.policies.urls")),
    path("exchange/", include("yiwang.exchange.urls")),
    path("certs/", include("yiwang.certs.urls")),
    path("ratings/", include("yiwang.ratings.urls")),
    path("", include("yiwang.onestop.urls")),
    path("", include("yiwang.web.urls")),
]
