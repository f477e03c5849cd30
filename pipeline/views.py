from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from opportunities.models import Opportunity

from . import services
from .forms import AttentionFilterForm
from .models import Flag, Notification, User


def _client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses sign-in while a username or an address is cooling off after repeated failures."""

    def clean(self):
        username = (self.data.get("username") or "").strip()
        address = _client_address(self.request) if self.request else None
        if services.login_is_throttled(username=username, ip_address=address):
            minutes = max(1, settings.LOGIN_COOLOFF_SECONDS // 60)
            raise forms.ValidationError(
                f"Too many failed sign-ins. Wait {minutes} minutes and try again.", code="throttled"
            )
        try:
            return super().clean()
        except forms.ValidationError:
            services.login_failure_record(username=username, ip_address=address)
            raise

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        services.login_failures_clear(username=user.get_username(), ip_address=_client_address(self.request))


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request):
    return auth_views.LoginView.as_view(
        template_name="pipeline/login.html",
        authentication_form=ThrottledAuthenticationForm,
        redirect_authenticated_user=True,
    )(request)


@require_http_methods(["POST"])
def logout_view(request):
    return auth_views.LogoutView.as_view()(request)


@login_not_required
@require_http_methods(["GET", "HEAD"])
def health(request):
    """Liveness for load balancers and compose health checks: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@require_http_methods(["GET"])
def home(request):
    return redirect("opportunities:my_deals")


# --- pipeline health: needs attention and notifications ---------------------------------------------

ATTENTION_PAGE_SIZE = 25
NOTIFICATION_PAGE_SIZE = 25


def _partial(request) -> bool:
    return bool(request.htmx and not request.htmx.boosted)


def open_flags_prefetch() -> Prefetch:
    """Each deal's open flags as `deal.open_flags`, in one query for a whole page of deals."""
    return Prefetch("flags", queryset=Flag.objects.open().order_by("kind", "id"), to_attr="open_flags")


@require_http_methods(["GET"])
def needs_attention(request):
    """Flagged open deals, biggest first: a rep's own; a manager's teams'; everything for an
    admin. Filters: by rep (whose deals the user may read, else 404) and by flag kind."""
    user = request.user
    form = AttentionFilterForm(request.GET or None)
    visible = Opportunity.objects.for_user(user).open()
    owners = User.objects.filter(Q(pk=user.pk) | Q(pk__in=visible.values("owner"))).order_by(
        "first_name", "last_name", "username"
    )
    scope = visible if (user.is_manager or user.is_admin) else visible.filter(owner=user)
    rep = kind = None
    status = 200
    if form.is_valid():
        if form.cleaned_data["rep"]:
            rep = get_object_or_404(owners, pk=form.cleaned_data["rep"])
            scope = visible.filter(owner=rep)
        kind = form.cleaned_data["kind"] or None
    elif form.is_bound:
        scope, status = scope.none(), 400
    flags = Flag.objects.open().filter(opportunity__in=scope.values("pk"))
    kind_counts = dict(flags.values_list("kind").annotate(n=Count("id")).order_by())
    flagged = flags.filter(kind=kind) if kind else flags
    deals = (
        scope.filter(Exists(flagged.filter(opportunity=OuterRef("pk"))))
        .select_related("account", "stage", "owner")
        .prefetch_related(open_flags_prefetch())
        .order_by("-amount", "expected_close_date", "id")
    )
    page = Paginator(deals, ATTENTION_PAGE_SIZE).get_page(request.GET.get("page"))
    for deal in page:
        deal.can_act = deal.can_edit(user)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "rep": rep,
        "kind": kind,
        "kind_counts": [(k, label, kind_counts.get(k, 0)) for k, label in Flag._meta.get_field("kind").choices],
        "owners": list(owners) if (user.is_manager or user.is_admin) else [],
        "show_owner": user.is_manager or user.is_admin or (rep is not None and rep.pk != user.pk),
    }
    template = "pipeline/_attention_rows.html" if _partial(request) else "pipeline/needs_attention.html"
    return render(request, template, context, status=status)


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
