from django.contrib import admin

from .cleaning import NAME_FORMFIELDS
from .models import Milestone, SalesProcess, Stage


class StageInline(admin.TabularInline):
    model = Stage
    formfield_overrides = NAME_FORMFIELDS
    fields = (
        "order",
        "name",
        "objective",
        "win_probability",
        "forecast_category",
        "stuck_after_days",
        "idle_after_days",
        "slip_push_limit",
    )
    extra = 0
    show_change_link = True
    ordering = ("order", "id")


class MilestoneInline(admin.TabularInline):
    model = Milestone
    formfield_overrides = NAME_FORMFIELDS
    fields = ("order", "name", "description", "is_required")
    extra = 0
    ordering = ("order", "id")


@admin.register(SalesProcess)
class SalesProcessAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active")
    formfield_overrides = NAME_FORMFIELDS
    inlines = [StageInline]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    formfield_overrides = NAME_FORMFIELDS
    list_display = (
        "name",
        "process",
        "order",
        "win_probability",
        "forecast_category",
        "stuck_after_days",
        "idle_after_days",
        "slip_push_limit",
    )
    list_editable = ("order",)
    list_filter = ("process",)
    ordering = ("process", "order", "id")
    inlines = [MilestoneInline]
