"""政策通: policy documents, their items (申报项目) with versioned rules, enterprise facts and
corrections, stored matches, the enterprise inbox (deliveries) and delivery preferences.

Invariants only; writes live in ``actions``, reads in ``selectors``. See
docs/adr/0012-policies.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import Department, Division
from yiwang.core.personal import not_personal
from yiwang.registry.models import Organisation


class BenefitType(models.TextChoices):
    SUBSIDY = "subsidy", _("Subsidy")
    AWARD = "award", _("Award")
    TAX_RELIEF = "tax_relief", _("Tax relief")
    LOAN_INTEREST = "loan_interest", _("Loan interest discount")
    QUALIFICATION = "qualification", _("Qualification")


class Target(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    INDIVIDUAL = "individual", _("Individual")


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    PUBLISHED = "published", _("Published")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")
    REJECTED = "rejected", _("Rejected")


class SourceKind(models.TextChoices):
    REGISTRY = "registry", _("Registry")
    DATASET = "dataset", _("Shared dataset")
    SELF_DECLARED = "self_declared", _("Self-declared")


class CorrectionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class MatchVerdict(models.TextChoices):
    PASS = "pass", _("Eligible")
    UNKNOWN = "unknown", _("Possibly eligible")


class PolicyDocument(models.Model):
    """A policy document (政策文件) as issued, with its full text and interpretation (解读)."""

    title = models.CharField(_("title"), max_length=300)
    doc_number = models.CharField(_("document number (文号)"), max_length=100, blank=True)
    issuers = models.ManyToManyField(
        Department, blank=True, related_name="policy_documents", verbose_name=_("issuers")
    )
    issuer_names = models.CharField(_("issuing bodies"), max_length=300, blank=True)
    issued_on = models.DateField(_("issued on"))
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    region = models.ForeignKey(
        Division,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("region"),
        help_text=_("The area the policy applies to"),
    )
    source_url = models.URLField(_("source"), max_length=500, blank=True)
    full_text = models.TextField(_("full text"), blank=True)
    interpretation = models.TextField(_("interpretation (解读)"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    synthetic = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("policy document")
        verbose_name_plural = _("policy documents")
        ordering = ["-issued_on", "-pk"]

    def __str__(self) -> str:
        return self.title


class PolicyAttachment(models.Model):
    document = models.ForeignKey(
        PolicyDocument, on_delete=models.CASCADE, related_name="attachments"
    )
    name = models.CharField(_("name"), max_length=200)
    file = models.FileField(_("file"), upload_to="policies/attachments/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("policy attachment")
        verbose_name_plural = _("policy attachments")

    def __str__(self) -> str:
        return self.name


class PolicyItem(models.Model):
    """One 申报项目 of a document: what is granted, to whom, when; its rule lives in versions."""

    document = models.ForeignKey(PolicyDocument, on_delete=models.PROTECT, related_name="items")
    code = models.SlugField(_("code"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=300)
    benefit_type = models.CharField(_("benefit type"), max_length=20, choices=BenefitType.choices)
    target = models.CharField(
        _("target"), max_length=12, choices=Target.choices, default=Target.ENTERPRISE
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="policy_items",
        verbose_name=_("responsible department"),
    )
    summary = models.TextField(_("summary"), blank=True)
    opens_on = models.DateField(_("opens on"), null=True, blank=True)
    closes_on = models.DateField(_("deadline"), null=True, blank=True)
    no_application = models.BooleanField(_("no application needed (免申即享)"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ItemStatus.choices, default=ItemStatus.DRAFT
    )
    published_version = models.ForeignKey(
        "PolicyItemVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    synthetic = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("policy item")
        verbose_name_plural = _("policy items")
        ordering = ["closes_on", "pk"]
        indexes = [models.Index(fields=["status", "closes_on"])]

    def __str__(self) -> str:
        return self.title

    @property
    def current_version(self) -> PolicyItemVersion | None:
        return self.versions.order_by("-number").first()


class PolicyItemVersion(models.Model):
    """A numbered version of an item's rule; publishing one supersedes the previous."""

    item = models.ForeignKey(PolicyItem, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    rule = models.JSONField(_("rule"))
    status = models.CharField(
        _("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    diff = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("policy item version")
        verbose_name_plural = _("policy item versions")
        ordering = ["item", "number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="policy_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.item.code} v{self.number}"


class EnterpriseFact(models.Model):
    """One catalog fact about an organisation, with where it came from and as of when."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("fact"), max_length=64)
    period = models.CharField(_("period"), max_length=10, blank=True)
    value = models.JSONField(_("value"), null=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    source_kind = models.CharField(
        _("source kind"), max_length=16, choices=SourceKind.choices, default=SourceKind.DATASET
    )
    as_of = models.DateField(_("as of"))
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("enterprise fact")
        verbose_name_plural = _("enterprise facts")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name", "period"], name="policy_fact_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}{'@' + self.period if self.period else ''}"

    @property
    def key(self) -> str:
        return f"{self.name}@{self.period}" if self.period else self.name


class FactCorrection(models.Model):
    """An enterprise asks for a fact to be corrected; staff accept (→ set) or reject."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("fact"), max_length=64)
    period = models.CharField(_("period"), max_length=10, blank=True)
    value = models.JSONField(_("proposed value"), null=True)
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=10, choices=CorrectionStatus.choices, default=CorrectionStatus.OPEN
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("fact correction request")
        verbose_name_plural = _("fact correction requests")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.organisation_id}:{self.name}"


class PolicyMatch(models.Model):
    """A stored bulk match: the organisation passes or might pass the item's published rule."""

    item = models.ForeignKey(PolicyItem, on_delete=models.CASCADE, related_name="matches")
    version = models.ForeignKey(PolicyItemVersion, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=8, choices=MatchVerdict.choices)
    score = models.FloatField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    missing = models.JSONField(default=list, blank=True)
    failed = models.JSONField(default=list, blank=True)
    evaluated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("policy match")
        verbose_name_plural = _("policy matches")
        constraints = [
            models.UniqueConstraint(fields=["item", "organisation"], name="policy_match_unique")
        ]
        indexes = [models.Index(fields=["organisation", "verdict"])]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.organisation_id}:{self.verdict}"


class PolicyDelivery(models.Model):
    """The enterprise inbox: one row per item and organisation, ever (once per item)."""

    item = models.ForeignKey(PolicyItem, on_delete=models.CASCADE, related_name="deliveries")
    version = models.ForeignKey(PolicyItemVersion, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=8, choices=MatchVerdict.choices)
    delivered_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    channels = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("policy delivery")
        verbose_name_plural = _("policy deliveries")
        ordering = ["-delivered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["item", "organisation"], name="policy_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.item_id}→{self.organisation_id}"


class PolicyPreference(models.Model):
    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="policy_preference"
    )
    push = models.BooleanField(_("send me matching policies"), default=True)
    email = not_personal(
        models.BooleanField(_("by email"), default=True),
        "a yes/no channel preference, not an address",
    )
    sms = models.BooleanField(_("by SMS"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("policy delivery preference")
        verbose_name_plural = _("policy delivery preferences")

    def __str__(self) -> str:
        return f"{self.organisation_id}: push={self.push}"


class FactChange(models.Model):
    """One change that may alter an organisation's facts, written by database triggers on the
    fact, organisation, place, grid and division tables (migration 0002): the change log the
    in-memory fact columns (``factstore``) are kept fresh by. ``organisation_id`` is empty
    when everything must be re-read (a community code changed, a table was truncated);
    ``txid`` is the writing transaction on PostgreSQL (commits can land out of ``seq`` order
    there); ``tok`` tells a reused ``seq`` apart (SQLite reuses them after a rollback).
    See docs/adr/0018-policy-fact-columns.md."""

    seq = models.BigAutoField(primary_key=True)
    organisation_id = models.BigIntegerField(null=True)
    txid = models.BigIntegerField(null=True, db_index=True)
    tok = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("enterprise fact change")
        verbose_name_plural = _("enterprise fact changes")

    def __str__(self) -> str:
        return f"{self.seq}:{self.organisation_id}"
