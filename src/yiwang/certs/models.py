"""Electronic certificates (电子证照, GB/T 36901–36905): types, certificates, issuer keys,
purpose-limited copies (加注件) and revocations. See docs/adr/0016-electronic-certificates.md.

The holder's code (ID number or credit code) is sensitive personal data: sealed with SM4-GCM
and found by its blind index. What a certificate says is fixed when it is signed: the
signature and the signed claims are kept beside the row, so verification never depends on
the row having stayed the same.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import Department
from yiwang.core.personal import PI, BlindIndexField, EncryptedTextField, classify


class HolderCodeType(models.TextChoices):
    RESIDENT_ID = "ric", _("Resident ID card (身份证)")
    CREDIT_CODE = "uscc", _("Unified social credit code (统一社会信用代码)")


class HolderKind(models.TextChoices):
    PERSON = "person", _("Natural person")
    ORGANISATION = "organisation", _("Legal person or organisation")


class Algorithm(models.TextChoices):
    ED25519 = "Ed25519", "Ed25519"
    SM2 = "SM2", "SM2 (SM3)"


class CertificateType(models.Model):
    """A kind of certificate (证照类型): its code, names, who issues it, what data it carries."""

    code = models.CharField(_("type code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    holder_kind = models.CharField(
        _("holder"), max_length=12, choices=HolderKind.choices, default=HolderKind.PERSON
    )
    issuing_department_kind = models.CharField(
        _("issuing department kind"),
        max_length=20,
        choices=Department.Kind.choices,
        default=Department.Kind.BUREAU,
    )
    issuer_hint = models.CharField(
        _("issuing authority"),
        max_length=100,
        blank=True,
        help_text=_("The kind of authority that issues it, e.g. 市场监督管理局"),
    )
    validity_days = models.PositiveIntegerField(
        _("default validity (days)"),
        null=True,
        blank=True,
        help_text=_("Empty: valid without end (长期有效)"),
    )
    fields = models.JSONField(
        _("data fields"),
        default=list,
        blank=True,
        help_text=_('The data it carries: [{"name", "label", "required"}]'),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("certificate type")
        verbose_name_plural = _("certificate types")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def field_names(self) -> list[str]:
        return [str(f["name"]) for f in self.fields]

    def label_of(self, name: str) -> str:
        for f in self.fields:
            if f["name"] == name:
                return str(f.get("label") or name)
        return name


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid (有效)")
    REVOKED = "revoked", _("Revoked (已注销)")
    EXPIRED = "expired", _("Expired (已过期)")


class KeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")
    COMPROMISED = "compromised", _("Compromised")


class IssuerKey(models.Model):
    """A department's signing key. Only the public half is stored here; the private half
    comes from the key provider (a file in the key directory, or an HSM)."""

    kid = models.CharField(_("key id"), max_length=64, unique=True)
    algorithm = models.CharField(
        _("algorithm"), max_length=10, choices=Algorithm.choices, default=Algorithm.ED25519
    )
    public_key = models.CharField(_("public key"), max_length=200)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="cert_keys", verbose_name=_("department")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=KeyStatus.choices, default=KeyStatus.ACTIVE
    )
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    compromised_at = models.DateTimeField(_("compromised at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department", "-valid_from"]
        verbose_name = _("issuer key")
        verbose_name_plural = _("issuer keys")

    def __str__(self) -> str:
        return self.kid


class Certificate(models.Model):
    identifier = models.CharField(_("identifier"), max_length=128, unique=True)
    number = models.CharField(_("certificate number"), max_length=64)
    type = models.ForeignKey(CertificateType, on_delete=models.PROTECT, related_name="certificates")
    holder_name = classify(models.CharField(_("holder name"), max_length=200), PI)
    holder_code = EncryptedTextField(_("holder code"))
    holder_code_index = BlindIndexField(source="holder_code", normalizer="id_number")
    holder_code_type = models.CharField(
        _("holder code type"), max_length=8, choices=HolderCodeType.choices
    )
    holder_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="certificates",
    )
    issuing_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="issued_certificates"
    )
    issuer_name = models.CharField(_("issuing authority"), max_length=200)
    issuer_code = models.CharField(_("issuing authority code"), max_length=64)
    issue_date = models.DateField(_("issue date"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    area_code = models.CharField(_("area code"), max_length=12)
    status = models.CharField(
        _("status"), max_length=10, choices=CertificateStatus.choices, default="valid"
    )
    data = models.JSONField(_("certificate data"), default=dict, blank=True)
    claims = models.JSONField(_("signed claims"), default=dict)
    signature = models.CharField(_("signature"), max_length=200)
    key = models.ForeignKey(IssuerKey, on_delete=models.PROTECT, related_name="certificates")
    algorithm = models.CharField(_("algorithm"), max_length=10, choices=Algorithm.choices)
    source_ref = models.CharField(_("source"), max_length=100, blank=True, db_index=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        verbose_name = _("electronic certificate")
        verbose_name_plural = _("electronic certificates")
        indexes = [models.Index(fields=["issuing_department", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["type", "number"], name="certs_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.type.name} {self.number}"

    def effective_status(self, today: dt.date | None = None) -> str:
        if self.status == CertificateStatus.REVOKED:
            return CertificateStatus.REVOKED
        today = today or timezone.localdate()
        if self.valid_to is not None and today > self.valid_to:
            return CertificateStatus.EXPIRED
        return CertificateStatus.VALID

    def effective_status_label(self) -> Any:
        return CertificateStatus(self.effective_status()).label

    def payload(self) -> str:
        from yiwang.certs.signing import _unb64u, encode_payload

        return encode_payload(self.claims, _unb64u(self.signature))

    def data_rows(self) -> list[tuple[str, Any]]:
        names = self.type.field_names
        extra = [k for k in self.data if k not in names]
        return [(self.type.label_of(k), self.data[k]) for k in names + extra if k in self.data]


class CertificateCopy(models.Model):
    """A purpose-limited, time-limited copy (加注件) for another department, signed on its own."""

    identifier = models.CharField(_("copy identifier"), max_length=140, unique=True)
    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="copies")
    purpose = models.CharField(_("purpose (cause of use)"), max_length=200)
    recipient_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="received_certificate_copies",
        verbose_name=_("recipient department"),
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    claims = models.JSONField(_("signed claims"), default=dict)
    signature = models.CharField(_("signature"), max_length=200)
    key = models.ForeignKey(IssuerKey, on_delete=models.PROTECT, related_name="copies")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("certificate copy (加注件)")
        verbose_name_plural = _("certificate copies (加注件)")

    def __str__(self) -> str:
        return self.identifier

    @property
    def expired(self) -> bool:
        return timezone.now() > self.expires_at

    def payload(self) -> str:
        from yiwang.certs.signing import _unb64u, encode_payload

        return encode_payload(self.claims, _unb64u(self.signature))


class Revocation(models.Model):
    certificate = models.OneToOneField(
        Certificate, on_delete=models.CASCADE, related_name="revocation"
    )
    reason = models.CharField(_("reason"), max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), default=timezone.now)

    class Meta:
        ordering = ["-revoked_at"]
        verbose_name = _("revocation")
        verbose_name_plural = _("revocations")

    def __str__(self) -> str:
        return f"{self.certificate.identifier} revoked"
