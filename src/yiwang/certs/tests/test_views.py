"""Certificate pages: wallet, printable certificate, copy form, issuer list, verification."""

from __future__ import annotations

from urllib.parse import quote

from django.utils.html import escape

from yiwang.certs import signing
from yiwang.certs.models import Certificate, CertificateCopy


def test_wallet_lists_certificates_and_copies(cw, client):
    client.force_login(cw.users["resident_a"])
    html = client.get("/certs/").content.decode()
    assert cw.extra["cert_a"].number in html
    assert "办理就业登记" in html
    assert cw.extra["cert_b"].number not in html


def test_certificate_page_has_qr_metadata_and_masked_code(cw, client):
    cert = cw.extra["cert_a"]
    client.force_login(cw.users["resident_a"])
    html = client.get(f"/certs/c/{cert.identifier}/").content.decode()
    assert "<svg" in html and cert.number in html
    assert cert.holder_code not in html
    assert signing.mask_code(cert.holder_code, "ric") in html
    assert "@media print" not in html  # print CSS is a static file
    assert "certs/certs.css" in html


def test_qr_svg(cw, client):
    client.force_login(cw.users["resident_a"])
    resp = client.get(f"/certs/c/{cw.extra['cert_a'].identifier}/qr.svg")
    assert resp["Content-Type"] == "image/svg+xml"


def test_staff_reading_a_certificate_is_audited(cw, client):
    from yiwang.core.models import AuditRecord

    client.force_login(cw.users["dept_staff_a"])
    client.get(f"/certs/c/{cw.extra['cert_a'].identifier}/")
    assert AuditRecord.objects.filter(event="certs.certificate_read").count() == 1


def test_copy_form_errors_are_shown_and_nothing_made(cw, client):
    client.force_login(cw.users["resident_a"])
    before = CertificateCopy.objects.count()
    resp = client.post(
        f"/certs/c/{cw.extra['cert_a'].identifier}/copy/",
        {"purpose": "", "recipient_department": "", "expires_at": "2020-01-01"},
    )
    assert resp.status_code == 422
    assert b"errorlist" in resp.content
    assert CertificateCopy.objects.count() == before


def test_copy_form_makes_a_copy(cw, client):
    client.force_login(cw.users["resident_a"])
    resp = client.post(
        f"/certs/c/{cw.extra['cert_a'].identifier}/copy/",
        {"purpose": "办理入学", "recipient_department": cw.departments["centre_a"].code},
    )
    cp = CertificateCopy.objects.get(purpose="办理入学")
    assert resp.status_code == 302 and resp["Location"].endswith(f"/certs/copies/{cp.identifier}/")


def test_revoke_page_action(cw, client):
    client.force_login(cw.users["dept_staff_a"])
    cert = cw.extra["cert_a"]
    client.post(f"/certs/c/{cert.identifier}/revoke/", {"reason": "信息有误"})
    assert Certificate.objects.get(pk=cert.pk).status == "revoked"
    html = client.get(f"/certs/c/{cert.identifier}/").content.decode()
    assert "信息有误" in html


def test_revoke_without_reason_changes_nothing(cw, client):
    client.force_login(cw.users["dept_staff_a"])
    cert = cw.extra["cert_a"]
    resp = client.post(f"/certs/c/{cert.identifier}/revoke/", {"reason": ""}, follow=True)
    assert Certificate.objects.get(pk=cert.pk).status == "valid"
    assert _zh("Give the reason for the revocation.") in resp.content.decode()


def test_issued_page_filters(cw, client):
    client.force_login(cw.users["dept_staff_a"])
    html = client.get("/certs/issued/", {"type": "business_licence"}).content.decode()
    assert cw.extra["licence_a"].number in html
    assert cw.extra["cert_a"].number not in html


def test_public_verify_page_by_link(cw, client):
    p = cw.extra["cert_a"].payload()
    resp = client.get("/certs/verify/?p=" + quote(p, safe=":"))
    assert resp.status_code == 200
    assert b'data-valid="true"' in resp.content


def test_public_verify_page_tampered(cw, client):
    claims, sig = signing.decode_payload(cw.extra["cert_a"].payload())
    forged = signing.encode_payload({**claims, "no": "X"}, sig)
    resp = client.post("/certs/verify/", {"payload": forged})
    html = resp.content.decode()
    assert 'data-valid="false"' in html and "签名不符，内容被篡改" in html


def test_public_verify_page_empty_post(cw, client):
    assert client.post("/certs/verify/", {"payload": ""}).status_code == 422


def test_public_verify_page_holder_mismatch(cw, client):
    resp = client.post(
        "/certs/verify/",
        {"payload": cw.extra["cert_a"].payload(), "holder_code": "110101199003071234"},
    )
    msg = _zh("The holder code given does not match the certificate's holder.")
    assert escape(msg) in resp.content.decode()


def test_keys_json_page(cw, client):
    body = client.get("/certs/keys.json").json()
    assert body["format"] == signing.KEYS_FORMAT


def _zh(msgid: str) -> str:
    from django.utils import translation

    with translation.override("zh-hans"):
        return translation.gettext(msgid)
