"""Divisions, departments, users and API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.roles import ADMIN_APPS, STAFF_ROLES, Role, capabilities
from yiwang.core.personal import PI, BlindIndexField, EncryptedTextField, classify


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    STREET = "street", _("Street / township")
    COMMUNITY = "community", _("Community / village")


LEVEL_PREFIX = {
    DivisionLevel.PROVINCE: 2,
    DivisionLevel.CITY: 4,
    DivisionLevel.COUNTY: 6,
    DivisionLevel.STREET: 9,
    DivisionLevel.COMMUNITY: 12,
}


class Division(models.Model):
    """An administrative division (GB/T 2260 and the statistics codes below county level).

    ``code`` is the full code (6, 9 or 12 digits); ``prefix`` its significant part
    (``33``, ``3301``, ``330106``, ``330106002``, ``330106002001``) so a subtree is a
    prefix match. Codes are versioned by ``valid_from``/``valid_to`` and the release.
    """

    code = models.CharField(_("code"), max_length=12)
    prefix = models.CharField(max_length=12, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    release = models.CharField(_("release"), max_length=32, default="2022")
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    synthetic = models.BooleanField(
        _("synthetic"), default=False, help_text=_("Made up for the demo; not an official code")
    )

    class Meta:
        verbose_name = _("administrative division")
        verbose_name_plural = _("administrative divisions")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "release"], name="division_unique_release")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def contains(self, other: Division | None) -> bool:
        return other is not None and other.prefix.startswith(self.prefix)


class Department(models.Model):
    """A government department, street office, community committee or the command centre."""

    class Kind(models.TextChoices):
        BUREAU = "bureau", _("Functional department")
        STREET_OFFICE = "street_office", _("Street office")
        COMMUNITY = "community", _("Community committee")
        COMMAND_CENTRE = "command_centre", _("Command centre")
        SUPERVISION = "supervision", _("Supervision centre")
        ADMIN = "admin", _("Platform administration")

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=30, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.BUREAU)
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="departments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class YiwangUserManager(UserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username=username)


class User(AbstractUser):
    """Everyone who logs in: residents, enterprise users and staff, each with one role."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.RESIDENT)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    division = models.ForeignKey(
        Division,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The territory this user's scope covers (staff) or lives in (residents)"),
    )
    display_name = classify(models.CharField(_("real name"), max_length=50, blank=True), PI)
    id_number = EncryptedTextField(_("ID number"))
    id_number_index = BlindIndexField(source="id_number", normalizer="id_number")
    phone = EncryptedTextField(_("mobile phone"), pi_class=PI)
    phone_index = BlindIndexField(source="phone", normalizer="phone")
    credit_code = models.CharField(
        _("enterprise credit code"), max_length=18, blank=True, db_index=True
    )
    enterprise_name = models.CharField(_("enterprise name"), max_length=200, blank=True)
    synthetic = models.BooleanField(_("synthetic demo account"), default=False)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        default="",
        choices=settings.LANGUAGES,
        help_text=_(
            "Pages, messages, email and SMS for this person in this language; blank: the "
            "platform's default (zh-Hans)"
        ),
    )

    objects = YiwangUserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    def can(self, capability: str) -> bool:
        return bool(self.is_active and capability in capabilities(self.role))

    # Django admin permissions follow the role (三权分立), not per-user permission rows.
    def has_perm(self, perm: str, obj: Any = None) -> bool:
        if not self.is_active:
            return False
        app_label, _, codename = perm.partition(".")
        allowed = ADMIN_APPS.get(self.role, frozenset())
        model = codename.split("_", 1)[-1] if "_" in codename else ""
        return app_label in allowed or f"{app_label}.{model}" in allowed

    def has_module_perms(self, app_label: str) -> bool:
        if not self.is_active:
            return False
        allowed = ADMIN_APPS.get(self.role, frozenset())
        return any(a == app_label or a.startswith(app_label + ".") for a in allowed)


User._meta.get_field("email").pi_class = PI  # type: ignore[attr-defined]
User._meta.get_field("first_name").pi_class = PI  # type: ignore[attr-defined]
User._meta.get_field("last_name").pi_class = PI  # type: ignore[attr-defined]


class ApiToken(models.Model):
    """A per-user token for integrators. Only its SM3 digest is stored; shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
