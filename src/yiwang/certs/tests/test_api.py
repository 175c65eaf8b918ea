"""The certificates API: public verification and key list, holders, issuers, copies."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from yiwang.certs import signing
from yiwang.certs.models import Certificate

A = "/api/v1/certs"


def _post(client, path, body):
    return client.post(path, body, content_type="application/json")


def test_verify_is_public_and_valid(cw, client):
    resp = _post(client, f"{A}/verify", {"qr_payload": cw.extra["cert_a"].payload()})
    assert resp.status_code == 200
    body = resp.json()
    assert body["valid"] is True and body["reasons"] == []
    assert body["claims"]["no"] == cw.extra["cert_a"].number


def test_verify_tampered_gives_reason_in_chinese(cw, client):
    claims, sig = signing.decode_payload(cw.extra["cert_a"].payload())
    forged = signing.encode_payload({**claims, "vt": "2099-12-31"}, sig)
    resp = _post(client, f"{A}/verify", {"qr_payload": forged})
    body = resp.json()
    assert resp.status_code == 200 and body["valid"] is False
    assert body["reasons"][0]["code"] == "bad_signature"


def test_bad_signature_reason_is_translated_to_the_required_chinese():
    from django.utils import translation

    from yiwang.certs import signing as sg

    with translation.override("zh-hans"):
        assert translation.gettext(sg.REASON_MESSAGES["bad_signature"]) == "签名不符，内容被篡改"


def test_verify_garbage_is_an_answer_not_an_error(cw, client):
    resp = _post(client, f"{A}/verify", {"qr_payload": "hello"})
    assert resp.status_code == 200
    assert resp.json()["reasons"][0]["code"] == "malformed"


def test_verify_missing_payload_is_a_field_error(cw, client):
    resp = _post(client, f"{A}/verify", {})
    assert resp.status_code == 422
    assert "qr_payload" in resp.json()["fields"]


def test_key_list_is_public_and_has_no_private_keys(cw, client):
    body = client.get(f"{A}/keys").json()
    assert body["format"] == signing.KEYS_FORMAT
    kid = cw.extra["cert_a"].key.kid
    assert any(k["kid"] == kid for k in body["keys"])
    assert "private" not in str(body).lower()


def test_my_certificates_lists_only_mine(cw, client):
    client.force_login(cw.users["resident_a"])
    items = client.get(f"{A}/mine").json()["items"]
    assert [i["identifier"] for i in items] == [cw.extra["cert_a"].identifier]
    assert "*" in items[0]["holder_code_masked"]


def test_enterprise_sees_its_licence(cw, client):
    client.force_login(cw.users["enterprise_a"])
    items = client.get(f"{A}/mine").json()["items"]
    assert [i["type_code"] for i in items] == ["business_licence"]


def test_issued_lists_my_department_only(cw, client):
    client.force_login(cw.users["dept_staff_b"])
    items = client.get(f"{A}/issued").json()["items"]
    assert [i["identifier"] for i in items] == [cw.extra["cert_b"].identifier]


def test_detail_out_of_scope_is_404(cw, client):
    client.force_login(cw.users["resident_b"])
    resp = client.get(f"{A}/certificates/{cw.extra['cert_a'].identifier}")
    assert resp.status_code == 404


def test_create_copy_field_errors(cw, client):
    client.force_login(cw.users["resident_a"])
    resp = _post(
        client,
        f"{A}/certificates/{cw.extra['cert_a'].identifier}/copies",
        {
            "purpose": "",
            "recipient_department": "nope",
            "expires_at": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert resp.status_code == 422
    assert {"purpose", "recipient_department", "expires_at"} <= set(resp.json()["fields"])


def test_create_copy(cw, client):
    client.force_login(cw.users["resident_a"])
    resp = _post(
        client,
        f"{A}/certificates/{cw.extra['cert_a'].identifier}/copies",
        {"purpose": "办理入学", "recipient_department": cw.departments["centre_a"].code},
    )
    assert resp.status_code == 201
    assert resp.json()["qr_payload"].startswith("YWC1:")


def test_revoke_then_revoke_again_is_409(cw, client):
    client.force_login(cw.users["dept_leader_a"])
    url = f"{A}/certificates/{cw.extra['cert_a'].identifier}/revoke"
    first = _post(client, url, {"reason": "信息有误"})
    assert first.status_code == 200 and first.json()["status"] == "revoked"
    again = _post(client, url, {"reason": "再次"})
    assert again.status_code == 409
    assert Certificate.objects.get(pk=cw.extra["cert_a"].pk).revocation.reason == "信息有误"


def test_revoke_by_holder_is_404(cw, client):
    client.force_login(cw.users["resident_a"])
    resp = _post(
        client, f"{A}/certificates/{cw.extra['cert_a'].identifier}/revoke", {"reason": "x"}
    )
    assert resp.status_code == 404


def test_revoked_verify_reports_date_and_reason(cw, client):
    client.force_login(cw.users["dept_leader_a"])
    _post(client, f"{A}/certificates/{cw.extra['cert_a'].identifier}/revoke", {"reason": "已换发"})
    client.logout()
    body = _post(client, f"{A}/verify", {"qr_payload": cw.extra["cert_a"].payload()}).json()
    assert body["valid"] is False
    assert body["reasons"][0]["code"] == "revoked"
    assert "已换发" in body["reasons"][0]["message"]


def test_recipient_staff_list_received_copies(cw, client):
    staff = cw.users["data_admin_a"]
    staff.role = "dept_staff"
    staff.save(update_fields=["role"])
    client.force_login(staff)
    items = client.get(f"{A}/copies").json()["items"]
    assert [i["identifier"] for i in items] == [cw.extra["copy_a"].identifier]
