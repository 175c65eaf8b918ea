"""Issuing, revoking, copies (加注件), keys and server-side verification."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from yiwang.certs import actions, keys, selectors, signing
from yiwang.certs.models import Certificate, CertificateCopy, IssuerKey, Revocation
from yiwang.certs.tests.factories import SSCARD, issue
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditRecord


def test_issued_certificate_verifies_online(cw):
    result = actions.verify(cw.extra["cert_a"].payload())
    assert result.valid, result.reasons
    assert result.checked_registry


def test_issue_signs_the_metadata(cw):
    cert = cw.extra["cert_a"]
    assert cert.claims["id"] == cert.identifier
    assert cert.claims["no"] == cert.number
    assert cert.claims["kid"] == cert.key.kid
    assert cert.algorithm == "Ed25519"


def test_holder_code_is_stored_encrypted(cw):
    cert = cw.extra["cert_a"]
    with connection.cursor() as cur:
        cur.execute("SELECT holder_code FROM certs_certificate WHERE id = %s", [cert.pk])
        stored = cur.fetchone()[0]
    assert cert.holder_code not in stored
    assert Certificate.objects.get(pk=cert.pk).holder_code == cert.holder_code


def test_issue_is_audited_without_the_holder_code(cw):
    cert = cw.extra["cert_a"]
    rec = AuditRecord.objects.filter(event="certs.issued", object_id=str(cert.pk)).get()
    assert cert.holder_code not in str(rec.detail) + rec.purpose + rec.subject_id
    assert rec.actor_id == cw.users["dept_staff_a"].pk


def test_default_validity_comes_from_the_type(cw):
    cert = cw.extra["cert_a"]  # 社会保障卡: 10 years
    assert cert.valid_to == cert.valid_from + dt.timedelta(days=10 * 365 - 1)


def test_type_without_default_validity_is_long_term(cw):
    assert cw.extra["licence_a"].valid_to is None
    assert cw.extra["licence_a"].claims["vt"] is None


def test_bad_input_gives_field_errors_and_issues_nothing(cw):
    before = Certificate.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        issue(
            cw,
            holder_code="12345",
            area_code="33",
            type_code="nope",
            valid_from="2026-13-01",
        )
    assert {"holder_code", "area_code", "type_code", "valid_from"} <= set(exc.value.fields)
    assert Certificate.objects.count() == before


def test_required_data_fields_are_checked(cw):
    from yiwang.certs.models import CertificateType

    CertificateType.objects.create(
        code="test_permit",
        name="测试许可",
        fields=[{"name": "scope", "label": "范围", "required": True}],
    )
    with pytest.raises(ValidationFailed) as exc:
        issue(cw, type_code="test_permit", data={"other": "x"})
    assert "data.scope" in exc.value.fields


def test_standard_types_exist_after_migration(db):
    from yiwang.certs.models import CertificateType
    from yiwang.certs.standard_types import TYPES

    codes = set(CertificateType.objects.values_list("code", flat=True))
    assert {t["code"] for t in TYPES} <= codes


def test_end_before_start_is_refused(cw):
    with pytest.raises(ValidationFailed) as exc:
        issue(cw, valid_from="2026-05-01", valid_to="2026-04-01")
    assert "valid_to" in exc.value.fields


def test_other_departments_staff_may_not_issue(cw):
    with pytest.raises(Forbidden):
        issue(cw, actor=cw.users["dept_staff_b"])


def test_residents_may_not_issue(cw):
    with pytest.raises(Forbidden):
        issue(cw, actor=cw.users["resident_a"])


def test_same_source_reference_is_issued_once(cw):
    issue(cw, source_ref="onestop.applicationmatter:7")
    with pytest.raises(Conflict):
        issue(cw, source_ref="onestop.applicationmatter:7")
    assert Certificate.objects.filter(source_ref="onestop.applicationmatter:7").count() == 1


def test_system_issue_without_actor_for_onestop(cw):
    cert = issue(cw, actor=None, source_ref="onestop.applicationmatter:8")
    assert cert.issued_by is None
    assert actions.verify(cert.payload()).valid


def test_holder_finds_certificate_by_code_without_account_link(cw):
    res = cw.users["resident_a"]
    res.refresh_from_db()
    cert = issue(cw, holder_user=None, holder_code=res.id_number)
    assert cert in selectors.list_my_certificates(res)


def test_revoke_records_reason_and_verification_says_revoked(cw):
    cert = cw.extra["cert_a"]
    actions.do_revoke_certificate(
        actor=cw.users["dept_leader_a"], identifier=cert.identifier, reason="信息登记有误"
    )
    result = actions.verify(cert.payload())
    assert result.codes == ["revoked"]
    assert "信息登记有误" in result.summary()
    assert timezone.localdate().isoformat() in result.summary()


def test_revoke_twice_is_a_conflict_and_changes_nothing(cw):
    cert = cw.extra["cert_a"]
    actions.do_revoke_certificate(
        actor=cw.users["dept_staff_a"], identifier=cert.identifier, reason="第一次"
    )
    with pytest.raises(Conflict):
        actions.do_revoke_certificate(
            actor=cw.users["dept_staff_a"], identifier=cert.identifier, reason="第二次"
        )
    assert Revocation.objects.get(certificate=cert).reason == "第一次"
    assert AuditRecord.objects.filter(event="certs.revoked").count() == 1


def test_revoke_needs_a_reason(cw):
    with pytest.raises(ValidationFailed) as exc:
        actions.do_revoke_certificate(
            actor=cw.users["dept_staff_a"], identifier=cw.extra["cert_a"].identifier, reason=" "
        )
    assert "reason" in exc.value.fields


def test_other_department_cannot_revoke(cw):
    with pytest.raises(NotFound):
        actions.do_revoke_certificate(
            actor=cw.users["dept_staff_b"], identifier=cw.extra["cert_a"].identifier, reason="x"
        )
    assert Certificate.objects.get(pk=cw.extra["cert_a"].pk).status == "valid"


def test_revoked_copy_original_makes_copy_invalid(cw):
    cp = cw.extra["copy_a"]
    actions.do_revoke_certificate(
        actor=cw.users["dept_staff_a"], identifier=cp.certificate.identifier, reason="注销"
    )
    assert actions.verify(cp.payload()).codes == ["revoked"]


def test_copy_carries_purpose_recipient_and_expiry(cw):
    cp = cw.extra["copy_a"]
    result = actions.verify(cp.payload())
    assert result.valid, result.reasons
    assert result.claims["pu"] == "办理就业登记"
    assert result.claims["rc"] == cw.departments["admin_a"].code
    assert result.kind == "copy"


def test_copy_expires(cw):
    cp = cw.extra["copy_a"]
    later = cp.expires_at + dt.timedelta(minutes=1)
    assert actions.verify(cp.payload(), now=later).codes == ["copy_expired"]


def test_copy_validation(cw):
    with pytest.raises(ValidationFailed) as exc:
        actions.do_create_copy(
            actor=cw.users["resident_a"],
            identifier=cw.extra["cert_a"].identifier,
            purpose="",
            recipient_department="nope",
            expires_at=timezone.localdate() + dt.timedelta(days=400),
        )
    assert {"purpose", "recipient_department", "expires_at"} <= set(exc.value.fields)


def test_copy_for_the_issuer_itself_is_refused(cw):
    with pytest.raises(ValidationFailed) as exc:
        actions.do_create_copy(
            actor=cw.users["resident_a"],
            identifier=cw.extra["cert_a"].identifier,
            purpose="x",
            recipient_department=cw.departments["bureau_a"],
        )
    assert "recipient_department" in exc.value.fields


def test_revoked_certificate_cannot_be_copied(cw):
    cert = cw.extra["cert_a"]
    actions.do_revoke_certificate(actor=None, identifier=cert.identifier, reason="注销")
    before = CertificateCopy.objects.count()
    with pytest.raises(ValidationFailed):
        actions.do_create_copy(
            actor=cw.users["resident_a"],
            identifier=cert.identifier,
            purpose="x",
            recipient_department=cw.departments["admin_a"],
        )
    assert CertificateCopy.objects.count() == before


def test_someone_else_cannot_copy(cw):
    with pytest.raises(NotFound):
        actions.do_create_copy(
            actor=cw.users["resident_b"],
            identifier=cw.extra["cert_a"].identifier,
            purpose="x",
            recipient_department=cw.departments["admin_b"],
        )


def test_copy_is_audited(cw):
    cp = cw.extra["copy_a"]
    rec = AuditRecord.objects.get(event="certs.copy_created", object_id=str(cp.pk))
    assert rec.purpose == "办理就业登记"


def test_recipient_department_sees_copy_while_in_force(cw):
    cp = cw.extra["copy_a"]
    admin = cw.users["data_admin_a"]
    admin.role = "dept_staff"  # a staff member of 数据局a
    assert selectors.access_copy(admin, cp.identifier) == cp
    CertificateCopy.objects.filter(pk=cp.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(NotFound):
        selectors.access_copy(admin, cp.identifier)


def test_tampered_payload_says_altered(cw):
    cert = cw.extra["cert_a"]
    claims, sig = signing.decode_payload(cert.payload())
    forged = signing.encode_payload({**claims, "hn": "李四"}, sig)
    result = actions.verify(forged)
    assert result.codes == ["bad_signature"]
    assert not result.signature_ok


def test_rotation_keeps_old_certificates_valid(cw):
    cert = cw.extra["cert_a"]
    new = actions.do_generate_issuer_key(actor=None, department=cw.departments["bureau_a"])
    assert IssuerKey.objects.get(pk=cert.key_id).status == "retired"
    assert actions.verify(cert.payload()).valid
    assert issue(cw).key == new


def test_compromised_key_invalidates_what_it_signed(cw):
    cert = cw.extra["cert_a"]
    actions.do_mark_key_compromised(actor=None, kid=cert.key.kid)
    assert "key_compromised" in actions.verify(cert.payload()).codes


def test_unknown_key_online(cw):
    signer = signing.Ed25519Signer("ghost", signing.generate_private_key("Ed25519"))
    claims, _ = signing.decode_payload(cw.extra["cert_a"].payload())
    claims, sig = signing.sign_claims(claims, signer)
    assert actions.verify(signing.encode_payload(claims, sig)).codes == ["unknown_key"]


def test_private_keys_are_files_not_database_rows(cw):
    key = cw.extra["cert_a"].key
    path = keys.key_directory() / f"{key.kid}.key"
    assert path.exists()
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_production_refuses_to_generate_keys_on_the_fly(cw):
    dept = cw.departments["centre_a"]
    with override_settings(ENV="production"), pytest.raises(Conflict, match="cert keys generate"):
        keys.current_key(dept)
    assert not IssuerKey.objects.filter(department=dept).exists()


def test_sm2_issuance(cw):
    pytest.importorskip("gmssl")
    cert = issue(cw, algorithm="SM2")
    assert cert.algorithm == "SM2"
    assert actions.verify(cert.payload()).valid


def test_issue_publishes_an_event(cw, django_capture_on_commit_callbacks):
    from yiwang.core import events

    got = []
    events.subscribe("certs.issued", got.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            cert = issue(cw, source_ref="onestop.applicationmatter:9")
    finally:
        events.unsubscribe("certs.issued", got.append)
    assert got == [
        {
            "certificate": cert.pk,
            "identifier": cert.identifier,
            "type": SSCARD,
            "source_ref": "onestop.applicationmatter:9",
            "holder_user": cw.users["resident_a"].pk,
        }
    ]


def test_explicit_number_must_be_unique_per_type(cw):
    issue(cw, number="NO-1")
    with pytest.raises(ValidationFailed) as exc:
        issue(cw, number="NO-1")
    assert "number" in exc.value.fields
