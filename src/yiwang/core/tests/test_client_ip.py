"""The client address recorded in audit records: X-Forwarded-For only when configured, and
then only the entry our own proxy added."""

from __future__ import annotations

from django.test import RequestFactory

from yiwang.core.middleware import client_ip


def _req(**meta: str):
    return RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", **meta)


def test_forwarded_for_ignored_by_default(settings):
    settings.YIWANG_TRUST_X_FORWARDED_FOR = False
    assert client_ip(_req(HTTP_X_FORWARDED_FOR="203.0.113.9")) == "127.0.0.1"


def test_behind_our_proxy_the_last_entry_counts(settings):
    settings.YIWANG_TRUST_X_FORWARDED_FOR = True
    assert client_ip(_req(HTTP_X_FORWARDED_FOR="203.0.113.9")) == "203.0.113.9"
    # a client claiming an address in its own header does not get it recorded
    spoofed = _req(HTTP_X_FORWARDED_FOR="10.1.1.1, 198.51.100.7")
    assert client_ip(spoofed) == "198.51.100.7"
    assert client_ip(_req(HTTP_X_FORWARDED_FOR=" ")) == "127.0.0.1"


def test_setting_comes_from_the_environment():
    import importlib
    import os

    from yiwang.config import settings as product

    old = os.environ.get("YIWANG_TRUST_X_FORWARDED_FOR")
    try:
        os.environ["YIWANG_TRUST_X_FORWARDED_FOR"] = "1"
        assert importlib.reload(product).YIWANG_TRUST_X_FORWARDED_FOR is True
        os.environ["YIWANG_TRUST_X_FORWARDED_FOR"] = "0"
        assert importlib.reload(product).YIWANG_TRUST_X_FORWARDED_FOR is False
    finally:
        if old is None:
            os.environ.pop("YIWANG_TRUST_X_FORWARDED_FOR", None)
        else:
            os.environ["YIWANG_TRUST_X_FORWARDED_FOR"] = old
        importlib.reload(product)
