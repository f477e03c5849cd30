"""The ROI pages: saving a calculation on a deal (from its page's panel), the one-page summary
to print or save as PDF for the buyer, and recording that it was shared."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from opportunities.errors import AccessDenied, DomainError
from opportunities.models import Contact, Opportunity
from people.access import get_readable

from . import services
from .panel import deal_roi_panel


def _deal(request, pk: int, *, write: bool = False) -> Opportunity:
    return get_readable(
        Opportunity.objects.select_related("account", "process", "owner"), request.user, pk, write=write
    )


def _back(opp: Opportunity):
    return redirect(reverse("opportunities:detail", args=[opp.pk]) + "#roi")


def _refuse(exc: DomainError) -> None:
    if isinstance(exc, AccessDenied):
        raise PermissionDenied(exc.message)


@require_POST
def deal_roi_save(request, pk: int):
    """Compute the deal's ROI from the panel's form and keep it with the deal. With htmx the
    panel comes back (the result or the refusal in it); without, the deal page (PRG)."""
    opp = _deal(request, pk, write=True)
    error = ""
    try:
        services.result_save(actor=request.user, opportunity=opp, values=request.POST)
    except DomainError as exc:
        _refuse(exc)
        error = exc.message
    if request.htmx:
        panel = deal_roi_panel(opp, request.user) or {}
        return render(request, "roi/_deal_roi.html", {"opp": opp, "panel": {**panel, "error": error}})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "ROI calculated and saved with the deal.")
    return _back(opp)


@require_GET
def deal_roi_summary(request, pk: int, result_pk: int):
    """A saved calculation as a one-page summary, styled for printing (the browser's "Save as
    PDF" makes the PDF: no PDF library needed), with the form recording who it was shared with."""
    opp = _deal(request, pk)
    result = get_object_or_404(opp.roi_results.select_related("created_by"), pk=result_pk)
    team = []
    can_share = opp.can_edit(request.user)
    if can_share:
        team = list(Contact.objects.filter(buying_roles__opportunity=opp).order_by("last_name", "first_name", "id"))
    return render(request, "roi/summary.html", {"opp": opp, "result": result, "team": team, "can_share": can_share})


@require_POST
def deal_roi_share(request, pk: int, result_pk: int):
    """Record that the summary went to members of the buying team: an activity on the deal."""
    opp = _deal(request, pk, write=True)
    result = get_object_or_404(opp.roi_results.all(), pk=result_pk)
    # Ids as a database can hold them: anything else names nobody (and is refused below).
    ids = [v for v in request.POST.getlist("contacts") if v.isascii() and v.isdigit() and len(v) <= 18]
    if len(ids) != len(request.POST.getlist("contacts")):
        ids.append("0")
    contacts = list(Contact.objects.filter(account_id=opp.account_id, pk__in=ids))
    summary = reverse("roi:summary", args=[opp.pk, result.pk])
    if not contacts or len(contacts) != len(set(ids)):
        messages.error(request, "Choose who on the buying team received the summary.")
        return redirect(summary)
    try:
        services.result_share(result, actor=request.user, contacts=contacts, note=request.POST.get("note", ""))
    except DomainError as exc:
        _refuse(exc)
        messages.error(request, exc.message)
        return redirect(summary)
    messages.success(request, "Share recorded as an activity on the deal.")
    return redirect(reverse("opportunities:detail", args=[opp.pk]) + "#activities")
