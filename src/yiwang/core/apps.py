from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "yiwang.core"
    label = "core"
    verbose_name = _("Kernel")

    def ready(self) -> None:
        from yiwang.core import logging as ylogging

        ylogging.install_record_redaction()
