"""Guided selling's pages: ticking the qualification checklist (from the deal page's panel), a
deal's full signals with its similar deals, the Focus lists and the win model's page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from opportunities.errors import AccessDenied, DomainError
from opportunities.models import Opportunity
from people.access import get_readable

from . import queries, services
from .models import QualificationItem
from .panel import deal_signals_panel


def _deal(request, pk: int, *, write: bool = False) -> Opportunity:
    return get_readable(
        Opportunity.objects.select_related("account", "process", "owner"), request.user, pk, write=write
    )


@require_POST
def qualification_tick(request, pk: int):
    """Tick (`ticked=1`) or untick (`ticked=0`) one qualification item of the deal. With htmx
    the panel comes back; without, the deal page (post/redirect/get)."""
    opp = _deal(request, pk, write=True)
    raw = request.POST.get("item", "")
    item = None
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        item = QualificationItem.objects.filter(pk=raw).first()
    error = ""
    try:
        if item is None:
            raise DomainError("Choose a qualification item of this deal's process.")
        services.qualification_tick(
            actor=request.user, opportunity=opp, item=item, ticked=request.POST.get("ticked") == "1"
        )
    except DomainError as exc:
        if isinstance(exc, AccessDenied):
            raise PermissionDenied(exc.message) from exc
        error = exc.message
    if request.htmx:
        panel = deal_signals_panel(opp, request.user) or {}
        return render(request, "guidance/_deal_signals.html", {"opp": opp, "panel": {**panel, "error": error}})
    if error:
        messages.error(request, error)
    return redirect(reverse("opportunities:detail", args=[opp.pk]) + "#signals")


@require_GET
def deal_signals(request, pk: int):
    """A deal's signals in full: every factor, every viability fact, and its most similar won and
    lost deals — linked where the user may see them, otherwise only counted."""
    opp = _deal(request, pk)
    if not opp.is_open:
        raise Http404("Closed deals have no signals.")
    panel = deal_signals_panel(opp, request.user)
    similar = queries.similar_deals(panel["signal"], request.user)
    return render(request, "guidance/signals.html", {"opp": opp, "panel": panel, "similar": similar})


@require_GET
def focus(request):
    """The ten deals the user should work on today, highest priority first."""
    rows = queries.focus_list(request.user, scope="mine")
    return render(request, "guidance/focus.html", {"rows": rows, "scope": "mine", "model": services.current_model()})


@require_GET
def focus_team(request):
    """A manager's (or admin's) Focus list across the deals they may see."""
    if not services.can_retrain(request.user):
        raise PermissionDenied("The team's Focus list is for managers and admins.")
    rows = queries.focus_list(request.user, scope="team")
    return render(request, "guidance/focus.html", {"rows": rows, "scope": "team", "model": services.current_model()})


@require_GET
def model_page(request):
    """The current win model: version, training date, metrics, what weighs most."""
    model = services.current_model()
    return render(
        request,
        "guidance/model.html",
        {"model": model, "weights": queries.model_weights(model), "can_retrain": services.can_retrain(request.user)},
    )


@require_POST
def model_retrain(request):
    try:
        services.win_model_retrain_request(actor=request.user)
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, "Retraining started: the model and every deal's signals update in a few minutes.")
    return redirect("guidance:model")
