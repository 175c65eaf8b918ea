from django.contrib import admin

from yiwang.cases.models import Category, Open311Client, RoutingRule, State


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("kind", "code", "group", "name", "default_priority", "public", "active")
    list_filter = ("kind", "group", "default_priority", "public", "active")
    search_fields = ("code", "name", "keywords")


@admin.register(State)
class StateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "type", "stage", "order")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("grid", "division_prefix", "category", "department", "note")
    raw_id_fields = ("grid", "category", "department")


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "prefix", "active", "created_at")
    readonly_fields = ("prefix", "digest", "created_at")
