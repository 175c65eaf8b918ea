from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "yiwang.registry"
    label = "registry"
    verbose_name = _("Registry of people, places, things and organisations")

    def ready(self) -> None:
        from yiwang.registry import subscribers  # noqa: F401
