from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "yiwang.cases"
    label = "cases"
    verbose_name = _("City management cases")

    def ready(self) -> None:
        from yiwang.cases import (
            grid_counts,
            lookups,
            tasks_notify,  # noqa: F401  (cases.changed subscriber, notification jobs)
        )

        lookups.connect()
        grid_counts.register()  # 事 on the grid map and profile
