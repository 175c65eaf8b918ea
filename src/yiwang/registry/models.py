"""人地物组织: people, places, things (city parts) and organisations, with their relations and
a change history. Every geolocated row carries WGS84 coordinates, the system the client
declared, and the grid it falls in (assigned by point-in-polygon)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import Department
from yiwang.core.personal import (
    PI,
    SENSITIVE_PI,
    BlindIndexField,
    EncryptedTextField,
    classify,
    not_personal,
)
from yiwang.grid.coords import CoordSystem
from yiwang.grid.models import Grid
from yiwang.registry.lookups import HasElement


class Located(models.Model):
    lng = classify(
        models.FloatField(_("longitude (WGS84)"), null=True, blank=True), PI, category="location"
    )
    lat = classify(
        models.FloatField(_("latitude (WGS84)"), null=True, blank=True), PI, category="location"
    )
    coord_system = models.CharField(
        _("coordinate system declared by the source"),
        max_length=8,
        choices=[(c.value, c.value.upper()) for c in CoordSystem],
        default=CoordSystem.WGS84,
    )
    grid = models.ForeignKey(
        Grid, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class Place(Located):
    class Kind(models.TextChoices):
        COMPOUND = "compound", _("Residential compound")
        BUILDING = "building", _("Building")
        UNIT = "unit", _("Unit (entrance)")
        ROOM = "room", _("Room")
        ADDRESS = "address", _("Standalone address")

    code = models.CharField(_("place code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    address = classify(
        models.CharField(_("address"), max_length=300, blank=True), PI, category="address"
    )
    synthetic = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["code"]
        indexes = [models.Index(fields=["grid", "kind"])]

    def __str__(self) -> str:
        return self.name


#: Which kinds of place a place of each kind may sit in: compound > building > unit > room (a
#: room may sit in a building that has no units; a building need not be in a compound); a
#: standalone address sits in nothing. A place with no parent is always allowed.
PARENT_KINDS: dict[str, frozenset[str]] = {
    Place.Kind.COMPOUND: frozenset(),
    Place.Kind.BUILDING: frozenset({Place.Kind.COMPOUND}),
    Place.Kind.UNIT: frozenset({Place.Kind.BUILDING}),
    Place.Kind.ROOM: frozenset({Place.Kind.UNIT, Place.Kind.BUILDING}),
    Place.Kind.ADDRESS: frozenset(),
}


def parent_kind_error(kind: str | None, parent_kind: str | None) -> str | None:
    """Why a place of ``kind`` cannot sit in one of ``parent_kind`` (None: it can, or a kind
    is not known here)."""
    from django.utils.translation import gettext

    if not kind or not parent_kind or kind not in PARENT_KINDS:
        return None
    allowed = PARENT_KINDS[kind]
    if parent_kind in allowed:
        return None
    labels = dict(Place.Kind.choices)
    if not allowed:
        return gettext("A %(kind)s has no parent place.") % {"kind": labels[kind]}
    return gettext("A %(kind)s sits in a %(allowed)s, not in a %(parent)s.") % {
        "kind": labels[kind],
        "allowed": gettext(" or ").join(str(labels[k]) for k in sorted(allowed)),
        "parent": labels.get(parent_kind, parent_kind),
    }


class Tag(models.TextChoices):
    LIVING_ALONE_ELDER = "living_alone_elder", _("Elder living alone")
    DISABLED = "disabled", _("Person with disability")
    LOW_INCOME = "low_income", _("Minimum-living-allowance household")
    KEY_PERSON = "key_person", _("Person of special attention")


#: Care and attention tags are sensitive PI: shown only to roles with the unmask capability.
RESTRICTED_TAGS = frozenset(Tag.values)


class Person(Located):
    name = classify(models.CharField(_("name"), max_length=50), PI)
    id_number = EncryptedTextField(_("ID number"))
    id_number_index = BlindIndexField(source="id_number", normalizer="id_number", unique=True)
    phone = EncryptedTextField(_("mobile phone"), pi_class=PI)
    phone_index = BlindIndexField(source="phone", normalizer="phone")
    sex = classify(models.CharField(_("sex"), max_length=1, blank=True), PI)
    birth_date = classify(models.DateField(_("birth date"), null=True, blank=True), PI)
    household_no = classify(models.CharField(_("household number"), max_length=40, blank=True), PI)
    home = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="residents"
    )
    tags = classify(
        models.JSONField(_("care and attention tags"), default=list, blank=True), SENSITIVE_PI
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    synthetic = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return f"person {self.pk}"


Person._meta.get_field("tags").register_lookup(HasElement)


class Thing(Located):
    """A city part (部件): class code (2 major + 3 minor) and a 17-digit identifier."""

    class Status(models.TextChoices):
        NORMAL = "normal", _("Normal")
        DAMAGED = "damaged", _("Damaged")
        MISSING = "missing", _("Missing")
        REMOVED = "removed", _("Removed")

    part_code = models.CharField(_("part identifier"), max_length=17, unique=True)
    class_code = models.CharField(_("class code"), max_length=5, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NORMAL
    )
    owner_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    synthetic = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("city part")
        verbose_name_plural = _("city parts")
        indexes = [models.Index(fields=["grid", "class_code"])]

    def __str__(self) -> str:
        return f"{self.name} {self.part_code}"


class Organisation(Located):
    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        SOCIAL = "social", _("Social organisation")

    class Size(models.TextChoices):
        LARGE = "large", _("Large")
        MEDIUM = "medium", _("Medium")
        SMALL = "small", _("Small")
        MICRO = "micro", _("Micro")

    class Status(models.TextChoices):
        ACTIVE = "active", _("In business")
        SUSPENDED = "suspended", _("Suspended")
        CANCELLED = "cancelled", _("Deregistered")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ENTERPRISE)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=200)
    industry_code = models.CharField(
        _("industry (GB/T 4754)"), max_length=5, blank=True, db_index=True
    )
    size_class = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    registered_address = not_personal(
        models.CharField(_("registered address"), max_length=300, blank=True),
        "an organisation's public registration data",
    )
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    registered_capital = models.DecimalField(
        _("registered capital (10k yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    legal_representative = classify(
        models.CharField(_("legal representative"), max_length=50, blank=True), PI
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="organisations"
    )
    synthetic = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        indexes = [models.Index(fields=["grid", "kind"])]

    def __str__(self) -> str:
        return self.name


class Employment(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="employments")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="employments"
    )
    since = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "organisation"], name="employment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.organisation_id}"


class ChangeRecord(models.Model):
    """One change to a registry entity: who, when, source, before/after (personal values masked)."""

    entity_type = models.CharField(max_length=20)
    entity_id = models.BigIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=10)  # created | updated | deleted | moved
    changes = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["entity_type", "entity_id", "at"])]
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.entity_type}:{self.entity_id} {self.action}"


class ImportJob(models.Model):
    """One bulk import of a CSV/XLSX file: progress while it runs, and its report after."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    entity_type = models.CharField(_("entity type"), max_length=20)
    file_name = models.CharField(_("file name"), max_length=255)
    file_path = models.CharField(max_length=500)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    #: Rows stored without a location (in no grid: no area lists them).
    no_grid_count = models.PositiveIntegerField(default=0)
    #: The template's example row, left unchanged and skipped.
    skipped_count = models.PositiveIntegerField(default=0)
    report_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} {self.entity_type} {self.file_name}"


class Reassignment(models.Model):
    """One run of re-assigning every located row to its grid after the grids changed: when,
    who started it (none: the job after a grid import) and how many rows of each kind moved —
    shown to the administrators who change grids (the audit log has it too, for auditors)."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), auto_now_add=True)
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moved = models.JSONField(_("moved"), default=dict)

    class Meta:
        ordering = ["-finished_at", "-pk"]
        verbose_name = _("grid re-assignment")
        verbose_name_plural = _("grid re-assignments")

    def __str__(self) -> str:
        return f"reassignment {self.pk}"

    @property
    def total(self) -> int:
        return sum(int(v) for v in (self.moved or {}).values())
