from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import OrgSettings, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Lockstep", {"fields": ("role", "team")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Lockstep", {"fields": ("role", "team")}))


class MemberInline(admin.TabularInline):
    model = User
    fk_name = "team"
    fields = ("username", "first_name", "last_name", "role")
    readonly_fields = ("username", "first_name", "last_name", "role")
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    # The team's name is cleaned like every other name (no invisible characters), by the rule in
    # `stages.cleaning`; people sits beside stages and may not import it: opportunities/admin.py,
    # a layer above both, adds the name field to this admin.
    list_display = ("name",)
    filter_horizontal = ("managers",)
    inlines = [MemberInline]


@admin.register(OrgSettings)
class OrgSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "visibility", "account_visibility", "reopen_days")

    def has_add_permission(self, request):
        return not OrgSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
