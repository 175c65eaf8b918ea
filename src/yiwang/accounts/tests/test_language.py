"""A person's own language: stored with the account, followed on every device and by the
background jobs that write to them (ADR 0022)."""

from __future__ import annotations

import json

import pytest
from django.utils.translation import gettext as _

from yiwang.accounts.language import in_language_of, language_of
from yiwang.accounts.models import User
from yiwang.accounts.tests.factories import UserFactory
from yiwang.core.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_the_switch_stores_a_logged_in_persons_choice(client) -> None:
    user = UserFactory()
    client.force_login(user)
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert r.status_code == 302
    assert r.cookies["django_language"].value == "en"
    user.refresh_from_db()
    assert user.language == "en"
    rec = AuditRecord.objects.filter(event="accounts.language_changed").latest("seq")
    assert rec.detail["from"] == "" and rec.detail["to"] == "en"
    # The same choice again changes and records nothing.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert AuditRecord.objects.filter(event="accounts.language_changed").count() == 1


def test_the_switch_still_works_without_an_account(client) -> None:
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert r.status_code == 302
    assert r.cookies["django_language"].value == "en"
    assert not AuditRecord.objects.filter(event="accounts.language_changed").exists()


def test_the_accounts_language_applies_on_a_new_device(client) -> None:
    user = UserFactory(language="en")
    client.force_login(user)  # no language cookie on this client
    r = client.get("/accounts/profile/")
    assert r.status_code == 200
    assert r.headers["Content-Language"] == "en"
    assert "English" in r.text  # the profile names the chosen language
    # This device's own switch wins over the account.
    client.cookies["django_language"] = "zh-hans"
    r = client.get("/accounts/profile/")
    assert r.headers["Content-Language"] == "zh-hans"


def test_a_person_without_a_chosen_language_gets_the_default(client) -> None:
    client.force_login(UserFactory())
    r = client.get("/accounts/profile/", HTTP_ACCEPT_LANGUAGE="en")
    assert r.headers["Content-Language"] == "zh-hans"


def test_api_sets_and_reports_my_language_with_field_errors(client) -> None:
    user = UserFactory()
    client.force_login(user)
    r = client.put("/api/v1/me/language", json.dumps({"language": "fr"}), "application/json")
    assert r.status_code == 422
    assert "language" in r.json()["fields"]
    r = client.put("/api/v1/me/language", json.dumps({"language": "en"}), "application/json")
    assert r.status_code == 200
    assert r.json()["language"] == "en"
    assert client.get("/api/v1/me").json()["language"] == "en"
    # An explicit Accept-Language on an API request still decides that request.
    r = client.put(
        "/api/v1/me/language",
        json.dumps({"language": "xx"}),
        "application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.headers["Content-Language"] == "zh-hans"
    r = client.put("/api/v1/me/language", json.dumps({"language": ""}), "application/json")
    assert r.json()["language"] == ""
    assert User.objects.get(pk=user.pk).language == ""


def test_language_of_and_in_language_of() -> None:
    assert language_of(None) == "zh-hans"
    assert language_of(UserFactory.build(language="")) == "zh-hans"
    english = UserFactory.build(language="en")
    assert language_of(english) == "en"
    with in_language_of(english) as lang:
        assert lang == "en"
        assert _("Not found.") == "Not found."
    with in_language_of(None):
        assert _("Not found.") != "Not found."  # the zh-Hans catalogue
