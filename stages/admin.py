from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from .cleaning import NAME_FORMFIELDS
from .models import Milestone, ProcessChange, SalesProcess, Stage, StageRoleRequirement


class LabelledRowsFormSet(BaseInlineFormSet):
    """Tabular inline rows name each input: a table cell has only its column header, which is not
    a label, so screen readers announced "edit text" for every cell. Each input gets
    aria-label "<column>: <row>" ("Name: Qualify", "Order: new stage")."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = str(form.instance) if form.instance.pk else f"new {self.model._meta.verbose_name}"
        for name, field in form.fields.items():
            column = "Delete" if name == "DELETE" else str(field.label or name)
            field.widget.attrs.setdefault("aria-label", f"{column}: {row}")


class StageInline(admin.TabularInline):
    model = Stage
    formset = LabelledRowsFormSet
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
        "buying_team_touch_days",
    )
    extra = 0
    show_change_link = True
    ordering = ("order", "id")


class MilestoneInline(admin.TabularInline):
    model = Milestone
    formset = LabelledRowsFormSet
    formfield_overrides = NAME_FORMFIELDS
    fields = ("order", "name", "description", "is_required")
    extra = 0
    ordering = ("order", "id")


class RoleRequirementInline(admin.TabularInline):
    """The buying roles a deal needs on its team before it moves past the stage."""

    model = StageRoleRequirement
    formset = LabelledRowsFormSet
    fields = ("role", "enforcement")
    extra = 0
    verbose_name = "required buying role"
    verbose_name_plural = "required buying roles (before moving past this stage)"


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
    inlines = [MilestoneInline, RoleRequirementInline]


@admin.register(ProcessChange)
class ProcessChangeAdmin(admin.ModelAdmin):
    """Read-only: the record of the changes made through `stages.services` (the API)."""

    list_display = ("created_at", "actor", "action", "subject")
    list_filter = ("action", "process")
    search_fields = ("subject",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
