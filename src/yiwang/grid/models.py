"""Unit grids (单元网格) under communities, and who works in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import Division
from yiwang.core.personal import not_personal

GEOMETRY = "a grid's geometry, not a person's location"


class Grid(models.Model):
    """A unit grid: a polygon under a community, coded 6 division + 3 street + 3 community + 3
    sequence (15 digits), numbered west to east, north to south within its community."""

    code = models.CharField(_("grid code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    community = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="grids")
    geometry = models.JSONField(_("boundary (GeoJSON, WGS84)"))
    area_m2 = models.FloatField(_("area (m²)"), default=0)
    centroid_lng = not_personal(models.FloatField(default=0), GEOMETRY)
    centroid_lat = not_personal(models.FloatField(default=0), GEOMETRY)
    min_lng = not_personal(models.FloatField(default=0), GEOMETRY)
    min_lat = not_personal(models.FloatField(default=0), GEOMETRY)
    max_lng = not_personal(models.FloatField(default=0), GEOMETRY)
    max_lat = not_personal(models.FloatField(default=0), GEOMETRY)
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)
    source = models.CharField(_("source"), max_length=200, blank=True)
    synthetic = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def prefix(self) -> str:
        """Grids nest under their community's division prefix."""
        return self.code


class GridMember(models.Model):
    class Role(models.TextChoices):
        WORKER = "worker", _("Grid worker")
        LEADER = "leader", _("Grid leader")

    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grid_memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.WORKER)
    since = models.DateField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("grid member")
        constraints = [models.UniqueConstraint(fields=["grid", "user"], name="grid_member_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.grid.code}"
