"""好差评 — service ratings: invitations, ratings, callback-and-rectify tasks, appeals.

A *rated service* is anything a department delivered to one person: a completed 一网通办
matter (``onestop.applicationmatter:<id>``), later a closed 一网统管 case. It is identified by
``service_ref`` and carries its department and matter code/name; one rating per service per
rater (一事一评). Indicators and levels follow 国办发〔2019〕51号 and GB/T 39735-2020.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.personal import PI, classify

COMMENT_MAX = 500
NOTES_MAX = 1000


class Level(models.TextChoices):
    """The five levels, best first (the value is the score)."""

    VERY_SATISFIED = "5", _("Very satisfied")
    SATISFIED = "4", _("Satisfied")
    FAIR = "3", _("Fairly satisfied")
    DISSATISFIED = "2", _("Dissatisfied")
    VERY_DISSATISFIED = "1", _("Very dissatisfied")


#: 好评 (counted in the 好评率) and 差评 (called back and rectified).
POSITIVE_LEVELS = frozenset({Level.VERY_SATISFIED, Level.SATISFIED, Level.FAIR})
NEGATIVE_LEVELS = frozenset({Level.DISSATISFIED, Level.VERY_DISSATISFIED})


class Indicator(models.TextChoices):
    """The national indicator set (GB/T 39735-2020 政务服务评价工作指南), each scored 1-5."""

    GUIDE = "guide", _("Clarity of the service guide")
    PROCESS = "process", _("Convenience of the process")
    ATTITUDE = "attitude", _("Service attitude")
    TIMELINESS = "timeliness", _("Timeliness")
    RESULT = "result", _("Result of the service")


class Problem(models.TextChoices):
    """Problems a rater ticks with a negative rating (差评问题)."""

    GUIDE_UNCLEAR = "guide_unclear", _("The service guide was unclear or inaccurate")
    MATERIALS = "materials", _("Materials asked for again or beyond the list")
    VISITS = "visits", _("Had to come back more than promised")
    SLOW = "slow", _("Took longer than the promised time limit")
    ATTITUDE = "attitude", _("Poor service attitude")
    RESULT = "result", _("Not satisfied with the result")
    SYSTEM = "system", _("The online system was hard to use")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    """Where a service was delivered or a rating given (好差评 channels)."""

    ONLINE = "online", _("Government service website")
    MOBILE = "mobile", _("Mobile app")
    WINDOW = "window", _("Service hall window")
    SELF_SERVICE = "self_service", _("Self-service terminal")
    HOTLINE = "hotline", _("12345 hotline")
    SMS = "sms", _("SMS")


class RatingInvitation(models.Model):
    """待评价: a completed service its recipient is asked to rate (one per service per rater)."""

    service_ref = models.CharField(_("service reference"), max_length=120)
    source = models.CharField(_("source"), max_length=40, db_index=True)
    reference_no = models.CharField(_("reference number"), max_length=60, blank=True)
    matter_code = models.CharField(_("matter code"), max_length=60, blank=True)
    matter_name = models.CharField(_("matter"), max_length=200)
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="rating_invitations"
    )
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rating_invitations"
    )
    service_channel = models.CharField(
        _("service channel"), max_length=20, choices=Channel.choices, default=Channel.ONLINE
    )
    completed_at = models.DateTimeField(_("completed at"))
    invited_at = models.DateTimeField(_("invited at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rating invitation")
        verbose_name_plural = _("rating invitations")
        ordering = ["-completed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_ref", "rater"], name="ratings_invitation_one_per_rater"
            )
        ]
        indexes = [models.Index(fields=["rater", "-completed_at"])]

    def __str__(self) -> str:
        return f"{self.matter_name} ({self.service_ref})"

    @property
    def rated(self) -> bool:
        return hasattr(self, "rating")


class Rating(models.Model):
    """One rating of one service by its recipient (一事一评). Never deleted: a rating excluded
    on appeal keeps its row (and its audit records) and drops out of the statistics."""

    invitation = models.OneToOneField(
        RatingInvitation, on_delete=models.PROTECT, related_name="rating"
    )
    service_ref = models.CharField(_("service reference"), max_length=120)
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="ratings"
    )
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ratings"
    )
    matter_code = models.CharField(_("matter code"), max_length=60, blank=True)
    level = models.CharField(_("level"), max_length=1, choices=Level.choices)
    scores = models.JSONField(_("indicator scores"), default=dict, blank=True)
    problems = models.JSONField(_("ticked problems"), default=list, blank=True)
    comment = classify(models.TextField(_("comment"), max_length=COMMENT_MAX, blank=True), PI)
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.ONLINE
    )
    rated_at = models.DateTimeField(_("rated at"))
    excluded = models.BooleanField(_("excluded"), default=False)
    excluded_reason = models.TextField(_("reason for exclusion"), blank=True)
    excluded_at = models.DateTimeField(_("excluded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-rated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_ref", "rater"], name="ratings_rating_one_per_rater"
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=["1", "2", "3", "4", "5"]),
                name="ratings_rating_level_valid",
            ),
        ]
        indexes = [models.Index(fields=["department", "excluded", "rated_at"])]

    def __str__(self) -> str:
        return f"{self.service_ref}: {self.get_level_display()}"

    @property
    def negative(self) -> bool:
        return self.level in NEGATIVE_LEVELS

    @property
    def problem_labels(self) -> list[str]:
        labels = dict(Problem.choices)
        return [str(labels.get(p, p)) for p in self.problems or []]

    @property
    def score_rows(self) -> list[tuple[str, int]]:
        labels = dict(Indicator.choices)
        return [(str(labels[k]), int(self.scores[k])) for k in Indicator.values if k in self.scores]


class RectificationStatus(models.TextChoices):
    OPEN = "open", _("Awaiting callback")
    CALLED_BACK = "called_back", _("Called back")
    RECTIFIED = "rectified", _("Rectified")
    CONFIRMED = "confirmed", _("Confirmed by the rater")
    CLOSED = "closed", _("Task closed")


#: States in which the department still owes the rectification (the deadline runs).
PENDING_STATES = frozenset({RectificationStatus.OPEN, RectificationStatus.CALLED_BACK})
FINISHED_STATES = frozenset({RectificationStatus.CONFIRMED, RectificationStatus.CLOSED})


class Rectification(models.Model):
    """回访整改: the department calls the rater back and rectifies within N working days."""

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="rectification")
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="rectifications"
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RectificationStatus.choices,
        default=RectificationStatus.OPEN,
    )
    working_days = models.PositiveSmallIntegerField(_("working days"))
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due at"), db_index=True)
    overdue = models.BooleanField(_("overdue"), default=False)
    overdue_at = models.DateTimeField(_("marked overdue at"), null=True, blank=True)
    callback_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    callback_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    callback_notes = models.TextField(_("callback notes"), blank=True)
    rectified_at = models.DateTimeField(_("rectified at"), null=True, blank=True)
    rectified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    result = models.TextField(_("rectification result"), blank=True)
    rejections = models.PositiveSmallIntegerField(_("times not accepted"), default=0)
    rater_feedback = classify(models.TextField(_("rater's feedback"), blank=True), PI)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_reason = models.CharField(_("reason for closing"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["department", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"

    @property
    def on_time(self) -> bool | None:
        """Rectified by the deadline (None while still pending and not yet due)."""
        if self.rectified_at is not None:
            return self.rectified_at <= self.due_at
        return False if self.overdue else None


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    UPHELD = "upheld", _("Rating upheld")
    EXCLUDED = "excluded", _("Rating excluded")


class Appeal(models.Model):
    """申诉: the rated department believes a rating malicious or not about its service; the
    rating authority upholds the rating or excludes it from the statistics."""

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="appeal")
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="rating_appeals"
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"), max_length=NOTES_MAX)
    filed_at = models.DateTimeField(_("filed at"))
    status = models.CharField(
        _("status"), max_length=20, choices=AppealStatus.choices, default=AppealStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_notes = models.TextField(_("decision notes"), blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-filed_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"
