from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnestopConfig(AppConfig):
    name = "yiwang.onestop"
    label = "onestop"
    verbose_name = _("One-stop services")

    def ready(self) -> None:
        from yiwang.onestop import tasks  # noqa: F401  (huey jobs)
