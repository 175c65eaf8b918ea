"""The data system: catalog, standards library, rows and their versions, grants, clients, log.

See docs/adr/0013-exchange.md. Rows are keyed by blind indexes (never the plain key); their
personal fields are sealed with SM4-GCM; every exchange leaves an ``ExchangeLog`` row that is
also chained into the audit log.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import Department
from yiwang.core.personal import SENSITIVE_PI, EncryptedTextField


class ShareType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Unconditional sharing")
    CONDITIONAL = "conditional", _("Conditional sharing")
    NOT_SHARED = "not_shared", _("Not shared")


class Frequency(models.TextChoices):
    REALTIME = "realtime", _("Real time")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")
    IRREGULAR = "irregular", _("Irregular")


#: Maximum age of the latest load, in days, before a dataset is "not timely".
FREQUENCY_DAYS = {
    "realtime": 1,
    "daily": 2,
    "weekly": 8,
    "monthly": 32,
    "quarterly": 93,
    "yearly": 366,
    "irregular": 3650,
}


class Sensitivity(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")
    PI = "pi", _("Personal information")
    SPI = "spi", _("Sensitive personal information")


PERSONAL_LEVELS = frozenset({Sensitivity.PI, Sensitivity.SPI})


class SubjectKind(models.TextChoices):
    NONE = "", _("No data subject")
    PERSON = "person", _("Person (ID number)")
    ENTERPRISE = "enterprise", _("Enterprise (credit code)")


class DataElement(models.Model):
    """A data element (数据元) of the shared standards library that schema fields reference."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=20)  # a Frictionless field type
    code_table = models.CharField(_("code table"), max_length=32, blank=True)
    validator = models.CharField(
        _("validator"),
        max_length=20,
        blank=True,
        help_text=_("python-stdnum module checking values, e.g. cn.uscc or cn.ric"),
    )
    definition = models.TextField(_("definition"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("data element")
        verbose_name_plural = _("data elements")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RetentionAction(models.TextChoices):
    DELETE = "delete", _("Delete the rows")
    ANONYMISE = "anonymise", _("Anonymise the rows")


class Dataset(models.Model):
    owner = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="datasets", verbose_name=_("owner")
    )
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    schema = models.JSONField(_("table schema"))
    share_type = models.CharField(
        _("share type"), max_length=16, choices=ShareType.choices, default=ShareType.CONDITIONAL
    )
    frequency = models.CharField(
        _("update frequency"), max_length=12, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    subject_kind = models.CharField(
        _("data subject"), max_length=12, choices=SubjectKind.choices, blank=True
    )
    subject_field = models.CharField(_("subject field"), max_length=64, blank=True)
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    retention_days = models.PositiveIntegerField(
        _("retention (days)"),
        null=True,
        blank=True,
        help_text=_("Rows not updated for this long are purged by the nightly job"),
    )
    retention_action = models.CharField(
        _("at the end of retention"),
        max_length=10,
        choices=RetentionAction.choices,
        default=RetentionAction.DELETE,
    )
    version = models.PositiveIntegerField(_("data version"), default=0)
    schema_version = models.PositiveIntegerField(_("schema version"), default=1)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    loaded_at = models.DateTimeField(_("last loaded"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    # Schema helpers -------------------------------------------------------------------------
    @property
    def fields(self) -> list[dict[str, Any]]:
        return list(self.schema.get("fields", []))

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    @property
    def primary_key(self) -> list[str]:
        pk = self.schema.get("primaryKey", [])
        return [pk] if isinstance(pk, str) else list(pk)

    def field(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["name"] == name), None)

    def sensitivity(self, name: str) -> str:
        f = self.field(name) or {}
        return str(f.get("sensitivity", Sensitivity.INTERNAL))

    @property
    def personal_field_names(self) -> list[str]:
        return [f["name"] for f in self.fields if self.sensitivity(f["name"]) in PERSONAL_LEVELS]


class DatasetVersion(models.Model):
    """One load of a dataset: what came in, what was kept, what was rejected and why."""

    class Source(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        JSON = "json", "JSON"
        API = "api", _("API push")

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    content_hash = models.CharField(max_length=64)
    rows_total = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(_("error report"), default=list, blank=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="exchange_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.dataset.code} v{self.number}"


class Record(models.Model):
    """One row, keyed by the blind index of its primary key; personal fields sealed."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="records")
    key_hash = models.CharField(max_length=64)
    subject_hash = models.CharField(max_length=64, blank=True, db_index=True)
    data = models.JSONField(default=dict, blank=True)  # the non-personal fields
    sealed = EncryptedTextField(_("personal fields"), pi_class=SENSITIVE_PI, blank=True)
    version = models.PositiveIntegerField(default=0)  # the load that last changed it
    updated_at = models.DateTimeField(auto_now=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "key_hash"], name="exchange_record_key")
        ]
        indexes = [models.Index(fields=["dataset", "subject_hash"])]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.key_hash[:8]}"


class RecordRevision(models.Model):
    """What a row held before a load changed it (versions kept)."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()  # the version whose values these are
    data = models.JSONField(default=dict, blank=True)
    sealed = EncryptedTextField(_("personal fields"), pi_class=SENSITIVE_PI, blank=True)
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.record_id} v{self.version}"


class GrantStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    NARROWED = "narrowed", _("Approved, narrowed")
    REFUSED = "refused", _("Refused")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


ACTIVE_GRANT = (GrantStatus.APPROVED, GrantStatus.NARROWED)


class Grant(models.Model):
    """A sharing grant: the request and the owner's decision on it in one record."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="grants")
    requester = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="grants_requested"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    requested_fields = models.JSONField(_("requested fields"), default=list)
    requested_from = models.DateField(_("requested from"))
    requested_to = models.DateField(_("requested until"))
    requested_quota = models.PositiveIntegerField(_("requested calls per day"))
    status = models.CharField(
        _("status"), max_length=10, choices=GrantStatus.choices, default=GrantStatus.REQUESTED
    )
    fields = models.JSONField(_("granted fields"), default=list, blank=True)
    unmasked_fields = models.JSONField(_("fields served unmasked"), default=list, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    daily_quota = models.PositiveIntegerField(_("calls per day"), default=0)
    rate_per_minute = models.PositiveIntegerField(_("calls per minute"), default=60)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Usage counters, advanced by one conditional UPDATE per call (atomic quota and rate).
    calls_day = models.DateField(null=True, blank=True)
    calls_today = models.PositiveIntegerField(default=0)
    calls_minute = models.BigIntegerField(default=0)
    calls_this_minute = models.PositiveIntegerField(default=0)
    calls_total = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["requester", "dataset", "status"])]
        verbose_name = _("sharing grant")
        verbose_name_plural = _("sharing grants")

    def __str__(self) -> str:
        return f"grant #{self.pk} {self.dataset_id}→{self.requester_id} {self.status}"


class ExchangeClient(models.Model):
    """A department system's credential. Only the SM3 digest of the secret is stored."""

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="exchange_clients"
    )
    name = models.CharField(_("name"), max_length=100)
    client_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("exchange client")

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class ExchangeResult(models.TextChoices):
    OK = "ok", _("Served")
    DENIED = "denied", _("Denied")
    LIMITED = "limited", _("Over quota or rate")
    NOT_FOUND = "not_found", _("No such record")
    INVALID = "invalid", _("Invalid request")


class ExchangeLog(models.Model):
    """One exchange message (served or refused), also chained into the audit log."""

    at = models.DateTimeField(db_index=True)
    client = models.ForeignKey(
        ExchangeClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requester = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.CharField(_("user"), max_length=150, blank=True)
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="exchange_logs"
    )
    service = models.CharField(_("service"), max_length=100)
    grant = models.ForeignKey(
        Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs"
    )
    case_ref = models.CharField(_("case or application"), max_length=100, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    subject_hash = models.CharField(max_length=64, blank=True, db_index=True)
    fields = models.JSONField(_("fields requested"), default=list, blank=True)
    fields_served = models.JSONField(_("fields served"), default=list, blank=True)
    request_hash = models.CharField(max_length=64)
    response_hash = models.CharField(max_length=64, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=ExchangeResult.choices)
    status_code = models.PositiveSmallIntegerField(default=200)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["dataset", "at"]), models.Index(fields=["requester", "at"])]
        verbose_name = _("exchange log entry")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.service} {self.result}"


class QualityRun(models.Model):
    """One run of a dataset's quality rules: per-rule results, a score, and — when problems
    were found — a deadline by which the owning department should fix them."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="quality_runs")
    at = models.DateTimeField(db_index=True)
    version = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1)
    checks = models.JSONField(_("checks"), default=list)
    problems = models.PositiveIntegerField(_("problems"), default=0)
    due_on = models.DateField(_("fix by"), null=True, blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("quality run")

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.at:%Y-%m-%d} {self.score}"


class CorrectionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Corrected")
    REJECTED = "rejected", _("Rejected")


class CorrectionRequest(models.Model):
    """A data subject asks the owning department to correct one field of their row."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="corrections")
    record = models.ForeignKey(
        Record, null=True, on_delete=models.SET_NULL, related_name="corrections"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    field = models.CharField(_("field"), max_length=64)
    proposed = EncryptedTextField(_("proposed value"), pi_class=SENSITIVE_PI)
    explanation = models.TextField(_("explanation"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CorrectionStatus.choices, default="open"
    )
    due_on = models.DateField(_("answer by"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    response = models.TextField(_("response"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("correction request")

    def __str__(self) -> str:
        return f"correction #{self.pk} {self.dataset_id}.{self.field} {self.status}"


class PurgeRun(models.Model):
    """What one retention run removed from a dataset or anonymised in it (the purge report)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="purges")
    at = models.DateTimeField()
    cutoff = models.DateTimeField()
    action = models.CharField(
        _("action"), max_length=10, choices=RetentionAction.choices, default=RetentionAction.DELETE
    )
    records_deleted = models.PositiveIntegerField(default=0)
    records_anonymised = models.PositiveIntegerField(default=0)
    revisions_deleted = models.PositiveIntegerField(default=0)
    fields_removed = models.JSONField(_("fields removed"), default=list, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"purge {self.dataset_id} {self.at:%Y-%m-%d} −{self.records_deleted}"
