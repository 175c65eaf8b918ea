"""No plaintext ID number, phone, password or token reaches a log."""

from __future__ import annotations

import logging

import pytest

from yiwang.accounts.tests.factories import PASSWORD, UserFactory
from yiwang.core.logging import redact

ID = "110101199003071234"
PHONE = "13812345678"


def test_redact_patterns():
    text = f"id={ID} phone={PHONE} password=hunter2&token=yw_abcdefghijkl Bearer abc.def"
    out = redact(text)
    for secret in (ID, PHONE, "hunter2", "yw_abcdefghijkl", "abc.def"):
        assert secret not in out


def test_records_are_redacted_whatever_the_handler(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("yiwang.anything").info("looked up %s with %s", ID, PHONE)
    assert ID not in caplog.text and PHONE not in caplog.text
    assert "[ID]" in caplog.text


@pytest.mark.django_db
def test_requests_with_personal_data_leave_no_trace_in_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    user = UserFactory(username="logcheck", id_number=ID, phone=PHONE)
    # A failed login (password in the body), an API call with a token, a 404 with an ID in the URL.
    client.post("/accounts/login/", {"username": "logcheck", "password": "Wrong#Pass99"})
    client.get(f"/api/v1/accounts/users/{ID}", HTTP_AUTHORIZATION="Bearer yw_notarealtoken123")
    client.post("/accounts/login/", {"username": "logcheck", "password": PASSWORD})
    client.get(f"/no-such-page/{PHONE}/")
    client.post(
        "/api/v1/core/ids/check",
        {"kind": "resident_id", "value": ID},
        content_type="application/json",
    )
    text = caplog.text
    for secret in (ID, PHONE, "Wrong#Pass99", PASSWORD, "yw_notarealtoken123"):
        assert secret not in text, f"{secret} leaked into the log"
    assert user.pk
