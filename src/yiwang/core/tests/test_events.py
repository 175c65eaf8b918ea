from __future__ import annotations

import pytest
from django.db import transaction

from yiwang.core import events


@pytest.fixture
def inbox():
    got: list[dict] = []

    def handler(payload: dict) -> None:
        got.append(payload)

    events.subscribe("test.happened", handler)
    yield got
    events.unsubscribe("test.happened", handler)


@pytest.mark.django_db(transaction=True)
def test_delivered_after_commit(inbox):
    with transaction.atomic():
        events.publish("test.happened", {"id": 1})
        assert inbox == []
    assert inbox == [{"id": 1}]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_delivers_nothing(inbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish("test.happened", {"id": 2})
        raise RuntimeError
    assert inbox == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_does_not_stop_the_others(inbox):
    def broken(payload: dict) -> None:
        raise ValueError("boom")

    events.subscribe("test.happened", broken)
    try:
        events.subscribe("test.happened", inbox.append)  # second plain handler
        with transaction.atomic():
            events.publish("test.happened", {"id": 3})
    finally:
        events.unsubscribe("test.happened", broken)
        events.unsubscribe("test.happened", inbox.append)
    assert {"id": 3} in inbox


def test_payload_must_be_json():
    with pytest.raises(TypeError):
        events.publish("test.happened", {"when": object()})


@pytest.mark.django_db(transaction=True)
def test_background_handlers_go_through_the_queue():
    got: list[dict] = []

    def slow(payload: dict) -> None:
        got.append(payload)

    events.subscribe("test.bg", slow, background=True)
    try:
        with transaction.atomic():
            events.publish("test.bg", {"id": 4})
    finally:
        events.unsubscribe("test.bg", slow)
    # The test settings run huey in immediate mode (same code path as the worker).
    assert got == [{"id": 4}]
