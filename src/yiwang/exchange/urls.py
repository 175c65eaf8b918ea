"""exchange pages (namespace ``exchange``, mounted at /exchange/)."""

from django.urls import path

from yiwang.exchange import codetable_views, views

app_name = "exchange"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("datasets/<str:code>/", views.dataset_detail, name="dataset"),
    path("datasets/<str:code>/load/", views.dataset_load, name="load"),
    path("datasets/<str:code>/quality/", views.dataset_quality, name="quality"),
    path("datasets/<str:code>/request/", views.grant_request, name="request"),
    path("datasets/<str:code>/versions/<int:number>/", views.version_detail, name="version"),
    path("grants/inbox/", views.grant_inbox, name="inbox"),
    path("grants/mine/", views.my_grants, name="my_grants"),
    path("grants/<int:grant_id>/", views.grant_detail, name="grant"),
    path("grants/<int:grant_id>/decide/", views.grant_decide, name="decide"),
    path("grants/<int:grant_id>/revoke/", views.grant_revoke, name="revoke"),
    path("log/", views.exchange_log, name="log"),
    path("corrections/", views.corrections, name="corrections"),
    path(
        "corrections/<int:correction_id>/decide/", views.correction_decide, name="decide_correction"
    ),
    path("codetables/", codetable_views.table_list, name="codetables"),
    path("codetables/import/", codetable_views.table_import, name="codetable_import"),
    path("codetables/<str:table>/", codetable_views.table_detail, name="codetable"),
    path(
        "codetables/<str:table>/versions/<str:version>/validity/",
        codetable_views.table_validity,
        name="codetable_validity",
    ),
    path("me/", views.my_accesses, name="me"),
    path("me/corrections/", views.my_correction, name="correct"),
    path("me/export.json", views.my_export, name="export"),
]
