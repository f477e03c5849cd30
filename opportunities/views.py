from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, Value, When
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from people.access import can_override, can_reopen, get_readable
from stages.cleaning import clean_text, parse_int
from stages.models import Milestone, Stage

from . import search as global_search
from . import services
from .accounts import plan_context
from .coverage import deal_coverage
from .csv_export import activities_csv_response, contacts_csv_response, deals_csv_response
from .errors import ConcurrentEdit, DomainError
from .filters import ContactFilter, DealFilter
from .form_pages import form_page, refuse, show_form_problems
from .forms import (
    AccountForm,
    ActivityForm,
    BulkActionForm,
    BuyingTeamForm,
    CloseLostForm,
    CloseWonForm,
    CompleteStepForm,
    ContactForm,
    DealCompetitorForm,
    MilestoneToggleForm,
    MoveForm,
    NextStepForm,
    OpportunityEditForm,
    OpportunityForm,
    ReassignForm,
    ReopenForm,
)
from .hooks import (
    badge_prefetches,
    column_prefetches,
    deal_badges,
    deal_column_cells,
    deal_columns,
    deal_panel,
    deal_panels,
)
from .models import (
    Account,
    AccountEvent,
    Activity,
    ActivityKind,
    BuyingRole,
    BuyingTeamMember,
    Competitor,
    Contact,
    DealCompetitor,
    DealCompetitorStatus,
    LostReason,
    MilestoneCompletion,
    Opportunity,
    OpportunityEvent,
)

PAGE_SIZE = 25
PAGE_SIZES = (10, 25, 50, 100)
# The deal and account pages show the latest few activities and events and link to the full,
# paginated lists: a long-lived deal must not make its own page slow to open.
LATEST_SHOWN = 20
# At most this many contacts are offered in a deal's or an account's pickers ("who took part",
# "add to the buying team"); beyond it a search narrows the list down.
CONTACT_PICK_LIMIT = 50
# The account page pages its deals and contacts by this many.
ACCOUNT_PAGE_SIZE = 25
# The search page shows this many of each kind, each linking to all of that kind.
SEARCH_PREVIEW = 5


def _page_size(request) -> int:
    size = parse_int(request.GET.get("per_page"))
    return size if size in PAGE_SIZES else PAGE_SIZE


def _opportunity(request, pk: int, *, write: bool = False) -> Opportunity:
    # Few joins on purpose: PostgreSQL takes milliseconds to plan a join of ten tables, longer
    # than running it. The deal page takes the stage and lost reason from lists it loads anyway.
    related = ("account", "process", "owner", "next_step", "next_step__owner")
    return get_readable(Opportunity.objects.select_related(*related), request.user, pk, write=write)


def _account(request, pk: int, *, write: bool = False) -> Account:
    return get_readable(Account.objects.select_related("owner"), request.user, pk, write=write)


def _owner_choices(user):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True)
    if user.is_admin:
        return users
    if user.is_manager:
        return users.filter(Q(pk=user.pk) | Q(team__in=user.managed_team_ids()))
    return users.filter(pk=user.pk)


def _latest(queryset, count: int = LATEST_SHOWN) -> tuple[list, bool]:
    """The first `count` rows and whether there are more, in one query."""
    rows = list(queryset[: count + 1])
    return rows[:count], len(rows) > count


def _search_text(request, name: str) -> str:
    """A search from the query string: at most 100 characters, none of them invisible or a
    control character (PostgreSQL refuses a NUL in a query: a 500)."""
    return clean_text((request.GET.get(name) or "")[:100])


def _contact_query(request) -> str:
    return _search_text(request, "contact_q")


def _query_without(request, *names: str) -> str:
    """The current query string without `names`, for page links that keep everything else."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _localize_times(rows, field: str) -> None:
    """Format `field` of each row once in Python (`<field>_iso`, `<field>_text`): the template
    `date` filter's cost per call adds up on long timelines (bench/README.md)."""
    for row in rows:
        when = timezone.localtime(getattr(row, field))
        setattr(row, f"{field}_iso", when.isoformat())
        setattr(row, f"{field}_text", when.strftime("%Y-%m-%d %H:%M"))


class RowURL(NamedTuple):
    """A URL whose last argument is a row's id, split around that id: a list appends each row's
    id between `head` and `tail` instead of reversing the URL once a row."""

    head: str
    tail: str


def _row_url(name: str, *args) -> RowURL:
    head, _, tail = reverse(name, args=[*args, 0]).rpartition("/0/")
    return RowURL(head + "/", "/" + tail)


def _posted(request):
    """The data to bind a form to: any POST, even an empty one, so that it is validated and
    its errors shown (`request.POST or None` would render an empty POST as a fresh form)."""
    return request.POST if request.method == "POST" else None


def _back_to_deal(request, opp: Opportunity):
    return redirect(reverse("opportunities:detail", args=[opp.pk]) + "#" + request.POST.get("anchor", "top"))


def _log_activity(request, data: dict, **target):
    """Log what an `ActivityForm` holds, on a deal (`opportunity=`) or an account (`account=`)."""
    fields = ("kind", "subject", "notes", "occurred_at", "contacts")
    return services.activity_log(actor=request.user, **{f: data[f] for f in fields}, **target)


# --- lists -------------------------------------------------------------------------------------------


@require_http_methods(["GET"])
def my_deals(request):
    filters = DealFilter(request.GET, request=request, today=timezone.localdate())
    deals, scope, sort = filters.page_rows(), filters.current_scope, filters.current_sort
    if request.GET.get("format") == "csv":
        # Every deal the filters select, not one page of them.
        return deals_csv_response(deals.iterator(chunk_size=2000))
    deals = deals.prefetch_related(*badge_prefetches(), *column_prefetches())
    page = Paginator(deals, _page_size(request)).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for deal in page:
        deal.step_state = deal.next_step_state(today)
        deal.can_act = deal.can_edit(request.user)
        deal.badges = deal_badges(deal)
        deal.column_cells = deal_column_cells(deal)
    query = request.GET.copy()
    query.pop("page", None)
    columns = deal_columns()
    context = {
        "form": filters.form,
        "page": page,
        "columns": columns,
        "column_count": 7 + (scope == "all") + sum(c.width for c in columns),
        "query": query.urlencode(),
        "scope": scope,
        "sort": sort,
        "sort_links": _sort_links(query, sort),
    }
    partial = request.htmx and not request.htmx.boosted
    if not partial:
        context["bulk"] = _bulk_choices(request.user)
    template = "opportunities/_deal_rows.html" if partial else "opportunities/my_deals.html"
    return render(request, template, context)


# The sortable column headers of My deals: the sort key each one sets first (closest dates and
# smallest amounts first, names A to Z), and again reversed when it is already in force.
SORTABLE_COLUMNS = ("name", "stage", "amount", "close", "next_step")


def _sort_links(query, sort: str) -> dict[str, dict]:
    """For each sortable column: the link that sorts by it (or reverses it) and its aria-sort."""
    links = {}
    for key in SORTABLE_COLUMNS:
        state = "ascending" if sort == key else "descending" if sort == f"-{key}" else ""
        params = query.copy()
        params["sort"] = f"-{key}" if state == "ascending" else key
        links[key] = {"url": f"?{params.urlencode()}", "state": state}
    return links


def _bulk_choices(user) -> dict:
    """What the bulk-action form offers: new owners (managers and admins only), every stage,
    the active lost reasons."""
    may_reassign = user.is_admin or user.is_manager
    return {
        "owners": list(_owner_choices(user)) if may_reassign else [],
        "stages": list(Stage.objects.select_related("process").order_by("process__name", "order", "id")),
        "lost_reasons": list(LostReason.objects.filter(is_active=True)),
    }


def _bulk_report(request, result, *, what: str) -> None:
    """One message for what was done, one per refused deal naming it and why."""
    if result.done:
        count = len(result.done)
        messages.success(request, f"{what} {count} deal{'s' if count != 1 else ''}.")
    for opp, why in result.refused:
        messages.error(request, f"“{opp.name}”: {why}")


@require_POST
def deals_bulk(request):
    """A bulk action on the deals selected on My deals (or the team's deals): reassign, move
    (each deal through its gate), close lost with a reason, or export them as CSV. Deals the
    user may not read are not found; those they may read but not change are refused one by one."""
    user = request.user
    deals = Opportunity.objects.for_user(user)
    form = BulkActionForm(request.POST, deals=deals, owner_choices=_owner_choices(user))
    # Back to the list as it was filtered, re-encoded: the field is the user's to tamper with.
    query = QueryDict(request.POST.get("query", "")[:2000]).urlencode()
    back = reverse("opportunities:my_deals") + (f"?{query}" if query else "")
    if not form.is_valid():
        show_form_problems(request, form)
        return redirect(back)
    data = form.cleaned_data
    selected = list(data["ids"].with_list_relations().order_by("expected_close_date", "id"))
    if data["action"] == "export":
        return deals_csv_response(selected, filename="deals-selection.csv")
    try:
        match data["action"]:
            case "reassign":
                result = services.opportunity_bulk_reassign(actor=user, opportunities=selected, owner=data["owner"])
                what = f"Reassigned to {data['owner']}:"
            case "move":
                result = services.opportunity_bulk_move(actor=user, opportunities=selected, to_stage=data["to_stage"])
                what = f"Moved to {data['to_stage'].name}:"
            case _:
                result = services.opportunity_bulk_close_lost(
                    actor=user, opportunities=selected, reason=data["reason"], notes=data["notes"]
                )
                what = "Closed lost:"
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        _bulk_report(request, result, what=what)
    return redirect(back)


# --- opportunity page ------------------------------------------------------------------------------


def _deal_context(request, opp: Opportunity, **extra) -> dict:
    user = request.user
    stages = list(
        Stage.objects.filter(process_id=opp.process_id)
        .order_by("order", "id")
        .prefetch_related(Prefetch("milestones", queryset=Milestone.objects.live().order_by("order", "id")))
    )
    done = {
        c.milestone_id: c for c in MilestoneCompletion.objects.filter(opportunity=opp).select_related("completed_by")
    }
    current_index = next((i for i, s in enumerate(stages) if s.pk == opp.stage_id), 0)
    for i, stage in enumerate(stages):
        stage.position = "done" if i < current_index else "current" if i == current_index else "ahead"
        stage.checklist = [(m, done.get(m.pk)) for m in stage.milestones.all()]
        stage.done_count = sum(1 for _, completion in stage.checklist if completion)
        if stage.pk == opp.stage_id:
            opp.stage = stage
    activities, more_activities = _latest(
        Activity.objects.filter(opportunity=opp)
        .select_related("created_by")
        .prefetch_related("contacts")
        .order_by("-occurred_at", "-id")
    )
    _localize_times(activities, "occurred_at")
    team = list(BuyingTeamMember.objects.filter(opportunity=opp).select_related("contact"))
    can_edit = opp.can_edit(user)
    contact_q = _contact_query(request)
    contacts, more_contacts = [], False
    if can_edit:  # only the forms, which readers do not get, list contacts to pick from
        # The buying team first: they are who usually takes part in the deal's activities.
        on_team = Exists(BuyingTeamMember.objects.filter(opportunity=opp, contact=OuterRef("pk")))
        contacts, more_contacts = _latest(
            Contact.objects.filter(account_id=opp.account_id)
            .matching(contact_q)
            .annotate(on_team=on_team)
            .order_by("-on_team", "last_name", "first_name", "id"),
            CONTACT_PICK_LIMIT,
        )
    events, more_events = _latest(
        OpportunityEvent.objects.filter(opportunity=opp).select_related("actor").order_by("-created_at", "-id")
    )
    _localize_times(events, "created_at")
    reasons = []
    if can_edit or opp.lost_reason_id:
        # The deal's own lost reason comes along even if an admin has retired it since.
        reasons = list(LostReason.objects.filter(Q(is_active=True) | Q(pk=opp.lost_reason_id)))
        opp.lost_reason = next((r for r in reasons if r.pk == opp.lost_reason_id), None)
    deal_competitors = list(DealCompetitor.objects.filter(opportunity=opp).select_related("competitor"))
    competitor_choices = []
    if can_edit:  # the pickers (in play, lost to, beaten) are for those who may change the deal
        competitor_choices = list(Competitor.objects.filter(Q(is_active=True) | Q(pk=opp.lost_to_id)))
    opp.lost_to = next((dc.competitor for dc in deal_competitors if dc.competitor_id == opp.lost_to_id), None)
    opp.page_rows = {"buying_team": team, "competitors": deal_competitors, "stages": stages}
    context = {
        "opp": opp,
        "badges": deal_badges(opp),
        "panels": deal_panels(opp, user, inline=request.GET.get("panel", "")),
        "coverage": deal_coverage(opp, stages=stages, team=team, now=timezone.now()),
        "stages": stages,
        "current_stage": stages[current_index] if stages else None,
        "next_stage": stages[current_index + 1] if current_index + 1 < len(stages) else None,
        "activities": activities,
        "more_activities": more_activities,
        "buying_team": team,
        "contacts": contacts,
        "more_contacts": more_contacts,
        "contact_q": contact_q,
        "contact_pick_limit": CONTACT_PICK_LIMIT,
        "events": events,
        "more_events": more_events,
        "can_edit": can_edit,
        "can_override": can_override(user, opp),
        "can_reopen": opp.is_closed and can_reopen(user, opp),
        # Read only where it is shown: the organisation's settings cost a query.
        "reopen_days": user.reopen_days() if opp.is_closed and opp.owner_id == user.pk else None,
        "reopen_form": ReopenForm(),
        "step_state": opp.next_step_state(),
        "lost_reasons": [r for r in reasons if r.is_active],
        "deal_competitors": deal_competitors,
        "competitor_choices": [c for c in competitor_choices if c.is_active],
        "competitor_statuses": DealCompetitorStatus.choices,
        "competitor_remove_url": _row_url("opportunities:competitor_remove", opp.pk),
        "next_step_form": NextStepForm(),
        "activity_kinds": Activity._meta.get_field("kind").choices,
        "buying_roles": BuyingRole.choices,
        "deal_url": None,  # the shared timeline links activities to their deal on account pages only
        "milestone_url": _row_url("opportunities:milestone_toggle", opp.pk),
        "team_remove_url": _row_url("opportunities:buying_team_remove", opp.pk),
        "contact_url": _row_url("opportunities:contact_detail"),
    }
    context.update(extra)
    return context


def _render_deal(request, opp: Opportunity, *, status: int = 200, **extra):
    template = "opportunities/_deal.html" if request.htmx and not request.htmx.boosted else "opportunities/detail.html"
    return render(request, template, _deal_context(request, opp, **extra), status=status)


@require_http_methods(["GET"])
def opportunity_detail(request, pk: int):
    return _render_deal(request, _opportunity(request, pk))


@require_http_methods(["GET"])
def opportunity_panel(request, pk: int, name: str):
    """One lazy panel of the deal page, which loads it right after itself (htmx); without
    JavaScript the page's link asks for the whole page with the panel inline instead."""
    opp = _opportunity(request, pk)
    panel = deal_panel(name)
    if panel is None or not panel.lazy:
        raise Http404("No such panel.")
    if not request.htmx:
        return redirect(f"{reverse('opportunities:detail', args=[opp.pk])}?panel={name}#{name}")
    context = panel.context(opp, request.user)
    if context is None:
        return HttpResponse("")
    return render(request, panel.template, {"opp": opp, "panel": context})


@require_http_methods(["GET"])
def opportunity_history(request, pk: int):
    """Every event of the deal, newest first, a page at a time."""
    opp = _opportunity(request, pk)
    events = OpportunityEvent.objects.filter(opportunity=opp).select_related("actor").order_by("-created_at", "-id")
    page = Paginator(events, _page_size(request)).get_page(request.GET.get("page"))
    _localize_times(page.object_list, "created_at")
    return render(
        request,
        "opportunities/history.html",
        {"opp": opp, "page": page, "query": _query_without(request, "page")},
    )


@require_http_methods(["GET"])
def opportunity_activities(request, pk: int):
    """Every activity logged on the deal, newest first, a page at a time."""
    opp = _opportunity(request, pk)
    activities = (
        Activity.objects.filter(opportunity=opp)
        .select_related("created_by")
        .prefetch_related("contacts")
        .order_by("-occurred_at", "-id")
    )
    if request.GET.get("format") == "csv":  # every activity, not one page
        return activities_csv_response(
            activities.select_related("account", "opportunity"), filename=f"deal-{opp.pk}-activities.csv"
        )
    page = Paginator(activities, _page_size(request)).get_page(request.GET.get("page"))
    _localize_times(page.object_list, "occurred_at")
    return render(
        request,
        "opportunities/activity_list.html",
        {"opp": opp, "page": page, "query": _query_without(request, "page")},
    )


@require_http_methods(["GET", "POST"])
def opportunity_create(request):
    user = request.user
    owners = _owner_choices(user)
    picked = parse_int((request.POST if request.method == "POST" else request.GET).get("account"))
    picked_account = Account.objects.for_user(user).filter(pk=picked).first() if picked else None
    initial = {"account": picked_account.pk} if picked_account else {}
    form = OpportunityForm(_posted(request), user=user, owner_choices=owners, initial=initial)
    # The account picker: the chosen account, then the matches of `account_q` (type-ahead, or
    # "Find" without JavaScript).
    account_q = _search_text(request, "account_q")
    matches = _accounts_matching(user, account_q) if account_q and request.method == "GET" else []
    choices = [picked_account] if picked_account else []
    picker = {
        "account_q": account_q,
        "account_choices": choices + [a for a in matches if a not in choices],
        "picked": picked_account.pk if picked_account else None,
    }

    def write(data):
        return services.opportunity_create(
            actor=request.user,
            account=data["account"],
            process=data["process"],
            name=data["name"],
            amount=data["amount"],
            expected_close_date=data["expected_close_date"],
            owner=data.get("owner") or request.user,
            source=data["source"],
            next_step_description=data["next_step_description"],
            next_step_due_date=data["next_step_due_date"],
        )

    return form_page(
        request,
        form,
        write=write,
        done=lambda opp: (f"Created “{opp.name}”.", redirect("opportunities:detail", pk=opp.pk)),
        template="opportunities/opportunity_form.html",
        context=picker,
    )


@require_http_methods(["GET", "POST"])
def opportunity_edit(request, pk: int):
    opp = _opportunity(request, pk, write=True)
    user = request.user
    owners = _owner_choices(user) if (user.is_admin or user.is_manager) else None
    initial = {
        "version": opp.version,
        "name": opp.name,
        "amount": opp.amount,
        "expected_close_date": opp.expected_close_date,
        "description": opp.description,
        "source": opp.source,
        "owner": opp.owner_id,
        "process": opp.process_id,
        "to_stage": opp.stage_id,
    }
    form = OpportunityEditForm(_posted(request), initial=initial, owner_choices=owners, user=user)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        given = form.given()
        try:
            services.opportunity_update(
                opp,
                actor=user,
                expected_version=data["version"],
                name=data["name"],
                amount=data["amount"],
                expected_close_date=data["expected_close_date"],
                owner=given.get("owner"),
                description=given.get("description"),
                source=given.get("source"),
                account=given.get("account"),
                process=given.get("process"),
                stage=given.get("to_stage"),
                override_reason=given.get("override_reason") or "",
            )
        except ConcurrentEdit as exc:
            conflict = exc
            # Keep the user's input; the next save is checked against what they have now seen.
            form.data = form.data.copy()
            form.data["version"] = exc.current_version
            opp.refresh_from_db()
        except DomainError as exc:
            refuse(request, exc)
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Saved.")
            return redirect("opportunities:detail", pk=opp.pk)
    status = 409 if conflict else 400 if form.errors else 200
    # The account picker starts with the deal's account; without JavaScript, "Find" reloads the
    # page with the matches of `account_q`.
    account_q = _search_text(request, "account_q")
    accounts = _accounts_matching(user, account_q) if account_q and request.method == "GET" else []
    context = {
        "form": form,
        "opp": opp,
        "conflict": conflict,
        "account_q": account_q,
        "account_choices": [opp.account, *[a for a in accounts if a.pk != opp.account_id]],
        "picked": opp.account_id,
    }
    return render(request, "opportunities/opportunity_edit.html", context, status=status)


# At most this many accounts answer a type-ahead search: enough to spot the one meant.
ACCOUNT_SEARCH_LIMIT = 20


def _accounts_matching(user, text: str) -> list[Account]:
    return list(Account.objects.for_user(user).search(text).order_by("name", "id")[:ACCOUNT_SEARCH_LIMIT])


@require_http_methods(["GET"])
def account_search(request):
    """The account picker's type-ahead: the accounts the user may read whose name holds `q`, as
    the picker's options (htmx), or as a page of links without JavaScript."""
    # The picker's own field is `account_q` (a form may have a `q` of its own).
    q = _search_text(request, "q") or _search_text(request, "account_q")
    accounts = _accounts_matching(request.user, q) if q else []
    partial = request.htmx and not request.htmx.boosted
    template = "opportunities/_account_options.html" if partial else "opportunities/account_search.html"
    return render(request, template, {"accounts": accounts, "q": q, "checked": None})


# --- actions on the opportunity page -----------------------------------------------------------------


def _act(request, opp: Opportunity, call, success: str):
    """Run a service for a POST on the deal page, then redirect (or re-render for htmx)."""
    try:
        call()
    except DomainError as exc:
        refuse(request, exc)
        if request.htmx:
            return _render_deal(request, _opportunity(request, opp.pk), status=200)
        return _back_to_deal(request, opp)
    if success:
        messages.success(request, success)
    if request.htmx:
        return _render_deal(request, _opportunity(request, opp.pk))
    return _back_to_deal(request, opp)


@require_POST
def opportunity_move(request, pk: int):
    opp = _opportunity(request, pk, write=True)
    form = MoveForm(request.POST, opportunity=opp)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back_to_deal(request, opp)
    to_stage = form.cleaned_data["to_stage"]
    return _act(
        request,
        opp,
        lambda: services.opportunity_move(
            opp,
            actor=request.user,
            to_stage=to_stage,
            override_reason=form.cleaned_data["override_reason"],
            expected_version=form.cleaned_data["version"],
        ),
        f"Moved to {to_stage.name}.",
    )


@require_POST
def opportunity_close_won(request, pk: int):
    opp = _opportunity(request, pk, write=True)
    form = CloseWonForm(request.POST)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back_to_deal(request, opp)
    data = form.cleaned_data
    return _act(
        request,
        opp,
        lambda: services.opportunity_close_won(
            opp,
            actor=request.user,
            notes=data["notes"],
            override_reason=data["override_reason"],
            beaten=data["beaten"],
            expected_version=data["version"],
        ),
        "Closed won. Congratulations!",
    )


@require_POST
def opportunity_close_lost(request, pk: int):
    opp = _opportunity(request, pk, write=True)
    form = CloseLostForm(request.POST)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back_to_deal(request, opp)
    data = form.cleaned_data
    return _act(
        request,
        opp,
        lambda: services.opportunity_close_lost(
            opp,
            actor=request.user,
            reason=data["reason"],
            notes=data["notes"],
            lost_to=data["lost_to"],
            expected_version=data["version"],
        ),
        "Closed lost.",
    )


@require_http_methods(["GET", "POST"])
def opportunity_reassign(request, pk: int):
    """Hand the deal to someone else: managers within their teams, admins to anyone. The form is
    its own page (or htmx partial), so the deal page does not list everyone who could own it."""
    opp = _opportunity(request, pk, write=True)
    user = request.user
    if not (user.is_admin or user.is_manager):
        raise PermissionDenied("Only managers and admins can reassign deals.")
    form = ReassignForm(_posted(request), owner_choices=_owner_choices(user), initial={"owner": opp.owner_id})
    return form_page(
        request,
        form,
        write=lambda data: services.opportunity_reassign(opp, actor=user, owner=data["owner"]),
        done=lambda result: (f"Reassigned to {result.owner}.", redirect("opportunities:detail", pk=opp.pk)),
        template="opportunities/_reassign_form.html" if request.htmx else "opportunities/reassign.html",
        context={"opp": opp},
    )


@require_POST
def opportunity_reopen(request, pk: int):
    opp = _opportunity(request, pk)
    if not can_reopen(request.user, opp):
        raise PermissionDenied("Only the deal's manager or an admin can reopen it (its owner, soon after closing).")
    form = ReopenForm(request.POST)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back_to_deal(request, opp)
    data = form.cleaned_data
    return _act(
        request,
        opp,
        lambda: services.opportunity_reopen(
            opp,
            actor=request.user,
            next_description=data["description"],
            next_due_date=data["due_date"],
            waiting_until=data["waiting_until"],
            expected_version=data["version"],
        ),
        "Reopened, with its next step committed.",
    )


@require_POST
def milestone_toggle(request, pk: int, milestone_pk: int):
    opp = _opportunity(request, pk, write=True)
    milestone = get_object_or_404(
        Milestone.objects.select_related("stage"), pk=milestone_pk, stage__process=opp.process_id
    )
    form = MilestoneToggleForm(request.POST)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back_to_deal(request, opp)
    if form.cleaned_data["done"]:
        return _act(
            request,
            opp,
            lambda: services.milestone_tick(
                opp, actor=request.user, milestone=milestone, evidence=form.cleaned_data["evidence"]
            ),
            "",
        )
    return _act(request, opp, lambda: services.milestone_untick(opp, actor=request.user, milestone=milestone), "")


@require_POST
def next_step_set(request, pk: int):
    opp = _opportunity(request, pk, write=True)
    form = NextStepForm(request.POST)
    if not form.is_valid():
        show_form_problems(request, form)
        if request.htmx:
            return _render_deal(request, opp)
        return _back_to_deal(request, opp)
    data = form.cleaned_data
    return _act(
        request,
        opp,
        lambda: services.next_step_set(
            opp,
            actor=request.user,
            description=data["description"],
            due_date=data["due_date"],
            waiting_until=data["waiting_until"],
        ),
        "Next step committed.",
    )


@require_http_methods(["GET", "POST"])
def next_step_complete(request, pk: int):
    """Completing a step asks for the next one in the same form."""
    opp = _opportunity(request, pk, write=True)
    if opp.next_step is None:
        messages.error(request, "There is no open next step to complete.")
        return _back_to_deal(request, opp)
    form = CompleteStepForm(_posted(request))

    def write(data):
        return services.next_step_complete(
            opp,
            actor=request.user,
            next_description=data["description"],
            next_due_date=data["due_date"],
            waiting_until=data["waiting_until"],
            closing=data["then"] == "closing",
        )

    def done(step):
        if form.cleaned_data["then"] == "closing":
            # Straight to the Move or close form: closing is what happens next.
            url = reverse("opportunities:detail", args=[opp.pk]) + "#stage-actions"
            return f"Done — the deal is closing: close it by {step.due_date:%Y-%m-%d}.", redirect(url)
        if form.cleaned_data["waiting_until"]:
            return f"Done — waiting on the buyer until {step.due_date:%Y-%m-%d}.", _back_to_deal(request, opp)
        return "Done — and the next step is committed.", _back_to_deal(request, opp)

    return form_page(
        request,
        form,
        write=write,
        done=done,
        template="opportunities/_complete_step.html" if request.htmx else "opportunities/complete_step.html",
        context={"opp": opp},
        on_field=False,
    )


@require_POST
def activity_log(request, pk: int):
    opp = _opportunity(request, pk, write=True)
    form = ActivityForm(request.POST, account=opp.account)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back_to_deal(request, opp) if not request.htmx else _render_deal(request, opp)
    data = form.cleaned_data
    return _act(
        request,
        opp,
        lambda: _log_activity(request, data, opportunity=opp),
        "Activity logged.",
    )


@require_POST
def buying_team_add(request, pk: int):
    opp = _opportunity(request, pk, write=True)
    form = BuyingTeamForm(request.POST, account=opp.account)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back_to_deal(request, opp) if not request.htmx else _render_deal(request, opp)
    data = form.cleaned_data

    def add():
        from django.db import transaction

        with transaction.atomic():
            contact = data["contact"] or services.contact_create(
                actor=request.user,
                account=opp.account,
                first_name=data["first_name"],
                last_name=data["last_name"],
                title=data["title"],
                email=data["email"],
            )
            services.buying_team_add(opp, actor=request.user, contact=contact, roles=data["roles"])

    return _act(request, opp, add, "Buying team updated.")


@require_POST
def buying_team_remove(request, pk: int, contact_pk: int):
    opp = _opportunity(request, pk, write=True)
    contact = get_object_or_404(Contact.objects.filter(account_id=opp.account_id), pk=contact_pk)
    return _act(request, opp, lambda: services.buying_team_remove(opp, actor=request.user, contact=contact), "Removed.")


@require_POST
def competitor_set(request, pk: int):
    opp = _opportunity(request, pk, write=True)
    form = DealCompetitorForm(request.POST)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back_to_deal(request, opp) if not request.htmx else _render_deal(request, opp)
    data = form.cleaned_data
    return _act(
        request,
        opp,
        lambda: services.deal_competitor_set(
            opp, actor=request.user, competitor=data["competitor"], status=data["status"]
        ),
        "Competitors updated.",
    )


@require_POST
def competitor_remove(request, pk: int, competitor_pk: int):
    opp = _opportunity(request, pk, write=True)
    competitor = get_object_or_404(Competitor, pk=competitor_pk)
    return _act(
        request,
        opp,
        lambda: services.deal_competitor_remove(opp, actor=request.user, competitor=competitor),
        "Competitor removed.",
    )


# --- accounts and contacts ---------------------------------------------------------------------------


def _account_activities(user, account: Account):
    return (
        Activity.objects.for_user(user)
        .filter(account=account)
        .select_related("created_by", "opportunity")
        .prefetch_related("contacts")
        .order_by("-occurred_at", "-id")
    )


@require_http_methods(["GET"])
def account_detail(request, pk: int):
    account = _account(request, pk)
    user = request.user
    # Open deals first (what is being worked), then by close date.
    deals = (
        Opportunity.objects.for_user(user)
        .filter(account=account)
        .select_related("stage", "owner")
        .order_by(
            Case(When(status="open", then=Value(0)), default=Value(1), output_field=IntegerField()),
            "expected_close_date",
            "id",
        )
    )
    deals_page = Paginator(deals, ACCOUNT_PAGE_SIZE).get_page(request.GET.get("deals_page"))
    activities, more_activities = _latest(_account_activities(user, account))
    _localize_times(activities, "occurred_at")
    contact_q = _contact_query(request)
    contacts = account.contacts.matching(contact_q).order_by("last_name", "first_name", "id")
    contacts_page = Paginator(contacts, ACCOUNT_PAGE_SIZE).get_page(request.GET.get("contacts_page"))
    pick, more_pick = _latest(contacts, CONTACT_PICK_LIMIT)
    history, more_history = _latest(_account_history(account))
    _localize_times(history, "created_at")
    return render(
        request,
        "opportunities/account_detail.html",
        {
            "account": account,
            "deals": deals_page,
            "deals_query": _query_without(request, "deals_page"),
            "activities": activities,
            "more_activities": more_activities,
            "contacts": contacts_page,
            "contacts_query": _query_without(request, "contacts_page"),
            "contact_q": contact_q,
            "pick_contacts": pick,
            "more_contacts": more_pick,
            "contact_pick_limit": CONTACT_PICK_LIMIT,
            "can_edit": account.can_edit(user),
            "activity_kinds": Activity._meta.get_field("kind").choices,
            "deal_url": _row_url("opportunities:detail"),
            "contact_edit_url": _row_url("opportunities:contact_edit"),
            "contact_url": _row_url("opportunities:contact_detail"),
            "history": history,
            "more_history": more_history,
            # The account plan (`opportunities.accounts`), written through `account_views`.
            **plan_context(account, user=user, now=timezone.now()),
            "team_remove_url": _row_url("opportunities:account_team_remove", account.pk),
        },
    )


def _account_history(account: Account):
    """The audit trail of the account and its contacts, newest first."""
    return AccountEvent.objects.filter(account=account).select_related("actor").order_by("-created_at", "-id")


@require_http_methods(["GET"])
def account_history(request, pk: int):
    """Every change to the account and its contacts, newest first, a page at a time."""
    account = _account(request, pk)
    page = Paginator(_account_history(account), _page_size(request)).get_page(request.GET.get("page"))
    _localize_times(page.object_list, "created_at")
    return render(
        request,
        "opportunities/account_history.html",
        {"account": account, "page": page, "query": _query_without(request, "page")},
    )


@require_http_methods(["GET"])
def account_activities(request, pk: int):
    """Every activity on the account that the user may see, newest first, a page at a time."""
    account = _account(request, pk)
    activities = _account_activities(request.user, account)
    if request.GET.get("format") == "csv":  # every activity the user may see, not one page
        return activities_csv_response(
            activities.select_related("account"), filename=f"account-{account.pk}-activities.csv"
        )
    page = Paginator(activities, _page_size(request)).get_page(request.GET.get("page"))
    _localize_times(page.object_list, "occurred_at")
    return render(
        request,
        "opportunities/activity_list.html",
        {
            "account": account,
            "page": page,
            "query": _query_without(request, "page"),
            "deal_url": _row_url("opportunities:detail"),
        },
    )


@require_http_methods(["GET", "POST"])
def account_create(request):
    form = AccountForm(_posted(request), initial={"status": "target"})
    return form_page(
        request,
        form,
        write=lambda data: services.account_create(actor=request.user, **data),
        done=lambda account: (
            f"Created account “{account.name}”.",
            redirect("opportunities:account_detail", pk=account.pk),
        ),
        template="opportunities/account_form.html",
        on_field=False,
    )


@require_http_methods(["GET", "POST"])
def account_edit(request, pk: int):
    account = _account(request, pk, write=True)
    user = request.user
    initial = {f: getattr(account, f) for f in services.ACCOUNT_FIELDS} | {"owner": account.owner_id}
    owners = None
    if user.is_admin or user.is_manager:
        # The current owner stays a valid choice even when they could not be chosen anew.
        owners = _owner_choices(user) | get_user_model().objects.filter(pk=account.owner_id)
    form = AccountForm(_posted(request), initial=initial, owner_choices=owners)
    return form_page(
        request,
        form,
        write=lambda data: services.account_update(account, actor=request.user, **data),
        done=lambda _: ("Saved.", redirect("opportunities:account_detail", pk=account.pk)),
        template="opportunities/account_form.html",
        context={"account": account},
        on_field=False,
    )


@require_POST
def account_activity_log(request, pk: int):
    account = _account(request, pk)
    form = ActivityForm(request.POST, account=account)
    if form.is_valid():
        data = form.cleaned_data
        try:
            _log_activity(request, data, account=account)
        except DomainError as exc:
            refuse(request, exc)
        else:
            messages.success(request, "Activity logged.")
    else:
        show_form_problems(request, form)
    return redirect("opportunities:account_detail", pk=account.pk)


@require_http_methods(["GET", "POST"])
def contact_create(request, pk: int):
    account = _account(request, pk)
    form = ContactForm(_posted(request))
    return form_page(
        request,
        form,
        write=lambda data: services.contact_create(actor=request.user, account=account, **data),
        done=lambda _: ("Contact added.", redirect("opportunities:account_detail", pk=account.pk)),
        template="opportunities/contact_form.html",
        context={"account": account},
        on_field=False,
    )


@require_http_methods(["GET", "POST"])
def contact_edit(request, pk: int):
    contact = get_readable(Contact.objects.select_related("account", "account__owner"), request.user, pk, write=True)
    initial = {f: getattr(contact, f) for f in services.CONTACT_FIELDS}
    form = ContactForm(_posted(request), initial=initial)
    return form_page(
        request,
        form,
        write=lambda data: services.contact_update(contact, actor=request.user, **data),
        done=lambda _: ("Contact saved.", redirect("opportunities:contact_detail", pk=contact.pk)),
        template="opportunities/contact_form.html",
        context={"account": contact.account, "contact": contact},
        on_field=False,
    )


@require_http_methods(["GET"])
def contact_list(request):
    """The contacts the user may see, by name; a search narrows them by name, title, email."""
    q = _search_text(request, "q")
    data = request.GET.copy()
    if "q" in data:
        data["q"] = q  # as cleaned (no NUL, no invisible characters) and cut, not as typed
    contacts = ContactFilter(data, request=request).page_rows().select_related("account")
    if request.GET.get("format") == "csv":
        return contacts_csv_response(contacts.iterator(chunk_size=2000))
    page = Paginator(contacts, _page_size(request)).get_page(request.GET.get("page"))
    return render(
        request,
        "opportunities/contact_list.html",
        {
            "page": page,
            "q": q,
            "query": _query_without(request, "page"),
            "account_url": _row_url("opportunities:account_detail"),
        },
    )


@require_http_methods(["GET"])
def contact_detail(request, pk: int):
    """A contact: their deals and roles there, what was shared with them, their activities."""
    user = request.user
    contact = get_object_or_404(Contact.objects.for_user(user).select_related("account", "account__owner"), pk=pk)
    roles = (
        BuyingTeamMember.objects.filter(contact=contact, opportunity__in=Opportunity.objects.for_user(user))
        .select_related("opportunity", "opportunity__stage", "opportunity__owner")
        .order_by("-opportunity__status", "opportunity__expected_close_date", "opportunity_id")
    )
    activities = (
        Activity.objects.for_user(user)
        .filter(contacts=contact)
        .select_related("created_by", "opportunity")
        .prefetch_related("contacts")
        .order_by("-occurred_at", "-id")
    )
    latest, more_activities = _latest(activities)
    _localize_times(latest, "occurred_at")
    # Content shared with them is asked for apart: a busy contact's latest activities may hold none.
    shared, more_shared = _latest(activities.filter(kind=ActivityKind.CONTENT_SHARED).prefetch_related(None))
    _localize_times(shared, "occurred_at")
    return render(
        request,
        "opportunities/contact_detail.html",
        {
            "contact": contact,
            "roles": roles,
            "activities": latest,
            "more_activities": more_activities,
            "shared": shared,
            "more_shared": more_shared,
            "can_edit": contact.can_edit(user),
            "deal_url": _row_url("opportunities:detail"),
        },
    )


@require_http_methods(["GET"])
def search(request):
    """The global search: deals, accounts and contacts the user may see. Without `kind`, the
    first few of each; with it, one kind a page at a time."""
    q = _search_text(request, "q")
    kind = request.GET.get("kind")
    kind = kind if kind in global_search.KINDS else None
    results = global_search.search(
        request.user,
        q,
        kind=kind,
        page=request.GET.get("page") if kind else 1,
        per_page=_page_size(request) if kind else SEARCH_PREVIEW,
    )
    return render(
        request,
        "opportunities/search.html",
        {
            "q": results.text,
            "kind": kind,
            "results": results,
            "query": _query_without(request, "page"),
            "deal_url": _row_url("opportunities:detail"),
            "account_url": _row_url("opportunities:account_detail"),
            "contact_url": _row_url("opportunities:contact_detail"),
        },
    )
