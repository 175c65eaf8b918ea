"""Kernel tables: the audit chain, its checkpoints, idempotency keys, code tables."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditResult(models.TextChoices):
    OK = "ok", _("Succeeded")
    DENIED = "denied", _("Denied")
    FAILED = "failed", _("Failed")


class AuditRecord(models.Model):
    """One append-only, hash-chained audit record.

    ``hash = SM3(prev_hash || canonical(record))``; ``seq`` is assigned contiguously by
    ``yiwang.core.audit.append`` under a lock, so a gap means a deletion. Never holds values of
    personal data, passwords or tokens: ``fields`` names what was read, not what it said.
    """

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(_("time (UTC)"), db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor = models.CharField(_("actor"), max_length=150, blank=True)
    department = models.CharField(_("department"), max_length=64, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    event = models.CharField(_("event"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    subject_id = models.CharField(
        _("data subject"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_("Pseudonymous id of the person whose data was read, for their access log"),
    )
    fields = models.JSONField(_("fields read or written"), default=list, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    result = models.CharField(
        _("result"), max_length=8, choices=AuditResult.choices, default=AuditResult.OK
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event} {self.object_type}:{self.object_id}"


class AuditCheckpoint(models.Model):
    """The chain's head at a moment, so truncating the tail is detectable."""

    created_at = models.DateTimeField(auto_now_add=True)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit checkpoint")

    def __str__(self) -> str:
        return f"checkpoint {self.seq}"


class IdempotencyRecord(models.Model):
    """A POST that carried an ``Idempotency-Key``, and the answer given to it."""

    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class CodeTableVersion(models.Model):
    """One release of a code table (GB/T 2260 divisions, GB/T 4754 industries …)."""

    table = models.CharField(_("table"), max_length=32)
    version = models.CharField(_("version"), max_length=32)
    title = models.CharField(_("title"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["table", "version"], name="codetable_unique_version")
        ]
        verbose_name = _("code table version")

    def __str__(self) -> str:
        return f"{self.table} {self.version}"


class CodeValue(models.Model):
    """One code of a generic code table version (GB/T 2261.1 sex, GB/T 3304 ethnic groups …).

    GB/T 4754 lives in :class:`IndustryCode` and GB/T 2260 in ``accounts.Division`` (both with
    their own hierarchy); ``yiwang.core.codetables`` answers for all three the same way.
    """

    version = models.ForeignKey(CodeTableVersion, on_delete=models.CASCADE, related_name="values")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    parent_code = models.CharField(_("parent code"), max_length=32, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="codevalue_unique_code")
        ]
        ordering = ["version", "code"]
        verbose_name = _("code table value")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class IndustryCode(models.Model):
    """GB/T 4754 industry classification entry (section letter + digits, e.g. ``C3911``)."""

    version = models.ForeignKey(CodeTableVersion, on_delete=models.PROTECT)
    code = models.CharField(_("code"), max_length=8)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10)
    parent_code = models.CharField(max_length=8, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="industry_unique_code")
        ]
        indexes = [models.Index(fields=["code"])]
        verbose_name = _("industry code")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
