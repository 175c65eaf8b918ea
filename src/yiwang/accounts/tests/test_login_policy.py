"""Login policy: complexity, lockout, session rotation, idle and absolute timeouts, TOTP."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from yiwang.accounts.tests.factories import PASSWORD, UserFactory
from yiwang.core.models import AuditRecord


@pytest.mark.parametrize("pw", ["short1A", "alllowercase1", "ALLUPPER123", "nouppernodigit!"])
def test_weak_passwords_are_refused(pw):
    with pytest.raises(ValidationError):
        validate_password(pw)


def test_three_classes_and_eight_chars_pass():
    validate_password("Quiet#harbour7")


def test_demo_password_satisfies_the_policy():
    from yiwang.demo import DEMO_PASSWORD

    validate_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_login_rotates_the_session_id_and_is_audited(client):
    UserFactory(username="rotor", role="dept_staff")
    client.get("/accounts/login/")
    session = client.session
    session["probe"] = 1
    session.save()
    before = client.cookies["sessionid"].value
    r = client.post("/accounts/login/", {"username": "rotor", "password": PASSWORD})
    assert r.status_code == 302
    assert client.cookies["sessionid"].value != before
    assert AuditRecord.objects.filter(event="auth.login", actor="rotor").exists()


@pytest.mark.django_db
def test_lockout_after_five_failures(client):
    UserFactory(username="victim")
    for _ in range(5):
        r = client.post("/accounts/login/", {"username": "victim", "password": "Wrong#Pass1"})
        assert r.status_code in (200, 429)
    locked = client.post("/accounts/login/", {"username": "victim", "password": PASSWORD})
    assert locked.status_code == 429
    assert "30" in locked.content.decode()
    failed = AuditRecord.objects.filter(event="auth.login_failed", object_id="victim")
    assert failed.count() >= 5
    assert all("Wrong#Pass1" not in str(r.detail) for r in failed)


@pytest.mark.django_db
def test_security_admin_unlocks(client):
    UserFactory(username="victim2")
    admin = UserFactory(username="sec", role="secadmin")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "victim2", "password": "Wrong#Pass1"})
    client.force_login(admin)
    client.post("/console/security/unlock/", {"username": "victim2"})
    client.logout()
    ok = client.post("/accounts/login/", {"username": "victim2", "password": PASSWORD})
    assert ok.status_code == 302
    assert AuditRecord.objects.filter(
        event="security.account_unlocked", object_id="victim2"
    ).exists()


@pytest.mark.django_db
def test_idle_timeout_is_a_sliding_30_minutes(client, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    user = UserFactory(role="dept_staff")
    client.force_login(user)
    client.get("/console/")
    assert 29 * 60 < client.session.get_expiry_age() <= 30 * 60


@pytest.mark.django_db
def test_absolute_timeout_logs_out_after_12_hours(client):
    user = UserFactory(role="dept_staff")
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    session = client.session
    session["yw_login_at"] = time.time() - 12 * 3600 - 1
    session.save()
    page = client.get("/console/")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    session = client.session
    session["yw_login_at"] = time.time() - 12 * 3600 - 1
    session.save()
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.json()["code"] == "session_expired"


@pytest.mark.django_db
def test_totp_is_enforced_for_configured_roles(client, settings):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.YIWANG_OTP_REQUIRED_ROLES = ["sysadmin"]
    admin = UserFactory(username="root2", role="sysadmin", is_staff=True)
    client.post("/accounts/login/", {"username": "root2", "password": PASSWORD})
    r = client.get("/console/")
    assert r.status_code == 302 and r["Location"].endswith("/accounts/otp/")
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.json()["code"] == "otp_required"
    enrol = client.get("/accounts/otp/")
    assert b"<svg" in enrol.content  # QR code to enrol
    device = TOTPDevice.objects.get(user=admin)
    wrong = client.post(
        "/accounts/otp/", {"token": "000000" if totp(device.bin_key) != 0 else "111111"}
    )
    assert wrong.status_code == 200
    # django-otp throttles after a failure (1 s, doubling); stand in for the wait.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=None, throttling_failure_count=0
    )
    device.refresh_from_db()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    ok = client.post("/accounts/otp/", {"token": code})
    assert ok.status_code == 302
    assert client.get("/console/").status_code == 200
    assert AuditRecord.objects.filter(event="auth.otp_enrolled").exists()


@pytest.mark.django_db
def test_other_roles_are_not_asked_for_totp(client, settings):
    settings.YIWANG_OTP_REQUIRED_ROLES = ["sysadmin"]
    user = UserFactory(role="dept_staff")
    client.force_login(user)
    assert client.get("/console/").status_code == 200
