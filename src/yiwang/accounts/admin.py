"""Configuration in the Django admin, for the system admin (users, organisation) and the
security admin (lockouts, two-factor devices, via their own apps' admins). Personal data is
shown masked here too; unmasking is a console action with a purpose."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import ApiToken, Department, Division, User
from yiwang.core.masking import mask_id_number, mask_phone


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "level", "parent", "release", "valid_to", "synthetic")
    list_filter = ("level", "release", "synthetic")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "kind", "division", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    raw_id_fields = ("division", "parent")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "role", "department", "masked_phone", "is_active", "synthetic")
    list_filter = ("role", "is_active", "synthetic")
    search_fields = ("username",)
    raw_id_fields = ("department", "division")
    readonly_fields = ("masked_id_number", "masked_phone", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Role and scope"), {"fields": ("role", "department", "division", "is_active")}),
        (
            _("Personal data (masked)"),
            {"fields": ("display_name", "masked_id_number", "masked_phone", "email")},
        ),
        (_("Enterprise"), {"fields": ("credit_code", "enterprise_name")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "role", "department", "password1", "password2"),
            },
        ),
    )

    @admin.display(description=_("ID number"))
    def masked_id_number(self, obj: User) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description=_("mobile phone"))
    def masked_phone(self, obj: User) -> str:
        return mask_phone(obj.phone)

    def save_model(self, request: Any, obj: User, form: Any, change: bool) -> None:
        from yiwang.core import audit

        super().save_model(request, obj, form, change)
        audit.record(
            "accounts.user_changed_in_admin" if change else "accounts.user_created_in_admin",
            actor=request.user,
            obj=obj,
            fields=sorted(form.changed_data),
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("user", "prefix", "digest", "created_at", "last_used_at")
    search_fields = ("name", "prefix", "user__username")
