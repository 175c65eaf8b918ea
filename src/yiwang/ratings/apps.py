from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    name = "yiwang.ratings"
    label = "ratings"
    verbose_name = _("Service ratings")

    def ready(self) -> None:
        from yiwang.ratings import (  # noqa: F401  (event subscribers, huey jobs)
            subscribers,
            tasks,
        )
