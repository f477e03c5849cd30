"""The kanban board pages: the board of a sales process, one column's further cards, and moving
a card. Moves go through `opportunities.services.opportunity_move`, like every other move."""

import dataclasses
import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from opportunities import services
from opportunities.errors import AccessDenied, ConcurrentEdit, DomainError
from opportunities.form_pages import form_problems
from opportunities.models import Opportunity
from people.access import get_readable
from stages.cleaning import INT_MAX, parse_int, parse_pk
from stages.models import SalesProcess, Stage

from ..reports.quarters import next_quarter, quarter_bounds, quarter_label, quarter_of, quarter_start
from .queries import (
    CARDS_PER_COLUMN,
    BoardQuery,
    board_build,
    column_cards,
    live_card,
    visible_owners,
    visible_teams,
)


class BoardFilterForm(forms.Form):
    """The board's filters. Each bad value is reported and dropped; the others still apply."""

    # Labels and empty choices read as on the dashboard and the changes page: Rep, Team, As of.
    owner = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Rep",
        empty_label="Everyone",
        error_messages={"invalid_choice": "Choose a rep from the list."},
    )
    team = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="All teams",
        error_messages={"invalid_choice": "Choose a team from the list."},
    )
    quarter = forms.CharField(
        required=False,
        max_length=20,
        label="Close quarter",
        widget=forms.TextInput(attrs={"list": "board-quarters", "size": 9}),
    )
    as_of = forms.DateField(
        required=False,
        label="As of (end of day)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date like 2026-01-31."},
    )

    def __init__(self, *args, user, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # The example is this quarter, so it reads as a suggestion for today, not a stale sample.
        self.fields["quarter"].widget.attrs["placeholder"] = quarter_label(today)
        self.fields["owner"].queryset = visible_owners(user)
        self.fields["team"].queryset = visible_teams(user)

    def clean_quarter(self) -> str:
        text = self.cleaned_data["quarter"].strip()
        if not text:
            return ""
        try:
            start, _ = quarter_bounds(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return quarter_label(start)

    def clean_as_of(self) -> dt.date | None:
        day = self.cleaned_data["as_of"]
        if day and day > self.today:
            raise forms.ValidationError(f"{day:%Y-%m-%d} is in the future; the board can look back, not ahead.")
        return day

    def problems(self) -> list[str]:
        return form_problems(self)

    def valid(self, name: str):
        """The field's cleaned value, or None when it was empty or refused."""
        self.is_valid()
        return self.cleaned_data.get(name) or None


def _default_target(stages: list, index: int):
    """The stage a card's Move preselects, as on the deal page: the next one; from the last
    stage, the one before it (pressing Move must never send a deal back to the first stage)."""
    if index + 1 < len(stages):
        return stages[index + 1]
    return stages[index - 1] if index > 0 else None


def _with_move_options(cards: list, stages: list) -> list:
    """Give each card its move form's <option>s: the other stages, built once per stage."""
    # format_html_join escapes every stage name and returns safe markup: one string per stage
    # shared by the column's cards, where a template loop would redo it for each of 150 cards.
    options = {}
    for index, stage in enumerate(stages):
        target = _default_target(stages, index)
        options[stage.pk] = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            [(s.pk, " selected" if s == target else "", s.name) for s in stages if s != stage],
        )
    for card in cards:
        card.move_options = options.get(card.stage_id, "")
    return cards


def _move_hidden(request, query: BoardQuery) -> str:
    """The hidden fields every card's move form shares — the CSRF token (what {% csrf_token %}
    writes) and the board's filters, so the answer is the same board — built once per page."""
    fields = [("csrfmiddlewaretoken", get_token(request)), *_filter_params(query, with_as_of=False)]
    # format_html_join escapes each name and value; the result is safe to print on every card.
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', fields)


def _partial(request) -> bool:
    return bool(request.htmx and not request.htmx.boosted)


# The session remembers the process whose board the user looked at last: /board/ reopens it.
LAST_PROCESS_KEY = "board_process"


def _process(request, process_id: int | None) -> SalesProcess | None:
    if process_id is not None:
        process = get_object_or_404(SalesProcess, pk=process_id)
        if request.session.get(LAST_PROCESS_KEY) != process.pk:  # no session write on every view
            request.session[LAST_PROCESS_KEY] = process.pk
        return process
    last = parse_pk(request.session.get(LAST_PROCESS_KEY))
    if last is not None and (process := SalesProcess.objects.filter(pk=last).first()):
        return process
    # First visit: the process with the most open deals the user may see (most of their work),
    # then by name, so a new organisation's board still opens somewhere predictable.
    busiest = (
        Opportunity.objects.for_user(request.user)
        .open()
        .values("process")
        .annotate(deals=Count("id"))
        .order_by("-deals", "process__name")
        .values_list("process", flat=True)
        .first()
    )
    if busiest is not None:
        return SalesProcess.objects.get(pk=busiest)
    return SalesProcess.objects.active().order_by("name").first() or SalesProcess.objects.order_by("name").first()


def _board_query(request, data, process: SalesProcess) -> tuple[BoardQuery, BoardFilterForm]:
    form = BoardFilterForm(data, user=request.user, today=timezone.localdate())
    owner, team = form.valid("owner"), form.valid("team")
    query = BoardQuery(
        user=request.user,
        process=process,
        as_of=form.valid("as_of"),
        owner_id=owner.pk if owner else None,
        team_id=team.pk if team else None,
        quarter=form.valid("quarter") or "",
    )
    return query, form


def _filter_params(query: BoardQuery, *, with_as_of: bool = True) -> list[tuple[str, str]]:
    """The filters in force, as (name, value) pairs for links and the move forms' hidden fields."""
    params = [("owner", query.owner_id), ("team", query.team_id), ("quarter", query.quarter)]
    if with_as_of and query.as_of:
        params.append(("as_of", query.as_of.isoformat()))
    return [(name, str(value)) for name, value in params if value]


def _quarter_choices(today: dt.date) -> list[str]:
    first = dt.date(today.year - 1, 1, 1)
    labels, year_quarter = [], quarter_of(first)
    for _ in range(12):
        labels.append(quarter_label(quarter_start(*year_quarter)))
        year_quarter = next_quarter(*year_quarter)
    return labels


def _board_context(request, query: BoardQuery, form: BoardFilterForm, **extra) -> dict:
    today = timezone.localdate()
    processes = list(SalesProcess.objects.filter(is_active=True).order_by("name"))
    if query.process not in processes:
        processes.append(query.process)
    built = board_build(query, today=today)
    if query.is_live:
        _with_move_options([card for column in built.columns for card in column.cards], built.stages)
    context = {
        "board": built,
        "process": query.process,
        "processes": processes,
        "form": form,
        "filter_errors": form.problems(),
        "filter_query": urlencode(_filter_params(query)),
        "live_query": urlencode(_filter_params(query, with_as_of=False)),
        "move_hidden": _move_hidden(request, query),
        "quarters": _quarter_choices(today),
        "live": query.is_live,
        "move_url": reverse("board:move"),
    }
    context.update(extra)
    return context


@require_http_methods(["GET"])
def board(request, process_id: int | None = None):
    """One column per stage with its count, total and weighted amount; live, or as of a day."""
    process = _process(request, process_id)
    if process is None:
        return render(request, "pipeline/board.html", {"process": None, "processes": []})
    query, form = _board_query(request, request.GET, process)
    template = "pipeline/_board.html" if _partial(request) else "pipeline/board.html"
    return render(request, template, _board_context(request, query, form))


@require_http_methods(["GET"])
def board_column(request, process_id: int, stage_id: int):
    """More cards of one column: htmx appends them ("Load more"); without JS, a page of its own."""
    process = get_object_or_404(SalesProcess, pk=process_id)
    stage = get_object_or_404(Stage, pk=stage_id, process=process)
    offset = parse_int(request.GET.get("offset", CARDS_PER_COLUMN))
    query, form = _board_query(request, request.GET, process)
    problems = form.problems()
    bad_offset = offset is None
    if bad_offset:
        problem = f"Offset: give a whole number from 0 to {INT_MAX}; showing the first cards."
        problems.append(problem)
        if _partial(request):  # the cards alone carry no filter errors: say it in the message area
            messages.error(request, problem)
        offset = 0
    cards, has_more = column_cards(query, stage, offset=offset)
    if query.is_live:
        _with_move_options(cards, list(process.stages.order_by("order", "id")))
    context = {
        "process": process,
        "stage": stage,
        "cards": cards,
        "offset": offset,
        "next_offset": offset + len(cards) if has_more else None,
        "previous_offset": max(0, offset - CARDS_PER_COLUMN) if offset else None,
        "filter_errors": problems,
        "filter_query": urlencode(_filter_params(query)),
        "move_hidden": _move_hidden(request, query),
        "live": query.is_live,
        "as_of": query.as_of,
        "move_url": reverse("board:move"),
        # On the column's own page there is no board to swap: its move forms post plainly.
        "standalone": not _partial(request),
        "oob_messages": bad_offset,
    }
    template = "pipeline/_board_cards.html" if _partial(request) else "pipeline/board_column.html"
    return render(request, template, context, status=400 if bad_offset else 200)


@require_POST
def board_move(request):
    """Move a card to another column, through the same service as every other move.

    With htmx: a refusal comes back as the card, with the reason on it (the script puts the
    card back in its column); a move comes back as the whole board, totals included. Without
    JS: post, then back to the board with the outcome as a message.
    """
    opp_id = parse_pk(request.POST.get("opportunity"))
    if opp_id is None:
        raise Http404("No such opportunity.")
    deals = Opportunity.objects.select_related("process", "stage", "owner")
    opp = get_readable(deals, request.user, opp_id, write=True)
    to_stage = Stage.objects.filter(process_id=opp.process_id, pk=parse_pk(request.POST.get("to_stage"))).first()
    refusal = stale = ""
    if to_stage is None:
        refusal = f"Choose one of the stages of {opp.process.name} to move to."
    else:
        try:
            services.opportunity_move(
                opp, actor=request.user, to_stage=to_stage, expected_version=parse_int(request.POST.get("version"))
            )
        except AccessDenied as exc:
            raise PermissionDenied(exc.message) from None
        except ConcurrentEdit as exc:
            stale = exc.message
        except DomainError as exc:
            refusal = exc.message
    query, form = _board_query(request, request.POST, opp.process)
    # The board the card came from, minus "as of" (only the live board moves cards).
    query = dataclasses.replace(query, as_of=None)
    if not _partial(request):
        if refusal or stale:
            messages.error(request, f"{opp.name}: {refusal or stale}")
        else:
            messages.success(request, f"Moved {opp.name} to {to_stage.name}.")
        url = reverse("board:process", args=[opp.process_id])
        params = urlencode(_filter_params(query))
        return redirect(f"{url}?{params}" if params else url)
    if refusal:
        card = live_card(opp, user=request.user, refusal=refusal)
        _with_move_options([card], list(opp.process.stages.order_by("order", "id")))
        context = {
            "cards": [card],
            "move_url": reverse("board:move"),
            "move_hidden": _move_hidden(request, query),
            "live": True,
            "process": opp.process,
            "oob_messages": True,  # clears an earlier "Moved …" from the message area
        }
        response = render(request, "pipeline/_board_cards.html", context)
        return reswap(retarget(response, f"#card-{opp.pk}"), "outerHTML")
    if stale:
        messages.error(request, f"{opp.name}: {stale}")
    else:
        messages.success(request, f"Moved {opp.name} to {to_stage.name}.")
    response = render(request, "pipeline/_board.html", _board_context(request, query, form))
    return reswap(retarget(response, "#board"), "outerHTML")
