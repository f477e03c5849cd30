from django.contrib import admin

from stages.cleaning import NAME_FORMFIELDS

from .models import Account, Contact, LostReason


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "is_active")
    formfield_overrides = NAME_FORMFIELDS
    list_editable = ("order", "is_active")


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ("first_name", "last_name", "title", "email", "phone")
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "industry", "region", "status", "owner")
    list_filter = ("status", "region", "industry")
    search_fields = ("name",)
    raw_id_fields = ("owner",)
    inlines = [ContactInline]
