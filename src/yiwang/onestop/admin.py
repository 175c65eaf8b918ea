"""The matter catalog in the Django admin: matters, implementations (with materials and their
version history; every change saved through ``catalog.do_save_implementation`` makes a new
version), bundles with their questions, items and form. Conditions are checked with
``situations.condition_errors`` and reported on the field. Applications and tasks are listed
read-only, without personal fields."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from yiwang.onestop import catalog
from yiwang.onestop.models import (
    Application,
    ApprovalTask,
    Bundle,
    BundleItem,
    FormField,
    Implementation,
    ImplementationVersion,
    Material,
    Matter,
    SituationQuestion,
)
from yiwang.onestop.situations import Question, condition_errors


def questions_of(bundle: Bundle) -> list[Question]:
    return [
        Question(
            key=q.key,
            text=q.text,
            kind=q.kind,
            choices=tuple(str(c.get("value")) for c in (q.choices or [])),
            shown_when=q.shown_when,
            text_en=q.text_en,
        )
        for q in bundle.questions.all()
    ]


def _condition_error(expr: str, bundles: Iterable[tuple[str, Sequence[Question]]]) -> str:
    """The first problem of ``expr`` in any of the (label, questions) given, or ''."""
    for label, questions in bundles:
        errs = condition_errors(expr, questions)
        if errs:
            return f"{errs[0]} ({label})" if label else errs[0]
    return ""


# --- matters and implementations -----------------------------------------------------------------
@admin.register(Matter)
class MatterAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("catalog_code", "name", "matter_type", "exercising_level")
    list_filter = ("matter_type", "exercising_level")
    search_fields = ("catalog_code", "name")


class MaterialForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Material
        fields = (
            "order",
            "key",
            "name",
            "required",
            "deferrable",
            "source",
            "source_ref",
            "formats",
            "max_size_kb",
            "applies_when",
            "sample",
            "acceptance_standard",
        )
        widgets = {
            "sample": forms.Textarea(attrs={"rows": 2, "cols": 30}),
            "acceptance_standard": forms.Textarea(attrs={"rows": 2, "cols": 30}),
        }

    def clean_formats(self) -> list[str]:
        value = self.cleaned_data.get("formats") or []
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            raise forms.ValidationError(_('A list of file types, e.g. ["pdf", "jpg"].'))
        bad = [v for v in value if v.lower() not in catalog.FORMATS]
        if bad:
            raise forms.ValidationError(
                _("Unknown file type(s): %(bad)s.") % {"bad": ", ".join(bad)}
            )
        return [v.lower() for v in value]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        source, ref = data.get("source"), (data.get("source_ref") or "").strip()
        if source == "applicant" and not data.get("formats"):
            self.add_error("formats", _("A material the applicant uploads needs its formats."))
        if source == "certificate" and ref not in catalog.certificate_types():
            self.add_error("source_ref", _("Name a certificate type code."))
        if source == "shared" and not (
            ref in catalog.REGISTRY_SOURCES or ref.startswith("exchange:")
        ):
            self.add_error(
                "source_ref", _("Use registry:person, registry:organisation or exchange:<dataset>.")
            )
        return data


class ConditionFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Checks each form's condition field against the questions ``questions()`` gives."""

    condition_field = "applies_when"

    def question_sets(self) -> list[tuple[str, Sequence[Question]]]:
        return []

    def clean(self) -> None:
        super().clean()
        sets = None
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            expr = (form.cleaned_data.get(self.condition_field) or "").strip()
            if not expr:
                continue
            sets = self.question_sets() if sets is None else sets
            if not sets:
                form.add_error(
                    self.condition_field,
                    _("This matter is in no bundle, so there are no questions to refer to."),
                )
                continue
            err = _condition_error(expr, sets)
            if err:
                form.add_error(self.condition_field, err)


class MaterialFormSet(ConditionFormSet):
    def question_sets(self) -> list[tuple[str, Sequence[Question]]]:
        if not self.instance.pk:
            return []
        bundles = Bundle.objects.filter(items__implementation=self.instance).distinct()
        return [(b.name, questions_of(b)) for b in bundles]


class MaterialInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Material
    form = MaterialForm
    formset = MaterialFormSet
    extra = 0


class VersionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ImplementationVersion
    fields = ("number", "note", "changed_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = _("version")
    verbose_name_plural = _("version history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ImplementationForm(forms.ModelForm):  # type: ignore[type-arg]
    change_note = forms.CharField(
        label=_("What changed"),
        max_length=300,
        required=False,
        help_text=_("Kept with the version."),
    )

    class Meta:
        model = Implementation
        fields = (
            "matter",
            "code",
            "department",
            "active",
            "accept_conditions",
            "legal_limit",
            "legal_limit_unit",
            "promised_limit",
            "visits_required",
            "online_depth",
            "service_area",
            "fee_yuan",
            "fee_basis",
            "flow",
            "co_departments",
            "result_type",
            "result_name",
            "certificate_type",
            "certificate_fields",
            "guide_notes",
            "window_address",
            "phone",
        )

    def clean_certificate_type(self) -> str:
        value = (self.cleaned_data.get("certificate_type") or "").strip()
        types = catalog.certificate_types()
        if value and value not in types:
            raise forms.ValidationError(
                _("Unknown certificate type; use one of: %(codes)s.") % {"codes": ", ".join(types)}
            )
        return value

    def clean_certificate_fields(self) -> dict[str, str]:
        value = self.cleaned_data.get("certificate_fields") or {}
        if not isinstance(value, dict) or any(
            not isinstance(k, str) or not isinstance(v, str) for k, v in value.items()
        ):
            raise forms.ValidationError(_("Map form field keys to certificate data keys."))
        if self.instance.pk:
            for bundle in Bundle.objects.filter(items__implementation=self.instance).distinct():
                keys = set(bundle.fields.values_list("key", flat=True))
                missing = sorted(set(value) - keys)
                if missing:
                    raise forms.ValidationError(
                        _("Not fields of the form of %(bundle)s: %(keys)s.")
                        % {"bundle": bundle.name, "keys": ", ".join(missing)}
                    )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        visits, depth = data.get("visits_required"), data.get("online_depth")
        if visits == 0 and depth is not None and int(depth) != 4:
            self.add_error("online_depth", _("Zero visits means entirely online (level 4)."))
        promised, legal = data.get("promised_limit"), data.get("legal_limit")
        if promised is not None and legal is not None and promised > legal:
            self.add_error("promised_limit", _("Longer than the legal time limit."))
        return data


@admin.register(Implementation)
class ImplementationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ImplementationForm
    list_display = (
        "code",
        "matter",
        "department",
        "promised_limit",
        "online_depth",
        "version",
        "active",
        "updated_at",
    )
    list_filter = ("active", "online_depth", "department")
    search_fields = ("code", "matter__name", "matter__catalog_code")
    readonly_fields = ("version", "updated_at")
    filter_horizontal = ("co_departments",)
    inlines = [MaterialInline, VersionInline]
    fieldsets = (
        (None, {"fields": ("matter", "code", "department", "active", "version", "updated_at")}),
        (
            _("Implementation list"),
            {
                "fields": (
                    "accept_conditions",
                    ("legal_limit", "legal_limit_unit", "promised_limit"),
                    ("visits_required", "online_depth", "service_area"),
                    ("fee_yuan", "fee_basis"),
                    "flow",
                    "co_departments",
                    ("result_type", "result_name"),
                    ("certificate_type", "certificate_fields"),
                    "guide_notes",
                    ("window_address", "phone"),
                )
            },
        ),
        (_("This change"), {"fields": ("change_note",)}),
    )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        catalog.do_save_implementation(
            actor=request.user,
            implementation=form.instance,
            note=form.cleaned_data.get("change_note") or "admin",
        )


# --- bundles -------------------------------------------------------------------------------------
class _BundleConditionFormSet(ConditionFormSet):
    #: set by BundleAdmin to the question formset of the same request
    question_formset: Any = None

    def question_sets(self) -> list[tuple[str, Sequence[Question]]]:
        qs = self.question_formset
        if qs is None:
            return [("", questions_of(self.instance))] if self.instance.pk else [("", [])]
        if qs is not self:
            qs.is_valid()  # cleans its forms once (a no-op when done already)
        out: list[Question] = []
        for form in qs.forms:
            d = getattr(form, "cleaned_data", None) or {}
            if not d.get("key") or d.get("DELETE"):
                continue
            choices = d.get("choices") or []
            out.append(
                Question(
                    key=d["key"],
                    text=d.get("text", ""),
                    kind=d.get("kind", ""),
                    choices=tuple(str(c.get("value")) for c in choices if isinstance(c, dict)),
                )
            )
        return [("", out)]


class QuestionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = SituationQuestion
        fields = ("order", "key", "text", "text_en", "kind", "choices", "shown_when", "help")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choices = data.get("choices") or []
        if data.get("kind") == "enum":
            if (
                not isinstance(choices, list)
                or not choices
                or any(
                    not isinstance(c, dict) or not c.get("value") or not c.get("label")
                    for c in choices
                )
            ):
                self.add_error(
                    "choices", _('A list of {"value": …, "label": …} for a choice question.')
                )
        elif choices:
            self.add_error("choices", _("Only choice questions have choices."))
        return data


class QuestionFormSet(_BundleConditionFormSet):
    condition_field = "shown_when"

    def question_sets(self) -> list[tuple[str, Sequence[Question]]]:
        self.question_formset = self
        return super().question_sets()


class QuestionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SituationQuestion
    form = QuestionForm
    formset = QuestionFormSet
    extra = 0


class ItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = BundleItem
    formset = _BundleConditionFormSet
    fields = ("order", "implementation", "stage", "applies_when")
    extra = 0


class FormFieldForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = FormField
        fields = (
            "order",
            "key",
            "label",
            "label_en",
            "kind",
            "required",
            "choices",
            "max_length",
            "prefill",
            "applies_when",
            "personal",
        )

    def clean_prefill(self) -> str:
        value = (self.cleaned_data.get("prefill") or "").strip()
        if value:
            checker = catalog._Checker(None, catalog.known_datasets())
            catalog._check_prefill(checker, "", value)
            if checker.problems:
                raise forms.ValidationError(checker.problems[0].message)
        return value


class FormFieldInline(admin.TabularInline):  # type: ignore[type-arg]
    model = FormField
    form = FormFieldForm
    formset = _BundleConditionFormSet
    extra = 0


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "audience", "lead_department", "status", "version", "order")
    list_filter = ("audience", "status")
    search_fields = ("code", "name", "theme")
    readonly_fields = ("version",)
    inlines = [QuestionInline, ItemInline, FormFieldInline]

    def _create_formsets(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        formsets, inline_instances = super()._create_formsets(  # type: ignore[misc]
            request, obj, change
        )
        questions = next((f for f in formsets if isinstance(f, QuestionFormSet)), None)
        for fs in formsets:
            if isinstance(fs, _BundleConditionFormSet) and not isinstance(fs, QuestionFormSet):
                fs.question_formset = questions
        return formsets, inline_instances

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(fs.has_changed() for fs in formsets)):
            catalog.do_touch_bundle(actor=request.user, bundle=form.instance, note="admin")


# --- applications (read-only; no personal fields) ----------------------------------------------
class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(_ReadOnly):
    list_display = ("number", "bundle", "bundle_version", "status", "submitted_at", "completed_at")
    list_filter = ("status", "bundle")
    search_fields = ("number",)
    fields = (
        "number",
        "bundle",
        "bundle_version",
        "status",
        "commitment",
        "created_at",
        "submitted_at",
        "completed_at",
    )
    readonly_fields = fields


@admin.register(ApprovalTask)
class ApprovalTaskAdmin(_ReadOnly):
    list_display = ("application", "implementation", "department", "stage", "state", "due_at")
    list_filter = ("state", "department")
    search_fields = ("application__number",)
    fields = (
        "application",
        "implementation",
        "implementation_version",
        "department",
        "stage",
        "state",
        "started_at",
        "due_at",
        "decided_at",
        "certificate_id",
    )
    readonly_fields = fields
