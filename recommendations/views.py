"""Accepting and dismissing a deal's recommendations, and the managers' page that judges them."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from opportunities.errors import DomainError
from opportunities.models import Opportunity
from people.access import get_readable

from . import services
from .forms import AcceptForm, DismissForm
from .report import may_judge, stage_report


def _back_to_deal(deal: Opportunity, anchor: str):
    """The deal page with the panel inline (the way it works without JavaScript); an htmx post
    follows the redirect and swaps the deal in, its next step and the panel fresh."""
    return redirect(f"{reverse('opportunities:detail', args=[deal.pk])}?panel=recommendations#{anchor}")


@require_POST
def deal_accept(request, pk: int):
    deal = get_readable(Opportunity.objects.all(), request.user, pk, write=True)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a recommendation to accept.")
        return _back_to_deal(deal, "recommendations")
    try:
        services.recommendation_accept(actor=request.user, opportunity=deal, step=form.cleaned_data["step"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back_to_deal(deal, "recommendations")
    deal.refresh_from_db(fields=["next_step"])
    step = deal.next_step
    messages.success(request, f"“{step}” is the deal's next step, due {step.due_date:%Y-%m-%d}.")
    return _back_to_deal(deal, "next-step")


@require_POST
def deal_dismiss(request, pk: int):
    deal = get_readable(Opportunity.objects.all(), request.user, pk, write=True)
    form = DismissForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why you dismiss this recommendation (at most 300 characters).")
        return _back_to_deal(deal, "recommendations")
    try:
        services.recommendation_dismiss(
            actor=request.user,
            opportunity=deal,
            step=form.cleaned_data["step"],
            reason=form.cleaned_data["reason"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Recommendation dismissed; your reason is kept for the managers.")
    return _back_to_deal(deal, "recommendations")


@require_GET
def recommendation_stats(request):
    """Each stage's recommendations with their evidence and how often they were accepted or
    dismissed: managers and admins."""
    if not may_judge(request.user):
        raise PermissionDenied("Judging the recommendations is for managers and admins.")
    return render(request, "recommendations/stats.html", stage_report(request.user))
