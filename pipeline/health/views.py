"""Needs attention: the open deals with open pipeline-health flags."""

from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from opportunities.csv_export import csv_response
from opportunities.models import Opportunity
from people.models import User

from ..models import Flag, HealthSweep
from .forms import AttentionFilterForm

ATTENTION_PAGE_SIZE = 25


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
    if request.GET.get("format") == "csv":
        return csv_response(
            "needs-attention.csv",
            ("id", "deal", "account", "stage", "owner", "amount", "expected_close_date", "flags"),
            (
                [d.pk, d.name, d.account.name, d.stage.name, str(d.owner), d.amount, d.expected_close_date.isoformat()]
                + ["; ".join(f.get_kind_display() for f in d.open_flags)]
                for d in deals
            ),
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
        "last_sweep": HealthSweep.last(),
    }
    template = "pipeline/_attention_rows.html" if _partial(request) else "pipeline/needs_attention.html"
    return render(request, template, context, status=status)
