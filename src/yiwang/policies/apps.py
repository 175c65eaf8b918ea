from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "yiwang.policies"
    label = "policies"
    verbose_name = _("Enterprise policies")

    def ready(self) -> None:
        from yiwang.policies import (  # noqa: F401  (event subscribers, huey jobs)
            subscribers,
            tasks,
        )
