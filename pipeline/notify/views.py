"""The notifications page and marking notifications read (the bell links here)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ..models import Notification
from . import services

NOTIFICATION_PAGE_SIZE = 25


def _partial(request) -> bool:
    return bool(request.htmx and not request.htmx.boosted)


@require_http_methods(["GET"])
def notifications(request):
    """The signed-in user's notifications, newest first."""
    items = Notification.objects.filter(user=request.user).order_by("-created_at", "-id")
    page = Paginator(items, NOTIFICATION_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pipeline/notifications.html", {"page": page, "query": ""})


def _back_to_notifications(request):
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        # Not redirect(): it would take "1" or "a:b" for a view name to reverse, and fail.
        return HttpResponseRedirect(target)
    return redirect("pipeline:notifications")


@require_POST
def notification_read(request, pk: int):
    # Someone else's notification does not exist as far as this user is concerned: 404.
    notification = get_object_or_404(Notification.objects.filter(user=request.user), pk=pk)
    services.notification_mark_read(notification, actor=request.user)
    if _partial(request):
        return render(request, "pipeline/_notification.html", {"n": notification, "oob_bell": True})
    return _back_to_notifications(request)


@require_POST
def notifications_read_all(request):
    count = services.notifications_mark_all_read(actor=request.user)
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return _back_to_notifications(request)
