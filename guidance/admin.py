from django.contrib import admin

from .models import QualificationItem, WinModel


@admin.register(QualificationItem)
class QualificationItemAdmin(admin.ModelAdmin):
    list_display = ["label", "process", "order", "is_active"]
    list_filter = ["process", "is_active"]
    list_editable = ["order", "is_active"]


@admin.register(WinModel)
class WinModelAdmin(admin.ModelAdmin):
    list_display = ["version", "trained_at", "n_won", "n_lost", "is_current"]
    readonly_fields = [f.name for f in WinModel._meta.fields]
