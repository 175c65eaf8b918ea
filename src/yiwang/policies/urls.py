"""政策通 pages, mounted at ``/policies/``: the public library (no login), the enterprise
portal (``mine/``) and the console (``console/``)."""

from django.urls import path

from yiwang.policies import views

app_name = "policies"

urlpatterns = [
    # the public library
    path("", views.library, name="library"),
    path("documents/<int:document_id>/", views.document_detail, name="document"),
    path("items/<int:item_id>/", views.item_detail, name="item"),
    path("calendar/", views.deadlines, name="calendar"),
    path("calculator/", views.calculator_page, name="calculator"),
    # the enterprise portal
    path("mine/", views.my_matches, name="my_matches"),
    path("mine/profile/", views.my_profile, name="my_profile"),
    path("mine/profile/declare/", views.declare, name="declare"),
    path("mine/profile/correction/", views.request_correction, name="correction"),
    path("mine/preferences/", views.preferences, name="preferences"),
    path("mine/inbox/", views.inbox, name="inbox"),
    path("mine/inbox/<int:delivery_id>/", views.delivery_detail, name="delivery"),
    # the console
    path("console/", views.console, name="console"),
    path("console/documents/new/", views.document_new, name="document_new"),
    path("console/documents/<int:document_id>/items/new/", views.item_new, name="item_new"),
    path("console/items/<int:item_id>/", views.item_edit, name="item_edit"),
    path("console/items/<int:item_id>/preview/", views.item_preview, name="item_preview"),
    path("console/items/<int:item_id>/submit/", views.item_submit, name="item_submit"),
    path("console/items/<int:item_id>/review/", views.item_review, name="item_review"),
    path("console/items/<int:item_id>/decide/", views.item_decide, name="item_decide"),
    path("console/items/<int:item_id>/matches/", views.item_matches, name="item_matches"),
    path("console/corrections/", views.corrections, name="corrections"),
    path(
        "console/corrections/<int:correction_id>/decide/",
        views.correction_decide,
        name="correction_decide",
    ),
]
