"""好差评 pages (namespace ``ratings``, mounted at /ratings/)."""

from django.urls import path

from yiwang.ratings import views

app_name = "ratings"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("invitations/<int:invitation_id>/", views.rate, name="rate"),
    path("rectifications/<int:rectification_id>/confirm/", views.confirm, name="confirm"),
    path("statistics/", views.statistics, name="statistics"),
    path("console/", views.console, name="console"),
    path("console/ratings/<int:rating_id>/", views.rating_detail, name="rating"),
    path("console/ratings/<int:rating_id>/appeal/", views.appeal, name="appeal"),
    path("console/rectifications/", views.rectifications, name="rectifications"),
    path(
        "console/rectifications/<int:rectification_id>/",
        views.rectification_detail,
        name="rectification",
    ),
    path(
        "console/rectifications/<int:rectification_id>/contact/",
        views.rectification_contact,
        name="contact",
    ),
    path(
        "console/rectifications/<int:rectification_id>/callback/",
        views.rectification_callback,
        name="callback",
    ),
    path(
        "console/rectifications/<int:rectification_id>/result/",
        views.rectification_result,
        name="result",
    ),
    path("console/appeals/", views.appeals, name="appeals"),
    path("console/appeals/<int:appeal_id>/decide/", views.decide, name="decide"),
]
