"""一网通办: the matter catalog (基本目录 + 实施清单) with versions, materials, bundles (一件事)
with their situation questions and form, applications, the department tasks that approve them in
parallel, supplement requests (补正) and the applicant-facing timeline.

Invariants only; writes live in ``actions``, reads in ``selectors``, the task state machine in
``workflow``. See docs/adr/0015-onestop.md.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import Department
from yiwang.core.personal import PI, BlindIndexField, EncryptedTextField, classify, not_personal


class MatterType(models.TextChoices):
    LICENSING = "licensing", _("Administrative licensing")  # 行政许可
    BENEFIT = "benefit", _("Administrative payment")  # 行政给付
    CONFIRMATION = "confirmation", _("Administrative confirmation")  # 行政确认
    REGISTRATION = "registration", _("Administrative registration")  # 行政登记 (其他行政权力)
    PUBLIC_SERVICE = "public_service", _("Public service")  # 公共服务


class ExercisingLevel(models.TextChoices):
    NATIONAL = "national", _("National")
    PROVINCIAL = "provincial", _("Provincial")
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    TOWNSHIP = "township", _("Township / street")


class LimitUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("working days")
    DAYS = "days", _("calendar days")


class OnlineDepth(models.IntegerChoices):
    """网办深度: 1 information online … 4 全程网办 (zero visits)."""

    INFO = 1, _("Level 1: guide online")
    FORMS = 2, _("Level 2: forms online")
    APPLY = 3, _("Level 3: apply online, one visit")
    FULL = 4, _("Level 4: entirely online")


class ServiceArea(models.TextChoices):
    DISTRICT = "district", _("Within the district")
    CITY = "city", _("Anywhere in the city")
    PROVINCE = "province", _("Anywhere in the province")
    NATIONWIDE = "nationwide", _("Nationwide (跨省通办)")


class ResultType(models.TextChoices):
    CERTIFICATE = "certificate", _("Licence or certificate")
    DECISION = "decision", _("Written decision")
    FILING = "filing", _("Filing record")
    OTHER = "other", _("Other")


class MaterialSource(models.TextChoices):
    APPLICANT = "applicant", _("Provided by the applicant")  # 申请人自备
    GOVERNMENT = "government", _("Issued by a government department")  # 政府部门核发
    CERTIFICATE = "certificate", _("Electronic certificate")  # 电子证照
    SHARED = "shared", _("Shared data")  # 共享数据


class Matter(models.Model):
    """基本目录: one government service matter, the same across implementing bodies."""

    catalog_code = models.CharField(_("catalog code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    matter_type = models.CharField(_("type"), max_length=20, choices=MatterType.choices)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    exercising_level = models.CharField(
        _("exercising level"), max_length=12, choices=ExercisingLevel.choices
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("service matter")
        verbose_name_plural = _("service matters (basic catalog)")
        ordering = ["catalog_code"]

    def __str__(self) -> str:
        return f"{self.catalog_code} {self.name}"


class Implementation(models.Model):
    """实施清单: how one body implements a matter here. Edits make a new ``ImplementationVersion``
    snapshot; applications keep the version they were filed under."""

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="implementations")
    code = models.CharField(_("implementation code"), max_length=60, unique=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="implementations",
        verbose_name=_("implementing body"),
    )
    accept_conditions = models.TextField(_("accept conditions"), blank=True)
    legal_limit = models.PositiveIntegerField(_("legal time limit"), default=20)
    legal_limit_unit = models.CharField(
        _("legal limit unit"),
        max_length=14,
        choices=LimitUnit.choices,
        default=LimitUnit.WORKING_DAYS,
    )
    promised_limit = models.PositiveIntegerField(_("promised time limit (working days)"), default=5)
    visits_required = models.PositiveSmallIntegerField(_("visits required"), default=0)
    fee_yuan = models.DecimalField(_("fee (yuan)"), max_digits=10, decimal_places=2, default=0)
    fee_basis = models.TextField(_("fee basis"), blank=True)
    flow = models.TextField(_("flow"), blank=True)
    online_depth = models.PositiveSmallIntegerField(
        _("online depth"), choices=OnlineDepth.choices, default=OnlineDepth.FULL
    )
    service_area = models.CharField(
        _("where it can be done"),
        max_length=12,
        choices=ServiceArea.choices,
        default=ServiceArea.DISTRICT,
    )
    co_departments = models.ManyToManyField(
        Department,
        blank=True,
        related_name="co_handled_implementations",
        verbose_name=_("co-handling departments"),
    )
    result_type = models.CharField(
        _("result type"), max_length=12, choices=ResultType.choices, default=ResultType.CERTIFICATE
    )
    result_name = models.CharField(_("result name"), max_length=100, blank=True)
    #: the certificate type (``certs``) issued on approval; blank = no electronic certificate
    certificate_type = models.CharField(_("certificate type code"), max_length=40, blank=True)
    #: ``{"form field key": "certificate data key"}`` carried onto the certificate
    certificate_fields = models.JSONField(_("certificate fields"), default=dict, blank=True)
    guide_notes = models.TextField(_("notes for applicants"), blank=True)
    window_address = not_personal(
        models.CharField(_("window address"), max_length=200, blank=True),
        "the address of a government service window",
    )
    phone = not_personal(
        models.CharField(_("enquiry phone"), max_length=40, blank=True), "an office number"
    )
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("implementation")
        verbose_name_plural = _("implementation list")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.matter.name}"


class Material(models.Model):
    implementation = models.ForeignKey(
        Implementation, on_delete=models.CASCADE, related_name="materials"
    )
    key = models.SlugField(_("key"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    required = models.BooleanField(_("required"), default=True)
    #: a minor material that may be missing under 容缺受理 with a commitment
    deferrable = models.BooleanField(_("may be provided later under a commitment"), default=False)
    formats = models.JSONField(_("accepted formats"), default=list, blank=True)  # ["pdf", "jpg"]
    max_size_kb = models.PositiveIntegerField(_("maximum size (KB)"), default=10240)
    source = models.CharField(
        _("source"), max_length=12, choices=MaterialSource.choices, default=MaterialSource.APPLICANT
    )
    #: certificate type code (source=certificate) or ``dataset:field`` / ``registry:field``
    source_ref = models.CharField(_("source reference"), max_length=120, blank=True)
    sample = models.TextField(_("sample / how to prepare"), blank=True)
    acceptance_standard = models.TextField(_("acceptance standard"), blank=True)
    #: condition over the bundle's situation answers (rules-engine expression); blank = always
    applies_when = models.CharField(_("applies when"), max_length=400, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["implementation", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["implementation", "key"], name="onestop_material_key")
        ]

    def __str__(self) -> str:
        return self.name


class ImplementationVersion(models.Model):
    implementation = models.ForeignKey(
        Implementation, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["implementation", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["implementation", "number"], name="onestop_implementation_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.implementation_id} v{self.number}"


class Audience(models.TextChoices):
    PERSON = "person", _("Residents")
    ENTERPRISE = "enterprise", _("Enterprises")


class Completion(models.TextChoices):
    ALL = "all", _("All departments must approve")
    ANY = "any", _("Any one department's approval completes it")


class BundleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Bundle(models.Model):
    """一件事: a life or business event handled as one application across departments."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    audience = models.CharField(_("for"), max_length=12, choices=Audience.choices)
    theme = models.CharField(_("theme"), max_length=60, blank=True)
    summary = models.TextField(_("one-time notice (一次告知)"), blank=True)
    completion = models.CharField(
        _("completion"), max_length=4, choices=Completion.choices, default=Completion.ALL
    )
    lead_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="led_bundles",
        verbose_name=_("lead department"),
    )
    promised_days = models.PositiveIntegerField(_("promised time limit (working days)"), default=5)
    status = models.CharField(
        _("status"), max_length=10, choices=BundleStatus.choices, default=BundleStatus.DRAFT
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("bundle (一件事)")
        verbose_name_plural = _("bundles (一件事)")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class QuestionKind(models.TextChoices):
    YES_NO = "boolean", _("Yes / no")
    CHOICE = "enum", _("One of a list")
    NUMBER = "number", _("Number")


class SituationQuestion(models.Model):
    """情形: one question of the bundle's decision tree; shown when ``shown_when`` holds."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(_("key"), max_length=60)
    text = models.CharField(_("question"), max_length=300)
    text_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    help = models.TextField(_("help"), blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=QuestionKind.choices)
    #: for choice questions: [{"value": "...", "label": "...", "label_en": "..."}]
    choices = models.JSONField(_("choices"), default=list, blank=True)
    shown_when = models.CharField(_("shown when"), max_length=400, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["bundle", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "key"], name="onestop_question_key")
        ]

    def __str__(self) -> str:
        return self.text


class BundleItem(models.Model):
    """One matter of the bundle; ``applies_when`` decides by the answers whether it applies.
    Items of the same ``stage`` run in parallel; a later stage starts when the earlier is done."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="items")
    implementation = models.ForeignKey(
        Implementation, on_delete=models.PROTECT, related_name="bundle_items"
    )
    applies_when = models.CharField(_("applies when"), max_length=400, blank=True)
    stage = models.PositiveSmallIntegerField(_("stage"), default=1)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["bundle", "stage", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "implementation"], name="onestop_bundle_item")
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id}/{self.implementation_id}"


class FieldKind(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    ID_NUMBER = "id_number", _("ID number")
    CREDIT_CODE = "credit_code", _("Unified social credit code")
    PHONE = "phone", _("Phone")
    ADDRESS = "address", _("Address")


class FormField(models.Model):
    """One field of the bundle's single form. ``prefill`` names where it is filled from:
    ``profile:<name>`` (the applicant's account / registry entry) or
    ``exchange:<dataset>.<field>`` (shared data through the exchange)."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=100)
    label_en = models.CharField(_("English label"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=FieldKind.choices)
    required = models.BooleanField(_("required"), default=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    max_length = models.PositiveIntegerField(default=200)
    prefill = models.CharField(_("prefilled from"), max_length=120, blank=True)
    applies_when = models.CharField(_("applies when"), max_length=400, blank=True)
    #: sensitive personal fields are sealed on the application and masked on display
    personal = models.BooleanField(_("personal data"), default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["bundle", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["bundle", "key"], name="onestop_field_key")]

    def __str__(self) -> str:
        return self.label


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("Being approved")
    SUPPLEMENT = "supplement", _("Supplement requested")
    COMPLETED = "completed", _("Completed")
    PARTLY = "partly", _("Partly approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Application(models.Model):
    number = models.CharField(_("application number"), max_length=32, unique=True)
    bundle = models.ForeignKey(Bundle, on_delete=models.PROTECT, related_name="applications")
    bundle_version = models.PositiveIntegerField(default=1)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="onestop_applications"
    )
    applicant_name = classify(models.CharField(_("applicant name"), max_length=200), PI)
    #: 身份证号 or 统一社会信用代码 of the applicant (sealed; exact lookup by blind index)
    applicant_code = EncryptedTextField(_("applicant ID / credit code"))
    applicant_code_index = BlindIndexField(source="applicant_code", normalizer="id_number")
    answers = models.JSONField(_("situation answers"), default=dict, blank=True)
    #: non-personal form values; personal ones live sealed in ``sealed_fields``
    form = classify(models.JSONField(_("form"), default=dict, blank=True), PI)
    sealed_fields = EncryptedTextField(_("sealed personal fields"))
    #: ``{"field": {"source": "...", "label": "...", "as_of": "..."}}`` for prefilled values
    prefilled = models.JSONField(_("prefilled fields"), default=dict, blank=True)
    commitment = models.BooleanField(_("commitment signed (告知承诺)"), default=False)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="onestop_application_idempotency",
            )
        ]

    def __str__(self) -> str:
        return self.number


def private_storage() -> Storage:
    """Applicants' documents: outside MEDIA_ROOT, served only through a scoped view."""
    return FileSystemStorage(location=settings.DATA_DIR / "private")


class MaterialState(models.TextChoices):
    WAIVED = "waived", _("Waived: obtained from shared data")  # 免提交
    UPLOADED = "uploaded", _("Uploaded")
    DEFERRED = "deferred", _("To follow under the commitment")  # 容缺
    MISSING = "missing", _("Missing")
    NOT_NEEDED = "not_needed", _("Not needed")


class ApplicationMaterial(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        _("state"), max_length=12, choices=MaterialState.choices, default=MaterialState.MISSING
    )
    #: what stands in for a waived material: a certificate identifier or a dataset reference
    waived_by = models.CharField(_("obtained from"), max_length=200, blank=True)
    file = models.FileField(upload_to="onestop/%Y/%m/", storage=private_storage, blank=True)
    file_name = classify(models.CharField(max_length=200, blank=True), PI)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application", "material__implementation", "material__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "material"], name="onestop_application_material"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.material_id}"


class TaskState(models.TextChoices):
    WAITING = "waiting", _("Waiting for an earlier stage")
    PENDING = "pending", _("To be claimed")
    CLAIMED = "claimed", _("Being examined")
    SUPPLEMENT = "supplement", _("Waiting for supplements")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Not needed")


class ApprovalTask(models.Model):
    """One department's part of an application: examine one matter and decide."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="tasks")
    implementation = models.ForeignKey(Implementation, on_delete=models.PROTECT, related_name="+")
    implementation_version = models.PositiveIntegerField(default=1)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    stage = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(
        _("state"), max_length=12, choices=TaskState.choices, default=TaskState.PENDING
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = not_personal(
        models.DateTimeField(null=True, blank=True), "when an overdue task was escalated"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    certificate_id = models.CharField(_("certificate issued"), max_length=80, blank=True)
    version = models.PositiveIntegerField(default=0)  # optimistic concurrency

    class Meta:
        verbose_name = _("approval task")
        verbose_name_plural = _("approval tasks")
        ordering = ["application", "stage", "id"]
        indexes = [models.Index(fields=["department", "state"], name="onestop_task_dept_state")]

    def __str__(self) -> str:
        return f"task {self.pk}"


class SupplementRequest(models.Model):
    """补正: the department asks for more; the task's clock is paused until answered."""

    task = models.ForeignKey(ApprovalTask, on_delete=models.CASCADE, related_name="supplements")
    materials = models.JSONField(_("materials to provide"), default=list)  # material keys
    note = models.TextField(_("what is needed"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)

    class Meta:
        ordering = ["task", "-requested_at"]

    def __str__(self) -> str:
        return f"supplement {self.pk}"


class TimelineEntry(models.Model):
    """What the applicant sees: every step of every department, in order."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="timeline")
    task = models.ForeignKey(
        ApprovalTask, null=True, blank=True, on_delete=models.CASCADE, related_name="timeline"
    )
    kind = models.CharField(max_length=30)
    note = models.TextField(blank=True)
    actor_label = models.CharField(max_length=100, blank=True)  # a department, never a name
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["application", "at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at}"
