"""The API surface: auth, error shape, pagination, idempotency, body and type guards, docs."""

from __future__ import annotations

import json

import pytest

from yiwang.accounts.models import ApiToken
from yiwang.core.models import AuditRecord


def test_health_is_public(client, db):
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_me_is_401_with_the_error_shape(client, db):
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert set(r.json()) == {"code", "message", "fields"}


def test_openapi_and_offline_docs(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in schema["paths"]
    docs = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs


@pytest.mark.django_db
def test_token_auth_and_digest_at_rest(client, world):
    staff = world.users["dept_staff_a"]
    client.force_login(staff)
    created = client.post("/api/v1/me/tokens", {"name": "etl"}, content_type="application/json")
    assert created.status_code == 201
    raw = created.json()["token"]
    client.logout()
    tok = ApiToken.objects.get()
    assert raw not in (tok.digest, tok.prefix) and tok.digest != raw
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200 and me.json()["username"] == staff.username
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer yw_wrong").status_code == 401
    client.force_login(staff)
    client.delete(f"/api/v1/me/tokens/{tok.pk}")
    client.logout()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


@pytest.mark.django_db
def test_expired_token_is_refused(client, world):
    from datetime import timedelta

    from django.utils import timezone

    from yiwang.accounts import actions

    tok, raw = actions.do_create_api_token(actor=world.users["dept_staff_a"], name="t")
    ApiToken.objects.filter(pk=tok.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


@pytest.mark.django_db
def test_me_shows_masked_personal_data(client, world):
    user = world.users["resident_a"]
    client.force_login(user)
    body = client.get("/api/v1/me").json()
    assert body["id_number"] == user.id_number[:3] + "*" * 11 + user.id_number[-4:]
    assert body["phone"] == user.phone[:3] + "****" + user.phone[-4:]


@pytest.mark.django_db
def test_field_level_validation_errors(client, world):
    client.force_login(world.users["sysadmin_a"])
    r = client.post(
        "/api/v1/accounts/users",
        {
            "username": "x1",
            "role": "resident",
            "password": "short",
            "id_number": "110105194912310021",
        },
        content_type="application/json",
    )
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    assert "id_number" in body["fields"] and "password" in body["fields"]
    missing = client.post(
        "/api/v1/accounts/users", {"role": "resident"}, content_type="application/json"
    )
    assert missing.status_code == 422 and "username" in missing.json()["fields"]


@pytest.mark.django_db
def test_nothing_half_written_on_error(client, world):
    from yiwang.accounts.models import User

    client.force_login(world.users["sysadmin_a"])
    before_users, before_audit = User.objects.count(), AuditRecord.objects.count()
    client.post(
        "/api/v1/accounts/users",
        {
            "username": "bad",
            "role": "enterprise",
            "password": "Str0ng#Passw0rd",
            "credit_code": "123",
        },
        content_type="application/json",
    )
    assert User.objects.count() == before_users
    assert AuditRecord.objects.count() == before_audit


@pytest.mark.django_db
def test_pagination(client, world):
    client.force_login(world.users["sysadmin_a"])
    page = client.get("/api/v1/accounts/users?page=2&page_size=5").json()
    assert page["page"] == 2 and page["page_size"] == 5 and len(page["items"]) == 5
    assert page["count"] == 20
    bad = client.get("/api/v1/accounts/users?page_size=100000")
    assert bad.status_code == 422 and "page_size" in bad.json()["fields"]


@pytest.mark.django_db
def test_idempotency_key_replays_the_first_answer(client, world):
    client.force_login(world.users["dept_staff_a"])
    headers = {"HTTP_IDEMPOTENCY_KEY": "abc-123"}
    first = client.post(
        "/api/v1/me/tokens", {"name": "once"}, content_type="application/json", **headers
    )
    again = client.post(
        "/api/v1/me/tokens", {"name": "once"}, content_type="application/json", **headers
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ApiToken.objects.count() == 1
    other = client.post(
        "/api/v1/me/tokens", {"name": "different"}, content_type="application/json", **headers
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


@pytest.mark.django_db
def test_oversize_body_is_413(client, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(world.users["dept_staff_a"])
    r = client.post(
        "/api/v1/me/tokens", json.dumps({"name": "x" * 5000}), content_type="application/json"
    )
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"


@pytest.mark.django_db
def test_wrong_content_type_is_415(client, world):
    client.force_login(world.users["dept_staff_a"])
    r = client.post("/api/v1/me/tokens", "<xml/>", content_type="application/xml")
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_malformed_json_is_a_clear_error(client, world):
    client.force_login(world.users["dept_staff_a"])
    r = client.post("/api/v1/me/tokens", "{not json", content_type="application/json")
    assert r.status_code in (400, 422)
    assert set(r.json()) == {"code", "message", "fields"}


@pytest.mark.django_db
def test_unmask_needs_capability_and_purpose_and_is_audited(client, world):
    staff = world.users["dept_staff_a"]
    target = world.users["dept_leader_a"]
    client.force_login(staff)
    denied = client.post(
        f"/api/v1/accounts/users/{target.pk}/unmask",
        {"field": "phone", "purpose": "好奇看看"},
        content_type="application/json",
    )
    assert denied.status_code == 404  # staff cannot even see a colleague: out of scope
    client.force_login(world.users["dept_leader_a"])
    no_purpose = client.post(
        f"/api/v1/accounts/users/{staff.pk}/unmask",
        {"field": "phone", "purpose": ""},
        content_type="application/json",
    )
    assert no_purpose.status_code == 422 and "purpose" in no_purpose.json()["fields"]
    ok = client.post(
        f"/api/v1/accounts/users/{staff.pk}/unmask",
        {"field": "id_number", "purpose": "核实身份信息"},
        content_type="application/json",
    )
    assert ok.json()["value"] == staff.id_number
    rec = AuditRecord.objects.filter(event="personal.unmask").latest("seq")
    assert rec.fields == ["id_number"] and rec.purpose == "核实身份信息"
    assert rec.subject_id == str(staff.pk) and rec.actor == "dept_leader_a"


@pytest.mark.django_db
def test_reading_someone_elses_profile_is_audited(client, world):
    client.force_login(world.users["operator_a"])
    target = world.users["resident_a"]
    assert client.get(f"/api/v1/accounts/users/{target.pk}?purpose=回访").status_code == 200
    rec = AuditRecord.objects.filter(event="personal.read").latest("seq")
    assert rec.subject_id == str(target.pk) and "id_number" in rec.fields and rec.purpose == "回访"


@pytest.mark.django_db
def test_audit_admin_reads_audit_log_system_admin_cannot(client, world):
    client.force_login(world.users["auditadmin_a"])
    assert client.get("/api/v1/core/audit/records").status_code == 200
    verify = client.post("/api/v1/core/audit/verify", content_type="application/json")
    assert verify.json()["ok"] is True
    client.force_login(world.users["sysadmin_a"])
    assert client.get("/api/v1/core/audit/records").status_code == 404


@pytest.mark.django_db
def test_system_admin_cannot_touch_audit_tables_in_admin(client, world):
    client.force_login(world.users["sysadmin_a"])
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/core/auditrecord/").status_code == 404
    assert client.get("/admin/accounts/user/").status_code == 200
    client.force_login(world.users["auditadmin_a"])
    assert client.get("/admin/").status_code == 302  # not staff: sent to the admin login


def test_pages_are_chinese_first_api_follows_accept_language(client, db):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page["Content-Language"] == "zh-hans"
    api = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en")
    assert api.json()["message"] == "Log in or send an API token."
    client.cookies["django_language"] = "en"
    assert client.get("/accounts/login/")["Content-Language"] == "en"


@pytest.mark.django_db
def test_token_writes_need_no_csrf_but_session_writes_do(world):
    """A system calling with a bearer token has no CSRF cookie; a browser session must send
    the CSRF token (the real middleware checks are on here, unlike the default test client)."""
    from django.test import Client

    from yiwang.accounts import actions

    staff = world.users["dept_staff_a"]
    _, raw = actions.do_create_api_token(actor=staff, name="etl")
    strict = Client(enforce_csrf_checks=True)
    by_token = strict.post(
        "/api/v1/me/tokens",
        {"name": "second"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert by_token.status_code == 201, by_token.content

    strict.force_login(staff)
    by_session = strict.post(
        "/api/v1/me/tokens", {"name": "third"}, content_type="application/json"
    )
    assert by_session.status_code == 403
    # A forged bearer header does not get a session write past the CSRF check either.
    forged = strict.post(
        "/api/v1/me/tokens",
        {"name": "fourth"},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer yw_forged",
    )
    assert forged.status_code == 401
    assert ApiToken.objects.filter(name__in=["third", "fourth"]).count() == 0


@pytest.mark.django_db
def test_file_upload_endpoints_take_larger_multipart_bodies(client, world, settings):
    """The 2 MB body cap stops JSON and forms; the file endpoints in API_UPLOAD_LIMITS take
    multipart bodies up to their own limit (Django streams the file part to disk)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.API_UPLOAD_LIMITS = {"/api/v1/grid/grids/import/file": 50_000}
    client.force_login(world.users["data_admin_a"])
    padding = " " * 5000  # a GeoJSON file larger than the body cap
    body = {
        "file": SimpleUploadedFile(
            "g.geojson", ('{"type": "FeatureCollection", "features": []}' + padding).encode()
        ),
        "dry_run": "true",
    }
    r = client.post("/api/v1/grid/grids/import/file", body)
    assert r.status_code == 200, r.content
    assert r.json()["dry_run"] is True
    # Past the endpoint's own limit: refused before parsing, with the usual error shape.
    big = {"file": SimpleUploadedFile("g.geojson", b" " * 60_000)}
    r = client.post("/api/v1/grid/grids/import/file", big)
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"
    # Another endpoint keeps the 2 MB rule (here 1,000 bytes) for multipart too.
    other = {"file": SimpleUploadedFile("x.txt", b"x" * 5000), "name": "t"}
    r = client.post("/api/v1/me/tokens", other)
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"


@pytest.mark.django_db
def test_an_idempotent_file_upload_is_hashed_without_reading_the_body_whole(
    client, world, settings
):
    """With an Idempotency-Key, a multipart upload larger than the in-memory body limit is
    fingerprinted from its parsed parts: a retry gets the first answer, another file a 422."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.API_UPLOAD_LIMITS = {"/api/v1/grid/grids/import/file": 50_000}
    client.force_login(world.users["data_admin_a"])
    text = '{"type": "FeatureCollection", "features": []}' + " " * 5000

    def upload(content: str):
        f = SimpleUploadedFile("g.geojson", content.encode())
        return client.post(
            "/api/v1/grid/grids/import/file",
            {"file": f, "dry_run": "true"},
            HTTP_IDEMPOTENCY_KEY="grid-upload-1",
        )

    first = upload(text)
    assert first.status_code == 200, first.content
    again = upload(text)
    assert again.status_code == 200 and again.content == first.content
    other = upload(text + " ")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
