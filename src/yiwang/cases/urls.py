"""Case pages, mounted at ``/console/cases/``. The resident pages (report, my cases) live here
too and need the portal capability; the console pages need the console capability."""

from django.urls import path

from yiwang.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/transition/", views.case_transition, name="transition"),
    path("<int:case_id>/photos/<str:sha256>", views.photo, name="photo"),
    path("statistics/", views.statistics, name="statistics"),
    path("patrol/", views.patrol, name="patrol"),
    path("hotline/", views.hotline, name="hotline"),
    path("report/", views.report, name="report"),
    path("report/territory.geojson", views.territory, name="territory"),
    path("mine/", views.my_cases, name="mine"),
    path("mine/<int:case_id>/", views.my_case, name="my_case"),
    path("mine/<int:case_id>/rate/", views.my_case_rate, name="rate"),
    path("mine/<int:case_id>/follow-up/", views.my_case_follow_up, name="follow_up"),
    path("mine/settings/", views.my_settings, name="my_settings"),
    path("messages/", views.inbox, name="messages"),
    path("messages/read/", views.inbox_read, name="messages_read"),
]
