from __future__ import annotations

import pytest


@pytest.fixture
def cw(world):
    """The test world with certificate types, a card for each resident, a licence for
    enterprise_a and a copy of resident_a's card for 数据局a."""
    from yiwang.certs.tests.factories import build

    build(world)
    return world


@pytest.fixture(autouse=True)
def _english():
    from django.utils import translation

    with translation.override("en"):
        yield
