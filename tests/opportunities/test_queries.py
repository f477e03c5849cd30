"""N+1 guards: each list page and each detail page runs the same number of SQL queries whether
it shows a few rows or many, and stays under a fixed ceiling.

Each test measures a page at a small data size, grows the data tenfold (with the related rows a
page might load lazily: next steps, activities with contacts, buying team members, ticked
milestones, events, owners in other teams), measures again and compares. A warm-up request
first takes one-off queries (such as creating the organisation settings row) out of the count.

The ceilings are today's counts, pinned like netbox's query_counts.json: a page that needs a
new query should raise its ceiling in the same commit, on purpose. Each full page runs the
session, the user, the visibility lookup (org settings or managed teams) and the unread
notification count for the bell, then its own queries: my deals = count + page + open
health flags + one per registered column set (guidance's signals) + the process and stage
filter choices; account list = count + page (with each
account's health in it) + the industry and owner filter choices; deal page
= deal, stages, milestones, ticks, open flags, the latest activities, their contacts, buying
team, the contacts to pick from, the latest events, lost reasons, the competitors in play and
(for who may change the deal) the competitor list, the lessons that match it when asked for
inline (the lessons, their milestones, competitors and deals), the "For this step" panel when
asked for inline (the aids with their role tags and competitors in play, the stage's
playbooks), the ROI calculator
(calculator, its inputs, the deal's latest results) and the buying-team coverage (the stages'
role requirements, the last touch of each contact on the deal); account page = account,
count + page of deals, the latest activities, their contacts, count + page of contacts, and
the contacts to pick from, and the account plan (objectives, next step, health, known buying
team, whitespace); a deal's full history = deal, count + page; a deal's or an
account's full activity list = deal or account, count + page, their contacts.
"""

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aids.models import Aid, AidKind, AidStatus, AidTag, Playbook, TagKind
from opportunities import services
from opportunities.models import (
    BuyingTeamMember,
    Competitor,
    DealCompetitor,
    EventVerb,
    MilestoneCompletion,
    Opportunity,
    OpportunityEvent,
)
from opportunities.views import ACCOUNT_PAGE_SIZE, LATEST_SHOWN
from people.models import Role
from pipeline.models import Flag, FlagKind
from postmortem.models import Lesson, LessonEndorsement, Review
from roi.models import Result
from stages.models import Milestone
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    NextStepFactory,
    OpportunityFactory,
    UserFactory,
    make_process,
)
from tests.roi.world import calculator_for

SMALL, LARGE = 3, 30
HTMX = {"HTTP_HX_REQUEST": "true"}
_seq = itertools.count()


def queries(client, url, params=None, **extra) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {}, **extra)
    assert response.status_code == 200, response.status_code
    return len(ctx), response.content.decode()


def links(html: str, kind: str) -> int:
    return len(re.findall(rf'href="/{kind}/\d+/"', html))


def assert_flat(small: tuple[int, str], large: tuple[int, str], ceiling: int, page: str) -> None:
    (n_small, _), (n_large, _) = small, large
    assert n_small == n_large, f"{page}: {n_small} queries for {SMALL} rows but {n_large} for {LARGE} (N+1)"
    assert n_large <= ceiling, f"{page}: {n_large} queries, more than the ceiling of {ceiling}"


def full_deal(*, owner, account, process, now):
    """A deal with an open and a done next step, an activity with two contacts, a buying team
    member, a ticked milestone, events and two health flags (one open, one resolved).

    Rows are written directly: this is about what pages read, and the services (with their
    listeners) would make the large data set slow to build.
    """
    n = next(_seq)
    stage = process.stages.order_by("order").first()
    opp = OpportunityFactory(
        owner=owner,
        account=account,
        process=process,
        stage=stage,
        name=f"Deal {n:03d}",
        amount=Decimal(1000 + n),
        expected_close_date=now.date() + dt.timedelta(days=1 + n % 60),
    )
    NextStepFactory(opportunity=opp, completed_at=now, completed_by=owner, due_date=now.date())
    opp.next_step = NextStepFactory(opportunity=opp, due_date=now.date() + dt.timedelta(days=n % 3 - 1))
    opp.save(update_fields=["next_step"])
    people = [ContactFactory(account=account), ContactFactory(account=account)]
    ActivityFactory(account=account, opportunity=opp, created_by=owner).contacts.set(people)
    BuyingTeamMember.objects.create(opportunity=opp, contact=people[0], roles=["champion", "user"])
    MilestoneCompletion.objects.create(opportunity=opp, milestone=stage.milestones.first(), completed_by=owner)
    OpportunityEvent.objects.bulk_create(
        [
            OpportunityEvent(opportunity=opp, actor=owner, verb=EventVerb.CREATED, data={"stage_name": stage.name}),
            OpportunityEvent(opportunity=opp, actor=owner, verb=EventVerb.NEXT_STEP_SET, data={"description": "x"}),
        ]
    )
    Flag.objects.create(opportunity=opp, kind=FlagKind.STUCK, detail="stuck 40 days")
    Flag.objects.create(opportunity=opp, kind=FlagKind.IDLE, detail="idle 20 days", resolved_at=now)
    return opp


# --- list pages -------------------------------------------------------------------------------------------------


def test_my_deals_queries_do_not_grow_with_rows(client_for, owner, process, now):
    def add(count):
        for _ in range(count):
            account = AccountFactory(owner=owner)
            full_deal(owner=owner, account=account, process=process, now=now)

    client = client_for(owner)
    url, params = reverse("opportunities:my_deals"), {"per_page": 50}
    add(SMALL)
    client.get(url, params)
    small = queries(client, url, params)
    add(LARGE - SMALL)
    large = queries(client, url, params)

    assert links(large[1], "deals") == LARGE
    assert large[1].count("step step-") == LARGE
    # + the bulk actions' choices: the stages and the lost reasons; + 1 for the one registered
    # column set (guidance's signals, `opportunities.hooks.DealColumns`): was 11
    assert_flat(small, large, ceiling=12, page="my deals")
    # the htmx partial and every sort run the same fixed number of queries too
    assert queries(client, url, params, **HTMX)[0] <= large[0]
    for sort in ("close", "-amount", "name", "stage", "next_step", "updated", "priority", "win"):
        assert queries(client, url, {**params, "sort": sort})[0] == large[0], sort


def test_team_deals_for_a_manager_do_not_grow_with_rows(client_for, team, manager, process, now):
    other = make_process(stages=2, milestones=1, name="Renewal")
    reps = [UserFactory(team=team) for _ in range(3)]

    def add(count):
        for i in range(count):
            rep = reps[i % len(reps)]
            full_deal(owner=rep, account=AccountFactory(owner=rep), process=(process, other)[i % 2], now=now)

    client = client_for(manager)
    url, params = reverse("opportunities:my_deals"), {"scope": "all", "per_page": 50, "status": ""}
    add(SMALL)
    client.get(url, params)
    small = queries(client, url, params)
    add(LARGE - SMALL)
    large = queries(client, url, params)

    assert links(large[1], "deals") == LARGE
    # + the bulk actions' choices: new owners, the stages and the lost reasons; + 1 for the
    # registered column set (guidance's signals): was 12
    assert_flat(small, large, ceiling=13, page="team deals")


def test_account_list_queries_do_not_grow_with_rows(client_for, owner, teammate, manager):
    def add(count):
        for i in range(count):
            AccountFactory(owner=(owner, teammate, manager)[i % 3])

    client = client_for(owner)
    url, params = reverse("opportunities:account_list"), {"per_page": 50}
    add(SMALL)
    client.get(url, params)
    small = queries(client, url, params)
    add(LARGE - SMALL)
    large = queries(client, url, params)

    assert links(large[1], "accounts") == LARGE
    assert_flat(small, large, ceiling=8, page="account list")


# --- detail pages -----------------------------------------------------------------------------------------------


def grow_deal(opp, *, actor, count, now):
    """Add `count` buying team members, activities with two contacts each (some logged by
    other people), replaced next steps and events to `opp`; at the large size, tick every
    milestone of its process."""
    others = [UserFactory(team=actor.team) for _ in range(2)]
    for i in range(count):
        contact = ContactFactory(account=opp.account)
        BuyingTeamMember.objects.create(opportunity=opp, contact=contact, roles=["user", "influencer"])
        people = list(opp.account.contacts.order_by("-id")[:2])
        ActivityFactory(account=opp.account, opportunity=opp, created_by=(actor, *others)[i % 3]).contacts.set(people)
        NextStepFactory(opportunity=opp, completed_at=now, completed_by=others[i % 2])
        OpportunityEvent.objects.create(
            opportunity=opp, actor=others[i % 2], verb=EventVerb.MILESTONE_TICKED, data={"milestone": "x"}
        )
        competitor = Competitor.objects.create(name=f"Rival {next(_seq)}")
        DealCompetitor.objects.create(opportunity=opp, competitor=competitor)
        # A lesson of an accepted post-mortem that matches the deal, endorsed by a teammate.
        review = Review.objects.create(
            opportunity=opp, outcome="won", state="accepted", is_current=False, author=actor, due_on=now.date()
        )
        lesson = Lesson.objects.create(review=review, text=f"Lesson {i}", stage=opp.stage, competitor=competitor)
        LessonEndorsement.objects.create(lesson=lesson, user=others[i % 2])
        # Sales aids for the "For this step" panel: one for the stage and the team's roles, and a
        # battle card against the new competitor; a playbook of one of the stage's milestones.
        aid = Aid.objects.create(title=f"Aid {i}", kind=AidKind.CHECKLIST, status=AidStatus.PUBLISHED, created_by=actor)
        aid.stages.add(opp.stage)
        AidTag.objects.create(aid=aid, kind=TagKind.BUYER_ROLE, value="user")
        card = Aid.objects.create(
            title=f"Card {i}", kind=AidKind.BATTLE_CARD, status=AidStatus.PUBLISHED, created_by=actor
        )
        card.competitors.add(competitor)
        milestone = opp.stage.milestones.order_by("-order").first()
        Playbook.objects.get_or_create(milestone=milestone, defaults={"how_to_run": "Agenda", "updated_by": actor})
        # A saved ROI calculation, by someone else (the panel names who saved it).
        Result.objects.create(
            opportunity=opp,
            calculator=opp.process.roi_calculator,
            values=[],
            formula="seats",
            result_label="Saving",
            result=i,
            created_by=others[i % 2],
        )
    if count > SMALL:
        for milestone in Milestone.objects.filter(stage__process=opp.process_id).exclude(completions__opportunity=opp):
            MilestoneCompletion.objects.create(opportunity=opp, milestone=milestone, completed_by=others[0])


@pytest.mark.parametrize("viewer_name", ["owner", "teammate", "manager"])
def test_deal_page_queries_do_not_grow_with_its_history(request, client_for, owner, account, process, now, viewer_name):
    calculator_for(process)
    opp = full_deal(owner=owner, account=account, process=process, now=now)
    client = client_for(request.getfixturevalue(viewer_name))
    # With a lazy panel inline, as the page is without JavaScript: the most it ever runs.
    plain = reverse("opportunities:detail", args=[opp.pk])
    url, aids_url = plain + "?panel=lessons", plain + "?panel=for-this-step"
    grow_deal(opp, actor=owner, count=SMALL, now=now)
    client.get(url)
    small, small_aids = queries(client, url), queries(client, aids_url)
    grow_deal(opp, actor=owner, count=LARGE - SMALL, now=now)
    large, large_aids = queries(client, url), queries(client, aids_url)

    assert large[1].count('class="badge role"') >= 2 * LARGE
    # 27: guidance's Signals panel reads the deal's stored signal and its qualification checklist.
    assert_flat(small, large, ceiling=27, page="deal page with its lessons")
    assert large[1].count('class="lesson"') == 5
    assert_flat(small_aids, large_aids, ceiling=28, page="deal page with its aids")
    assert large_aids[1].count('class="aid-item"') >= LARGE
    assert queries(client, url, **HTMX)[0] <= large[0]
    # Usually both panels load on their own, right after the page (opportunities.hooks.DealPanel.lazy).
    page = queries(client, plain)
    assert page[0] < min(large[0], large_aids[0])
    assert 'class="lesson"' not in page[1] and 'class="aid-item"' not in page[1]
    panel = reverse("opportunities:panel", args=[opp.pk, "lessons"])
    assert queries(client, panel, **HTMX)[1].count('class="lesson"') == 5
    panel = reverse("opportunities:panel", args=[opp.pk, "for-this-step"])
    assert queries(client, panel, **HTMX)[1].count('class="aid-item"') >= LARGE


def test_account_page_queries_do_not_grow_with_rows(client_for, owner, teammate, manager, account, process, now):
    def add(count):
        for i in range(count):
            rep = (owner, teammate)[i % 2]
            full_deal(owner=rep, account=account, process=process, now=now)
            # an account-only activity, logged by someone outside the team
            ActivityFactory(account=account, created_by=UserFactory()).contacts.set(account.contacts.all()[:2])
            # and a change to the account by someone else (its history)
            services.account_update(account, actor=UserFactory(role=Role.ADMIN), industry=f"Industry {count}-{i}")

    client = client_for(manager)
    url = reverse("opportunities:account_detail", args=[account.pk])
    add(SMALL)
    client.get(url)
    small = queries(client, url)
    add(LARGE - SMALL)
    large = queries(client, url)

    assert Opportunity.objects.filter(account=account).count() == LARGE
    # a page of deals and of contacts, and the latest activities with a link to all of them
    assert len(re.findall(r'<tr><td><a href="/deals/\d+/">', large[1])) == ACCOUNT_PAGE_SIZE
    assert f"Page 1 of 2 · {LARGE} in all" in large[1]
    assert large[1].count('class="badge kind-') == LATEST_SHOWN
    assert reverse("opportunities:account_activities", args=[account.pk]) in large[1]
    assert large[1].count("Edited the account: industry:") == LATEST_SHOWN
    assert_flat(small, large, ceiling=19, page="account page")
    # later pages of either list cost the same
    assert queries(client, url, {"deals_page": 2, "contacts_page": 3})[0] == large[0]


# --- full lists behind the deal and account pages ----------------------------------------------------------------


@pytest.mark.parametrize("viewer_name", ["owner", "manager"])
def test_deal_history_and_activities_do_not_grow_with_rows(
    request, client_for, owner, account, process, now, viewer_name
):
    calculator_for(process)
    opp = full_deal(owner=owner, account=account, process=process, now=now)
    client = client_for(request.getfixturevalue(viewer_name))
    urls = [reverse(f"opportunities:{name}", args=[opp.pk]) for name in ("history", "activities")]
    params = {"per_page": 50}
    grow_deal(opp, actor=owner, count=SMALL, now=now)
    for url in urls:
        client.get(url, params)
    small = [queries(client, url, params) for url in urls]
    grow_deal(opp, actor=owner, count=LARGE - SMALL, now=now)
    large = [queries(client, url, params) for url in urls]

    assert large[0][1].count("<time ") == OpportunityEvent.objects.filter(opportunity=opp).count()
    assert large[1][1].count('class="badge kind-') == LARGE + 1
    assert_flat(small[0], large[0], ceiling=7, page="deal history")
    assert_flat(small[1], large[1], ceiling=8, page="deal activities")


def test_account_activities_do_not_grow_with_rows(client_for, owner, teammate, manager, account, process, now):
    def add(count):
        for i in range(count):
            full_deal(owner=(owner, teammate)[i % 2], account=account, process=process, now=now)
            ActivityFactory(account=account, created_by=UserFactory()).contacts.set(account.contacts.all()[:2])

    client = client_for(manager)
    url, params = reverse("opportunities:account_activities", args=[account.pk]), {"per_page": 100}
    add(SMALL)
    client.get(url, params)
    small = queries(client, url, params)
    add(LARGE - SMALL)
    large = queries(client, url, params)

    assert large[1].count('class="badge kind-') == 2 * LARGE
    assert links(large[1], "deals") == LARGE
    assert_flat(small, large, ceiling=9, page="account activities")
