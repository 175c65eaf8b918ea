from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "yiwang.registry"
    label = "registry"
    verbose_name = _("Registry of people, places, things and organisations")

    def ready(self) -> None:
        from yiwang.grid import counts
        from yiwang.registry import subscribers  # noqa: F401
        from yiwang.registry.selectors import GRID_METRICS, count_per_grid

        labels = {
            "people": _("People"),
            "places": _("Places"),
            "things": _("City parts"),
            "organisations": _("Organisations"),
        }
        counts.register(
            "registry",
            [
                counts.Metric(key, labels[key], url, order)
                for order, (key, _model, url) in enumerate(GRID_METRICS)
            ],
            count_per_grid,
        )
