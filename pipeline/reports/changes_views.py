"""The "what changed between two dates" page, its htmx partial and its CSV download.

Read-only: there is nothing to POST, so every other method gets 405. The filter form lives here
rather than in `pipeline/forms.py` because nothing else uses it.
"""

import csv
import datetime as dt

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from opportunities.csv_export import neutralise
from opportunities.services import EARLIEST_DATE
from stages.cleaning import IdField
from stages.models import SalesProcess

from ..board.queries import visible_owners, visible_teams
from .changes import CATEGORIES, CATEGORY_KEYS, PipelineChanges, pipeline_changes

DEFAULT_DAYS = 7
PAGE_SIZE = 50


class ChangesFilterForm(forms.Form):
    """Period, process, team, rep and category. `team` and `rep` are ids that the view resolves
    against what the viewer may see (anything else is a 404, like every object they may not see)."""

    process = forms.ModelChoiceField(
        queryset=SalesProcess.objects.order_by("name"),
        required=False,
        empty_label="All processes",
        error_messages={"invalid_choice": "Choose a process from the list."},
    )
    team = IdField(required=False, error_messages={"invalid": "Choose a team from the list."})
    rep = IdField(required=False, error_messages={"invalid": "Choose a rep from the list."})
    category = forms.ChoiceField(
        choices=[("", "—"), *((c.key, c.label) for c in CATEGORIES)],
        required=False,
        error_messages={"invalid_choice": "“%(value)s” is not a category of change."},
    )
    format = forms.ChoiceField(choices=[("", "Page"), ("csv", "CSV")], required=False)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        date = {
            "widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "required": False,
            "error_messages": {"invalid": "Enter a date like 2026-01-31."},
        }
        # "from" is a Python keyword, so these two are added by name rather than declared.
        self.fields = {
            "from": forms.DateField(label="From (end of day)", **date),
            "to": forms.DateField(label="To (end of day)", **date),
            **self.fields,
        }

    def clean(self):
        data = super().clean()
        if "from" not in data or "to" not in data:
            return data  # a bad date was already reported on its field
        end = data["to"] or self.today
        start = data["from"] or end - dt.timedelta(days=DEFAULT_DAYS)
        for name, day in (("from", start), ("to", end)):
            if day > self.today:
                self.add_error(name, f"{day:%Y-%m-%d} is in the future; changes can only be looked at up to today.")
            elif day < EARLIEST_DATE:
                self.add_error(name, f"{day:%Y-%m-%d} is before {EARLIEST_DATE:%Y-%m-%d}.")
        if start > end and not self.errors:
            self.add_error("from", f"“From” ({start:%Y-%m-%d}) must be on or before “To” ({end:%Y-%m-%d}).")
        data["from"], data["to"] = start, end
        # Show the dates in force, defaults included, in the date inputs.
        self.data = self.data.copy()
        self.data["from"], self.data["to"] = start.isoformat(), end.isoformat()
        return data


def _csv(changes: PipelineChanges, keys: list[str], request) -> HttpResponse:
    suffix = keys[0] if len(keys) == 1 else "all"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="pipeline-changes-{changes.start:%Y-%m-%d}-to-{changes.end:%Y-%m-%d}-{suffix}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        [
            "category",
            "deal_id",
            "deal",
            "account",
            "owner_from",
            "owner_to",
            "stage_from",
            "stage_to",
            "status_from",
            "status_to",
            "amount_from",
            "amount_to",
            "amount_change",
            "close_from",
            "close_to",
            "url",
        ]
    )
    for total in changes.totals:
        if total.key not in keys:
            continue
        for deal in total.deals:
            a, b = deal.before, deal.after
            writer.writerow(
                [
                    neutralise(v)
                    for v in (
                        total.key,
                        deal.opp_id,
                        deal.name,
                        deal.account,
                        a.owner_name if a else "",
                        b.owner_name if b else "",
                        a.stage_name if a else "",
                        b.stage_name if b else "",
                        a.status if a else "",
                        b.status if b else "",
                        a.amount if a else "",
                        b.amount if b else "",
                        deal.delta if deal.delta is not None else "",
                        a.close.isoformat() if a else "",
                        b.close.isoformat() if b else "",
                        request.build_absolute_uri(reverse("opportunities:detail", args=[deal.opp_id])),
                    )
                ]
            )
    return response


@require_http_methods(["GET"])
def pipeline_changes_view(request):
    """What changed in the pipeline the viewer may see, between the end of two days
    (definitions: `pipeline.changes`). A rep sees their own deals unless they pick a rep or a
    team they may read; a manager their teams'; an admin everyone's."""
    user = request.user
    form = ChangesFilterForm(request.GET, today=timezone.localdate())
    reps, teams = visible_owners(user), visible_teams(user)
    # A rep who may read only their own deals gets no rep list: it would hold only themselves.
    filters = {
        "reps": reps if (user.is_manager or user.is_admin or user.sees_team_deals()) else None,
        "teams": teams,
        "categories": CATEGORIES,
    }
    if not form.is_valid():
        return render(request, _template(request), {"form": form, "changes": None, **filters}, status=400)
    data = form.cleaned_data
    rep = get_object_or_404(reps, pk=data["rep"]) if data["rep"] else None
    team = get_object_or_404(teams, pk=data["team"]) if data["team"] else None
    own_only = not (user.is_manager or user.is_admin or rep or team)
    changes = pipeline_changes(
        user,
        start=data["from"],
        end=data["to"],
        process_id=data["process"].pk if data["process"] else None,
        team_id=team.pk if team else None,
        owner_id=user.pk if own_only else (rep.pk if rep else None),
    )
    if data["format"] == "csv":
        return _csv(changes, [data["category"]] if data["category"] else list(CATEGORY_KEYS), request)
    selected = (
        changes[data["category"]]
        if data["category"]
        else next((t for t in changes.totals if t.count), changes.totals[0])
    )
    query = request.GET.copy()
    for name in ("page", "category", "format"):
        query.pop(name, None)
    query["from"], query["to"] = data["from"].isoformat(), data["to"].isoformat()
    context = {
        "form": form,
        "changes": changes,
        "selected": selected,
        "page": Paginator(selected.deals, PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": query.urlencode(),
        "query": f"{query.urlencode()}&category={selected.key}",
        "rep": rep,
        "team": team,
        "process": data["process"],
        "own_only": own_only,
        **filters,
    }
    return render(request, _template(request), context)


def _template(request) -> str:
    partial = request.htmx and not request.htmx.boosted
    return "pipeline/_changes.html" if partial else "pipeline/changes.html"
