from django.contrib import admin

from stages.cleaning import NAME_FORMFIELDS

from .models import Lesson, Reason, Review


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    """The won and lost taxonomies reviews pick their reasons from."""

    list_display = ("name", "outcome", "order", "is_active")
    list_filter = ("outcome", "is_active")
    list_editable = ("order", "is_active")
    formfield_overrides = NAME_FORMFIELDS


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Read-only: reviews change only through their workflow (postmortem.services)."""

    list_display = ("opportunity", "outcome", "state", "author", "due_on")
    list_filter = ("state", "outcome")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ("text", "stage", "retired_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
