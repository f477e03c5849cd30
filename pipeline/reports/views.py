"""The pipeline dashboard (with CSV downloads of each table) and the quota page."""

import csv
import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from opportunities.csv_export import neutralise
from opportunities.errors import AccessDenied, DomainError
from opportunities.form_pages import form_problems

from ..models import Quota, QuotaChange
from . import services
from .dashboard import (
    PERIODS,
    Dashboard,
    Filters,
    owner_ids_for,
    people_for,
    period_bounds,
    processes,
    teams_for,
)
from .forms import DashboardFilterForm, QuotaForm, QuotaQuarterForm
from .quarters import next_quarter, previous_quarter, quarter_name, quarter_of

SECTIONS = (
    ("Pipeline", ("by_stage", "by_owner", "by_month")),
    ("Forecast", ("forecast", "attainment")),
    ("Conversion and time in stage", ("conversion", "durations")),
    ("Milestones", ("milestones",)),
    ("Pipeline health", ("flags_by_kind", "flags_by_owner")),
)


def _partial(request) -> bool:
    return bool(request.htmx and not request.htmx.boosted)


def _pick(options, pk):
    """The option with this id, or 404: naming someone you may not see looks like naming nobody."""
    if pk is None:
        return None
    for option in options:
        if option.pk == pk:
            return option
    raise Http404("No such team or person.")


def _csv_cell(value) -> str:
    """A cell as text; text that a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _csv(table, day: dt.date) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # The table name is one of Dashboard.TABLES, so the file name needs no further cleaning.
    response["Content-Disposition"] = f'attachment; filename="lockstep-{table.name}-{day:%Y-%m-%d}.csv"'
    writer = csv.writer(response)
    writer.writerow([column.label for column in table.columns])
    writer.writerows([_csv_cell(value) for value in row] for row in table.rows)
    return response


@require_http_methods(["GET"])
def dashboard(request):
    """Pipeline, forecast, conversion, time in stage, milestones and flags: a rep's own deals,
    a manager's teams' (filter by team and rep), everyone's for an admin; live or as of the
    end of a past day. `?format=csv&table=<name>` downloads one table."""
    user = request.user
    now = timezone.now()
    people, teams, procs = people_for(user), teams_for(user), processes()
    form = DashboardFilterForm(request.GET or None, processes=procs, today=timezone.localdate(now))
    values = form.usable()
    rep = _pick(people, values["rep"])
    team = _pick(teams, values["team"])
    day = values["as_of"] or timezone.localdate(now)
    if values["period"] == "custom":
        start, end = values["start"], values["end"]
    else:
        start, end = period_bounds(values["period"], day)
    owner_id = rep.pk if rep else (None if (user.is_admin or user.is_manager) else user.pk)
    filters = Filters(
        user=user,
        now=now,
        period_start=start,
        period_end=end,
        as_of=values["as_of"],
        process_id=values["process"],
        team_id=team.pk if team else None,
        owner_id=owner_id,
        owner_ids=owner_ids_for(user, people),
    )
    board = Dashboard(filters, people=people)
    if request.GET.get("format") == "csv":
        try:
            return _csv(board.table(request.GET.get("table", "")), day)
        except KeyError:
            raise Http404("No such table.") from None
    partial = _partial(request)
    if form.is_bound and form.errors and not partial:
        # An htmx swap shows the errors next to the filters; a message would wait for the next page.
        messages.error(request, "Some filters were not valid and were left at their defaults; see below.")
    query = request.GET.copy()
    for key in ("format", "table"):
        query.pop(key, None)
    context = {
        "form": form,
        "filters": filters,
        "values": values,
        "board": board,
        "sections": [(title, [board.charted(name) for name in names]) for title, names in SECTIONS],
        "people": people if (user.is_admin or user.is_manager) else [],
        "teams": teams,
        "rep": rep,
        "team": team,
        "periods": list(PERIODS.items()),
        "query": query.urlencode(),
        "attention_url": reverse("pipeline:needs_attention"),
    }
    template = "pipeline/_dashboard_body.html" if partial else "pipeline/dashboard.html"
    return render(request, template, context)


# --- quotas -------------------------------------------------------------------------------------------


QUOTA_CHANGES_SHOWN = 50


def _quarter(request) -> tuple[int, int]:
    form = QuotaQuarterForm(request.GET or None)
    this = quarter_of(timezone.localdate())
    if form.is_valid() and form.cleaned_data["year"] and form.cleaned_data["quarter"]:
        return form.cleaned_data["year"], form.cleaned_data["quarter"]
    return this


@require_http_methods(["GET"])
def quotas(request):
    """The quotas of one quarter for everyone whose quota the user may read; a form for each
    one they may set (managers: their teams' members; admins: everyone)."""
    user = request.user
    year, quarter = _quarter(request)
    people = [p for p in people_for(user) if p.is_active]
    amounts = dict(Quota.objects.filter(user__in=people, year=year, quarter=quarter).values_list("user_id", "amount"))
    rows = [{"person": p, "amount": amounts.get(p.pk), "may_set": services.quota_may_set(user, p)} for p in people]
    # The quarter's latest changes, of the people on the page; older ones are rarely wanted here.
    changes = list(
        QuotaChange.objects.filter(year=year, quarter=quarter, user__in=people)
        .select_related("user", "actor")
        .order_by("-created_at", "-id")[: QUOTA_CHANGES_SHOWN + 1]
    )
    prev_q, next_q = previous_quarter(year, quarter), next_quarter(year, quarter)
    return render(
        request,
        "pipeline/quotas.html",
        {
            "year": year,
            "quarter": quarter,
            "quarter_name": quarter_name(year, quarter),
            "rows": rows,
            "prev": urlencode({"year": prev_q[0], "quarter": prev_q[1]}),
            "next": urlencode({"year": next_q[0], "quarter": next_q[1]}),
            "total": sum(a for a in amounts.values()),
            "changes": changes[:QUOTA_CHANGES_SHOWN],
            "more_changes": len(changes) > QUOTA_CHANGES_SHOWN,
        },
    )


@require_POST
def quota_set(request, user_id: int):
    actor = request.user
    person = _pick([p for p in people_for(actor) if p.is_active], user_id)
    form = QuotaForm(request.POST)
    year, quarter = quarter_of(timezone.localdate())
    if form.is_valid():
        year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
        try:
            services.quota_set(actor=actor, user=person, year=year, quarter=quarter, amount=form.cleaned_data["amount"])
        except AccessDenied as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            messages.error(request, f"{person}: {exc.message}")
        else:
            messages.success(request, f"{person}'s quota for {quarter_name(year, quarter)} is saved.")
    else:
        if not services.quota_may_set(actor, person):
            raise PermissionDenied(f"You cannot set {person}'s quota.")
        for problem in form_problems(form):
            messages.error(request, f"{person} — {problem}")
        year = form.cleaned_data.get("year", year)
        quarter = form.cleaned_data.get("quarter", quarter)
    return redirect(reverse("pipeline:quotas") + "?" + urlencode({"year": year, "quarter": quarter}))
