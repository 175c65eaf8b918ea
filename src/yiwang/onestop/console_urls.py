"""Department console pages of 一网通办 (mounted under /services/console/, namespace onestop)."""

from __future__ import annotations

from django.urls import path

from yiwang.onestop import console_views as v

urlpatterns = [
    path("", v.tasks, name="console_tasks"),
    path("tasks/<int:task_id>/", v.task, name="console_task"),
    path("tasks/<int:task_id>/claim/", v.claim, name="console_task_claim"),
    path("tasks/<int:task_id>/release/", v.release, name="console_task_release"),
    path("tasks/<int:task_id>/supplement/", v.supplement, name="console_task_supplement"),
    path("tasks/<int:task_id>/decide/", v.decide, name="console_task_decide"),
    path(
        "tasks/<int:task_id>/materials/<int:material_id>/file/",
        v.material_file,
        name="console_material_file",
    ),
    path("statistics/", v.statistics, name="console_statistics"),
]
