"""一网统管 cases: categories, states as data, routing rules, cases, their timeline, in-app
messages, escalations and Open311 client keys. Invariants only; writes live in ``actions``."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import Department
from yiwang.core.personal import PI, EncryptedTextField, classify
from yiwang.grid.models import Grid


class CategoryKind(models.TextChoices):
    COMPONENT = "component", _("City part (部件)")
    EVENT = "event", _("Event (事件)")


class Priority(models.TextChoices):
    """Tiers from the 12345 service spec (STANDARDS.md): default stage limits per tier."""

    EMERGENCY = "emergency", _("Emergency")
    UTILITY = "utility", _("Water, power, gas, heat")
    GENERAL = "general", _("General")
    COMPLEX = "complex", _("Complex")


class Stage(models.TextChoices):
    """A stage whose working-time clock runs while the case waits in it."""

    ACCEPT = "accept", _("Accept")
    DISPATCH = "dispatch", _("Dispatch")
    HANDLE = "handle", _("Handle")
    VERIFY = "verify", _("Verify")


class Category(models.Model):
    """A 部件 or 事件 class with its 5-digit code (2 major + 3 minor); an Open311 service."""

    code = models.CharField(_("code"), max_length=5)
    kind = models.CharField(_("kind"), max_length=10, choices=CategoryKind.choices)
    group = models.CharField(_("major class"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=500, blank=True)
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    default_priority = models.CharField(
        _("default priority"), max_length=10, choices=Priority.choices, default=Priority.GENERAL
    )
    time_limits = models.JSONField(
        _("stage time limits (working hours)"),
        default=dict,
        blank=True,
        help_text=_('Working hours per stage, e.g. {"handle": 16}; missing stages use the tier'),
    )
    default_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Responsible department when no routing rule matches"),
    )
    responsible_kind = models.CharField(
        _("responsible department kind"),
        max_length=20,
        blank=True,
        help_text=_("Pick the nearest department of this kind over the grid (e.g. street_office)"),
    )
    attributes = models.JSONField(
        _("extra attributes (Open311 service definition)"), default=list, blank=True
    )
    public = models.BooleanField(_("offered to the public"), default=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        ordering = ["kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="case_category_kind_code")
        ]

    def __str__(self) -> str:
        return f"{self.service_code} {self.name}"

    @property
    def service_code(self) -> str:
        """The Open311 service code: ``C`` (部件) or ``E`` (事件) and the 5-digit code."""
        return ("C" if self.kind == CategoryKind.COMPONENT else "E") + self.code


class StateType(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    FIXED = "fixed", _("Fixed")


class State(models.Model):
    """A workflow state as data: its type maps to Open311 open/closed (fixed counts as closed)."""

    code = models.CharField(_("code"), max_length=20, primary_key=True)
    name = models.CharField(_("name"), max_length=50)
    type = models.CharField(_("type"), max_length=10, choices=StateType.choices)
    stage = models.CharField(
        _("clock stage"), max_length=10, choices=Stage.choices, blank=True, default=""
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("case state")
        verbose_name_plural = _("case states")
        ordering = ["order"]

    def __str__(self) -> str:
        return self.name

    @property
    def open311_status(self) -> str:
        return "open" if self.type == StateType.OPEN else "closed"


class RoutingRule(models.Model):
    """grid × category → department. Empty grid means any grid under ``division_prefix``;
    empty category means any category. The most specific matching rule wins."""

    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.CASCADE)
    division_prefix = models.CharField(_("division prefix"), max_length=12, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE)
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return f"{self.grid or self.division_prefix or '*'} × {self.category or '*'}"


class Channel(models.TextChoices):
    PORTAL = "portal", _("Resident portal")
    PATROL = "patrol", _("Grid patrol")
    HOTLINE = "12345", _("12345 hotline")
    API = "api", _("API")
    OPEN311 = "open311", _("Open311")


class RequestType(models.TextChoices):
    """12345 request types."""

    CONSULT = "consult", _("Consultation (咨询)")
    HELP = "help", _("Request for help (求助)")
    COMPLAINT = "complaint", _("Complaint (投诉)")
    REPORT = "report", _("Report (举报)")
    SUGGESTION = "suggestion", _("Suggestion (建议)")


class SlaLevel(models.TextChoices):
    GREEN = "green", _("On time")
    YELLOW = "yellow", _("Due soon")
    RED = "red", _("Overdue")


class Rating(models.IntegerChoices):
    """好差评: five levels."""

    VERY_DISSATISFIED = 1, _("Very dissatisfied (非常不满意)")
    DISSATISFIED = 2, _("Dissatisfied (不满意)")
    FAIR = 3, _("Fairly satisfied (基本满意)")
    SATISFIED = 4, _("Satisfied (满意)")
    VERY_SATISFIED = 5, _("Very satisfied (非常满意)")


LOCATION = "location"


class Case(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases")
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    request_type = models.CharField(
        _("12345 request type"), max_length=12, choices=RequestType.choices, blank=True
    )
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    description = models.TextField(_("description"), max_length=4000)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    photos = models.JSONField(_("photos"), default=list, blank=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)

    # Where: WGS84 as stored, and what the client declared.
    lng = classify(models.FloatField(_("longitude (WGS84)"), null=True), PI, category=LOCATION)
    lat = classify(models.FloatField(_("latitude (WGS84)"), null=True), PI, category=LOCATION)
    coord_system = models.CharField(_("declared coordinate system"), max_length=6, default="wgs84")
    address = classify(models.CharField(_("address"), max_length=300, blank=True), PI)
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.PROTECT)
    division_prefix = models.CharField(max_length=15, blank=True, db_index=True)
    thing = models.ForeignKey(
        "registry.Thing", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Who reported: a user, or only contact details; anonymous hides them from handlers.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    anonymous = models.BooleanField(_("anonymous"), default=False)
    contact_name = EncryptedTextField(_("contact name"), pi_class=PI)
    contact_phone = EncryptedTextField(_("contact phone"), pi_class=PI)
    contact_email = EncryptedTextField(_("contact email"), pi_class=PI)
    open311_client = models.ForeignKey(
        "cases.Open311Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    # Who handles it.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    routing_reason = models.CharField(_("routing reason"), max_length=300, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged"
    )

    # The clock of the current stage (empty stage: no clock).
    sla_stage = models.CharField(max_length=10, choices=Stage.choices, blank=True, default="")
    stage_started_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    sla_level = models.CharField(max_length=6, choices=SlaLevel.choices, default=SlaLevel.GREEN)
    suspended_at = models.DateTimeField(null=True, blank=True)
    overdue_since = models.DateTimeField(null=True, blank=True)
    overdue_count = models.PositiveSmallIntegerField(default=0)
    extension_hours = models.PositiveIntegerField(null=True, blank=True)
    extension_reason = models.CharField(max_length=500, blank=True)

    # Milestones for statistics.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    rating = models.PositiveSmallIntegerField(choices=Rating.choices, null=True, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=1000, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    under_review = models.BooleanField(_("under review"), default=False)
    follow_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at"]
        indexes = [
            # The sweep: cases whose clock runs, by instant. No column the sweep writes
            # (sla_level, overdue_*) is in any index, so its UPDATEs can be HOT (heap-only:
            # no index entries rewritten) on pages the table's fillfactor leaves room in.
            models.Index(
                fields=["warn_at"],
                name="case_sweep_warn",
                condition=models.Q(suspended_at__isnull=True) & ~models.Q(sla_stage=""),
            ),
            models.Index(
                fields=["due_at"],
                name="case_sweep_due",
                condition=models.Q(suspended_at__isnull=True) & ~models.Q(sla_stage=""),
            ),
            models.Index(fields=["category", "created_at"], name="case_dupe"),
            models.Index(fields=["department", "state"], name="case_dept_state"),
            models.Index(fields=["grid", "state"], name="case_grid_state"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category.name}"

    @property
    def service_request_id(self) -> str:
        return str(self.pk)


class CaseEvent(models.Model):
    """The case timeline: one row per transition, with actor, note and attachments."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transition = models.CharField(max_length=20)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    attachments = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(default=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return f"{self.case_id} {self.transition}"


class Message(models.Model):
    """An in-app message to a user, or to the holders of a role in a department."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="case_messages",
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=20, blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=30)
    #: What the text is made of besides the kind and the case (e.g. a count): the text is
    #: rendered in each reader's language when read (``cases.messages``, ADR 0022).
    params = models.JSONField(default=dict, blank=True)
    #: The text in the platform's default language at the time of writing (for older clients
    #: and messages written before ``params``).
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["department", "role", "created_at"])]

    def __str__(self) -> str:
        return self.text

    def render(self) -> str:
        """The text in the active language (the reader's)."""
        from yiwang.cases.messages import text_of

        return text_of(self)


class Escalation(models.Model):
    """An overdue case escalated by the sweep to the department leader and the centre."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    stage = models.CharField(max_length=10, choices=Stage.choices)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage}"


class Open311Client(models.Model):
    """An application allowed to POST Open311 requests: its ``api_key`` (only the digest
    is stored) identifies the app, not a resident."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")

    def __str__(self) -> str:
        return self.name


class ReporterSettings(models.Model):
    """A reporter's own choices about their cases: ``notify_opt_out`` stops email and SMS
    about their cases (the in-app messages stay in their inbox)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_settings"
    )
    notify_opt_out = models.BooleanField(_("no email or SMS about my reports"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reporter settings")
        verbose_name_plural = _("reporter settings")

    def __str__(self) -> str:
        return str(self.user_id)
