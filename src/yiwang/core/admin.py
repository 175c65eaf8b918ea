"""Code tables in the admin. The audit tables are deliberately NOT registered: only the audit
admin reads them, through the console (三权分立)."""

from __future__ import annotations

from django.contrib import admin

from yiwang.core.models import CodeTableVersion, IndustryCode


@admin.register(CodeTableVersion)
class CodeTableVersionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("table", "version", "rows", "valid_from", "valid_to", "imported_at")


@admin.register(IndustryCode)
class IndustryCodeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "level", "parent_code", "version")
    list_filter = ("level", "version")
    search_fields = ("code", "name")
