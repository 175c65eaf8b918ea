"""Import pages, mounted at ``/console/imports/``."""

from django.urls import path

from yiwang.registry import views_import as views

app_name = "registry_import"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:job_id>/", views.job, name="job"),
    path("<int:job_id>/progress/", views.progress, name="progress"),
    path("<int:job_id>/report.csv", views.report, name="report"),
    path("templates/<str:entity_type>.<str:fmt>", views.template, name="template"),
]
