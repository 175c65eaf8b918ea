"""Open311 GeoReport v2 routes: every resource with a ``.xml`` or ``.json`` suffix."""

from django.urls import path, register_converter

from yiwang.cases import open311


class FormatConverter:
    regex = "xml|json"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class SegmentConverter:
    """A path segment without the format suffix (service codes, ids, tokens)."""

    regex = r"[^/.]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FormatConverter, "o311fmt")
register_converter(SegmentConverter, "o311seg")

app_name = "open311"

urlpatterns = [
    path("discovery.<o311fmt:fmt>", open311.discovery, name="discovery"),
    path("services.<o311fmt:fmt>", open311.services, name="services"),
    path("services/<o311seg:code>.<o311fmt:fmt>", open311.service_definition, name="service"),
    path("requests.<o311fmt:fmt>", open311.requests_view, name="requests"),
    path("requests/<o311seg:request_id>.<o311fmt:fmt>", open311.request_detail, name="request"),
    path("tokens/<o311seg:token>.<o311fmt:fmt>", open311.token_view, name="token"),
]
