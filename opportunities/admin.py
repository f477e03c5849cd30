from django.contrib import admin
from django.db import models

from people.models import Team
from stages.admin import LabelledRowsFormSet
from stages.cleaning import NAME_FORMFIELDS

from .models import Account, Competitor, Contact, LostReason


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin):
    list_display = ("name", "website", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    formfield_overrides = NAME_FORMFIELDS


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "is_active")
    formfield_overrides = NAME_FORMFIELDS
    list_editable = ("order", "is_active")


class ContactInline(admin.TabularInline):
    model = Contact
    formset = LabelledRowsFormSet
    fields = ("first_name", "last_name", "title", "email", "phone")
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "industry", "region", "status", "owner")
    list_filter = ("status", "region", "industry")
    search_fields = ("name",)
    raw_id_fields = ("owner",)
    inlines = [ContactInline]


# Team names are names too, but people may not import `stages.cleaning` (the two apps share the
# bottom layer): from here, a layer above both, people's Team admin gets the name field. people's
# admin module is imported first (INSTALLED_APPS order), so the Team admin is registered by now.
admin.site.get_model_admin(Team).formfield_overrides.setdefault(models.CharField, {}).update(
    NAME_FORMFIELDS[models.CharField]
)
