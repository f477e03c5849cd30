"""The post-mortem pages: a review (its facts, the owner's form, the manager's decision), the
review queue, the lessons, and the win/loss analysis with the deals behind each figure."""

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Value, When
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST

from opportunities.csv_export import csv_response, neutralise
from opportunities.errors import DomainError
from opportunities.form_pages import refuse
from people.access import visible_owner_q
from people.models import User

from . import services, winloss
from .forms import DecideForm, LessonFormSet, QueueFilterForm, ReviewForm, lesson_choices, lessons_of
from .models import Lesson, LessonEndorsement, Review, ReviewEvent, ReviewState

PAGE_SIZE = 25
STATE_ORDER = Case(
    *(When(state=state, then=Value(i)) for i, state in enumerate(ReviewState.values)), output_field=IntegerField()
)


def _review(request, pk: int) -> Review:
    return get_object_or_404(
        Review.objects.for_user(request.user).select_related(
            "opportunity__account", "opportunity__process", "author", "reviewer", "primary_reason", "secondary_reason"
        ),
        pk=pk,
    )


def _initial(review: Review) -> tuple[dict, list[dict]]:
    decisive = {True: "yes", False: "no"}.get(review.competitor_decisive, "")
    initial = {
        "primary_reason": review.primary_reason_id,
        "secondary_reason": review.secondary_reason_id,
        "decisive_milestone": review.decisive_milestone_id,
        "competitor_decisive": decisive,
        "went_right": review.went_right,
        "went_wrong": review.went_wrong,
    }
    lessons = [
        {
            "text": lesson.text,
            "stage": lesson.stage_id,
            "milestone": lesson.milestone_id,
            "industry": lesson.industry,
            "competitor": lesson.competitor_id,
            "buying_role": lesson.buying_role,
        }
        for lesson in review.lessons.order_by("id")
    ]
    return initial, lessons


@require_http_methods(["GET", "POST"])
def review_detail(request, pk: int):
    """The review: the deal's facts, what the owner wrote (a form while they may edit it), the
    manager's decision and the audit trail. POST saves the owner's form, and submits it when
    the "submit" button was used: both or nothing."""
    review = _review(request, pk)
    user = request.user
    may_write = services.can_write(user, review)
    if request.method == "POST" and not may_write:
        raise PermissionDenied("Only the deal's owner writes its post-mortem.")
    initial, lesson_initial = _initial(review)
    posted = request.POST if request.method == "POST" else None
    form = ReviewForm(posted, initial=initial, review=review)
    formset = LessonFormSet(
        posted, initial=lesson_initial, prefix="lessons", form_kwargs={"choices": lesson_choices(review)}
    )
    status = 200
    if posted is not None:
        if form.is_valid() and formset.is_valid():
            submitting = "submit" in request.POST
            try:
                with transaction.atomic():
                    services.review_save(review, actor=user, lessons=lessons_of(formset), **form.service_fields())
                    if submitting:
                        services.review_submit(review, actor=user)
            except DomainError as exc:
                refuse(request, exc)
                status = 400
            else:
                messages.success(request, "Submitted to your manager." if submitting else "Saved.")
                return redirect("postmortem:review", pk=review.pk)
        else:
            messages.error(request, "Please correct the errors below.")
            status = 400
    context = {
        "review": review,
        "opp": review.opportunity,
        "facts": review.facts,
        "form": form,
        "formset": formset,
        "may_write": may_write and review.is_editable,
        "may_decide": (services.can_review(user, review) and review.author_id != user.pk) or user.is_admin,
        "decide_form": DecideForm(),
        "lessons": review.lessons.select_related("stage", "milestone", "competitor").order_by("id"),
        "events": ReviewEvent.objects.filter(review=review).select_related("actor").order_by("created_at", "id"),
        "overdue": review.is_overdue(timezone.localdate()),
        "missing": services.missing_fields(review) if review.is_editable else [],
    }
    return render(request, "postmortem/review.html", context, status=status)


@require_POST
def review_decide(request, pk: int):
    review = _review(request, pk)
    if not services.can_review(request.user, review):
        raise PermissionDenied("Only the owner's manager or an admin reviews this post-mortem.")
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to accept the review or to request changes.")
        return redirect("postmortem:review", pk=review.pk)
    data = form.cleaned_data
    try:
        if data["decision"] == "accept":
            services.review_accept(review, actor=request.user, comments=data["comments"])
            messages.success(request, "Accepted: its lessons now show on matching deals.")
        else:
            services.review_request_changes(review, actor=request.user, comments=data["comments"])
            messages.success(request, "Sent back to the owner.")
    except DomainError as exc:
        refuse(request, exc)
    return redirect("postmortem:review", pk=review.pk)


@require_POST
def review_close(request, pk: int):
    review = _review(request, pk)
    if not services.can_review(request.user, review):
        raise PermissionDenied("Only the owner's manager or an admin closes this post-mortem.")
    try:
        services.review_close(review, actor=request.user)
    except DomainError as exc:
        refuse(request, exc)
    else:
        messages.success(request, "Closed.")
    return redirect("postmortem:review", pk=review.pk)


@require_http_methods(["GET"])
def review_queue(request):
    """The reviews to work on: a rep's own; a manager's teams' (and own); an admin's all; by
    state, then the oldest due first."""
    user = request.user
    reviews = Review.objects.for_user(user).exclude(state=ReviewState.CANCELLED)
    if not user.is_admin:
        mine = Q(author=user)
        if user.managed_team_ids():
            mine |= Q(author__team__in=user.managed_team_ids())
        reviews = reviews.filter(mine)
    form = QueueFilterForm(request.GET or None)
    state = form.cleaned_data.get("state") if form.is_bound and form.is_valid() else ""
    counts = dict(reviews.values_list("state").annotate(n=Count("pk")).order_by())
    if state:
        reviews = reviews.filter(state=state)
    reviews = reviews.select_related("opportunity", "author").order_by(STATE_ORDER, "due_on", "id")
    if request.GET.get("format") == "csv":
        return csv_response(
            "post-mortems.csv",
            ("id", "deal", "outcome", "author", "state", "due_on", "opened_at"),
            (
                [
                    r.pk,
                    r.opportunity.name,
                    r.outcome,
                    str(r.author),
                    r.state,
                    r.due_on.isoformat(),
                    r.opened_at.isoformat(),
                ]
                for r in reviews
            ),
        )
    page = Paginator(reviews, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for review in page.object_list:
        review.age_days = (today - timezone.localdate(review.opened_at)).days
        review.overdue = review.is_overdue(today)
    states = [{"value": v, "label": label, "count": counts.get(v, 0)} for v, label in ReviewState.choices]
    query = urlencode({"state": state}) if state else ""
    return render(
        request,
        "postmortem/queue.html",
        {"page": page, "form": form, "state": state, "states": states[:-1], "query": query},
    )


def lessons_annotated(lessons, user):
    return lessons.select_related("stage", "milestone", "competitor", "review__author", "review__opportunity").annotate(
        endorsement_count=Count("endorsements", distinct=True),
        endorsed_by_me=Exists(LessonEndorsement.objects.filter(lesson=OuterRef("pk"), user=user)),
    )


@require_http_methods(["GET"])
def lesson_list(request):
    lessons = lessons_annotated(Lesson.objects.for_user(request.user).shown(), request.user).order_by(
        "-endorsement_count", "-created_at", "-id"
    )
    page = Paginator(lessons, PAGE_SIZE).get_page(request.GET.get("page"))
    for lesson in page.object_list:
        lesson.can_retire = request.user.is_admin or (
            request.user.is_manager and request.user.manages(lesson.review.author)
        )
    return render(request, "postmortem/lessons.html", {"page": page, "query": ""})


def _back(request, default: str):
    target = request.POST.get("next", "")
    # Only a path of this site: anything else (another host, a bare word `redirect` would take
    # for a view name) goes to the default.
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return redirect(default)


@require_POST
def lesson_endorse(request, pk: int):
    lesson = get_object_or_404(Lesson.objects.for_user(request.user), pk=pk)
    try:
        services.lesson_endorse(lesson, actor=request.user)
    except DomainError as exc:
        refuse(request, exc)
    else:
        messages.success(request, "Endorsed.")
    return _back(request, reverse("postmortem:lessons"))


@require_POST
def lesson_retire(request, pk: int):
    lesson = get_object_or_404(Lesson.objects.for_user(request.user).select_related("review__author"), pk=pk)
    if not (request.user.is_admin or (request.user.is_manager and request.user.manages(lesson.review.author))):
        raise PermissionDenied("Only the author's manager or an admin retires a lesson.")
    try:
        services.lesson_retire(lesson, actor=request.user)
    except DomainError as exc:
        refuse(request, exc)
    else:
        messages.success(request, "Retired: it no longer shows on deals.")
    return _back(request, reverse("postmortem:lessons"))


# --- win/loss ---------------------------------------------------------------------------------------


def _filters(request):
    form = winloss.WinLossFilterForm(request.GET or None, today=timezone.localdate())
    filters = form.usable()
    # A team or rep outside what the user may see: 404, as on the dashboard.
    if filters["team"] and not winloss.teams_for(request.user).filter(pk=filters["team"]).exists():
        raise Http404("No such team among those you may see.")
    if (
        filters["rep"]
        and not User.objects.filter(visible_owner_q(request.user, prefix=None), pk=filters["rep"]).exists()
    ):
        raise Http404("No such rep among those you may see.")
    return form, filters


def _filter_query(filters: dict) -> str:
    params = {"start": filters["start"].isoformat(), "end": filters["end"].isoformat()}
    for name in ("process", "team", "rep"):
        if filters.get(name):
            params[name] = filters[name]
    return urlencode(params)


@require_http_methods(["GET"])
def winloss_page(request):
    form, filters = _filters(request)
    result = winloss.analysis(request.user, filters)
    if request.GET.get("format") == "csv":
        return _csv(result, filters)
    for block in result["breakdowns"]:
        peak = max((r["total"] for r in block["rows"]), default=0) or 1
        for row in block["rows"]:
            row["won_width"] = round(300 * row["won"] / peak)
            row["lost_width"] = round(300 * row["lost"] / peak)
    context = {
        "form": form,
        "filters": filters,
        "filter_query": _filter_query(filters),
        "result": result,
        "teams": winloss.teams_for(request.user),
        "reps": User.objects.filter(visible_owner_q(request.user, prefix=None), is_active=True).order_by(
            "first_name", "last_name", "username"
        ),
    }
    return render(request, "postmortem/winloss.html", context)


def _csv(result: dict, filters: dict) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"win-loss-{filters['start']:%Y%m%d}-{filters['end']:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(["breakdown", "value", "won", "lost", "total", "win rate %"])
    overall = result["overall"]
    writer.writerow(["all", "All closed deals", overall["won"], overall["lost"], overall["total"], overall["win_rate"]])
    for block in result["breakdowns"]:
        for row in block["rows"]:
            writer.writerow(
                [
                    block["dimension"].name,
                    neutralise(row["label"]),
                    row["won"],
                    row["lost"],
                    row["total"],
                    row["win_rate"],
                ]
            )
    for row in result["decisive"]:
        writer.writerow(
            ["decisive milestone", neutralise(row["label"]), row["won"], row["lost"], row["total"], row["win_rate"]]
        )
    for row in result["lost_to_by_stage"]:
        writer.writerow(
            ["lost to, by stage", neutralise(f"{row['stage']}: {row['competitor']}"), 0, row["count"], row["count"], 0]
        )
    cycle = result["cycle"]
    writer.writerow(["average cycle days", "won", cycle["won"], "", "", ""])
    writer.writerow(["average cycle days", "lost", cycle["lost"], "", "", ""])
    return response


@require_http_methods(["GET"])
def winloss_deals(request):
    """The deals behind a figure of the analysis."""
    form, filters = _filters(request)
    selections = {name: request.GET.get(name, "") for name in winloss.ALL_DIMENSIONS if request.GET.get(name)}
    outcome = request.GET.get("outcome", "")
    deals = (
        winloss.deals_behind(request.user, filters, selections=selections, outcome=outcome)
        .select_related("account", "owner", "closed_stage", "lost_to")
        .order_by("-closed_on", "-id")
    )
    page = Paginator(deals, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    described = [f"{winloss.ALL_DIMENSIONS[n].label}: {v}" for n, v in selections.items()]
    if outcome in ("won", "lost"):
        described.append(outcome)
    return render(
        request,
        "postmortem/winloss_deals.html",
        {
            "page": page,
            "query": query.urlencode(),
            "filters": filters,
            "filter_query": _filter_query(filters),
            "described": described,
        },
    )
