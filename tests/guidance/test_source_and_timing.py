"""The win model reads where a deal came from and when its activities happened relative to the
stages: a planted source pattern carries weight and is explained in plain words; a training row
at stage S counts only the activities from before the deal left S, on a hand-made timeline."""

import datetime as dt
import math
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guidance import learn, scoring, services
from guidance.features import NUMERIC, Catalogue, activity_counts, load_deals, row_at, training_rows
from guidance.queries import model_weights
from opportunities import services as deals
from opportunities.models import (
    ActivityKind,
    BuyingTeamMember,
    Competitor,
    DealCompetitor,
    EventVerb,
    LeadSource,
    MilestoneCompletion,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
)
from tests.factories import AccountFactory, ActivityFactory, ContactFactory, OpportunityFactory, make_process
from tests.guidance.world import open_deal

DAY = dt.timedelta(days=1)


# --- the lead source ------------------------------------------------------------------------------


def source_history(owner, *, now, n: int = 120, seed: int = 11) -> dict:
    """`n` closed deals alike in everything but their source: referrals win 85%, outbound 15%."""
    rng = random.Random(seed)
    process = make_process(stages=3, milestones=1, required=False, name="Sourced")
    stages = list(process.stages.order_by("order"))
    for i in range(n):
        referral = i % 2 == 0
        wins = rng.random() < (0.85 if referral else 0.15)
        reached = stages[-1] if wins else stages[rng.randrange(len(stages))]
        closed_on = (now - dt.timedelta(days=400 - 3 * i)).date()
        OpportunityFactory(
            owner=owner, account=AccountFactory(owner=owner, industry="Software", region=rng.choice(["N", "S"])),
            process=process, stage=reached, furthest_stage=reached, closed_stage=reached, amount=Decimal("20000"),
            status=OpportunityStatus.WON if wins else OpportunityStatus.LOST, closed_on=closed_on,
            expected_close_date=closed_on, created_at=now - dt.timedelta(days=460 - 3 * i),
            source=LeadSource.REFERRAL if referral else LeadSource.OUTBOUND,
        )  # fmt: skip
    return {"process": process, "stages": stages}


def test_the_source_is_a_feature_of_every_row(owner, now):
    history = source_history(owner, now=now, n=4)
    rows, _, _ = training_rows(load_deals(Opportunity.objects.all()), Catalogue(), now=now)
    assert {row["source"] for row in rows} == {"referral", "outbound"}
    unset = open_deal(owner, history["process"], history["stages"][0], now=now)
    (facts,) = load_deals(Opportunity.objects.filter(pk=unset.pk))
    assert row_at(facts, history["stages"][0], Catalogue(), now=now)["source"] == "unknown"


def test_a_planted_source_carries_weight_and_is_explained(owner, now):
    history = source_history(owner, now=now)
    model = services.win_model_train(now=now)
    assert {"source=referral", "source=outbound"} <= set(model.feature_names)
    weight = dict(zip(model.feature_names, model.coefficients, strict=True))
    assert weight["source=referral"] > 0.3 and weight["source=outbound"] < -0.3
    # Nothing else tells these deals apart: the source is the model's strongest factor.
    strongest = max(zip(model.feature_names, model.coefficients, strict=True), key=lambda nc: abs(nc[1]))
    assert learn.factor_of(strongest[0]) in ("source", "stage")
    assert "Came from a referral" in [row["words"] for row in model_weights(model, top=4)]

    stage = history["stages"][1]
    referred = open_deal(owner, history["process"], stage, now=now, source=LeadSource.REFERRAL)
    cold = open_deal(owner, history["process"], stage, now=now, source=LeadSource.OUTBOUND)
    services.signals_score_all(now=now)
    good, bad = (Opportunity.objects.get(pk=d.pk).signal for d in (referred, cold))
    assert good.win_probability > bad.win_probability + 15
    assert "Came from a referral" in [line["words"] for line in good.win_explanation["lines"]]
    assert "Came from outbound prospecting" in [line["words"] for line in bad.win_explanation["lines"]]


def test_source_words():
    assert scoring.describe("source", {"source": "referral"}) == "Came from a referral"
    assert scoring.describe("source", {"source": "unknown"}) == "Lead source not set"
    row = {"act_demo_before": math.log1p(2), "act_reference_call_in_stage": math.log1p(1)}
    assert scoring.describe("act_demo_before", row) == "2 demo activities before this stage"
    assert scoring.describe("act_reference_call_in_stage", row) == "1 reference call activity while in this stage"
    # A stored model from before the timings still explains itself until it is retrained.
    assert scoring.describe("act_demo", row) == "Demo activities"
    assert scoring.factor_words("act_meeting_in_stage") == "Meeting activities while in this stage"


# --- activities relative to the stages -----------------------------------------------------------


@pytest.fixture
def timeline(owner, lost_reason, now):
    """One deal through the services: Qualify (a demo, a meeting), Discover from day 10 (two
    demos), Propose from day 20 (a meeting), back to Discover on day 25 (a meeting), lost on day
    30, then a demo after the close."""
    process = make_process(stages=3, milestones=1, required=False, name="Timed")
    qualify, discover, propose = process.stages.order_by("order")
    t0 = now - 60 * DAY
    opp = deals.opportunity_create(
        actor=owner, account=AccountFactory(owner=owner), process=process, name="Timed deal", amount="1000",
        expected_close_date=(t0 + 40 * DAY).date(), now=t0,
    )  # fmt: skip

    def activity(day, kind):
        ActivityFactory(account=opp.account, opportunity=opp, kind=kind, occurred_at=t0 + day * DAY)

    activity(1, ActivityKind.DEMO)
    activity(2, ActivityKind.MEETING)
    deals.opportunity_move(opp, actor=owner, to_stage=discover, now=t0 + 10 * DAY)
    activity(11, ActivityKind.DEMO)
    activity(12, ActivityKind.DEMO)
    activity(12, ActivityKind.NOTE)  # not a kind the model reads
    deals.opportunity_move(opp, actor=owner, to_stage=propose, now=t0 + 20 * DAY)
    activity(21, ActivityKind.MEETING)
    deals.opportunity_move(opp, actor=owner, to_stage=discover, now=t0 + 25 * DAY)
    activity(26, ActivityKind.MEETING)
    deals.opportunity_close_lost(opp, actor=owner, reason=lost_reason, now=t0 + 30 * DAY)
    activity(35, ActivityKind.DEMO)
    return {"opp": opp, "stages": [qualify, discover, propose], "t0": t0}


def counts(row: dict, kind: str) -> tuple[int, int]:
    return tuple(int(round(math.expm1(row[f"act_{kind}_{when}"]))) for when in ("before", "in_stage"))


def test_a_training_row_counts_only_the_activities_before_the_deal_left_its_stage(timeline, now):
    (facts,) = load_deals(Opportunity.objects.filter(pk=timeline["opp"].pk))
    rows, labels, _ = training_rows([facts], Catalogue(), now=now)
    assert labels == [0, 0, 0]  # lost, from Discover, having reached Propose
    qualify, discover, propose = rows
    # Qualify, days 0–10: its demo and meeting; nothing before it.
    assert (counts(qualify, "demo"), counts(qualify, "meeting")) == ((0, 1), (0, 1))
    # Discover, days 10–20 (first moved past on day 20): the two demos; the meeting of day 26,
    # back in Discover after it had been left, is later information and does not count.
    assert (counts(discover, "demo"), counts(discover, "meeting")) == ((1, 2), (1, 0))
    # Propose, day 20 to the close on day 30: the meetings of days 21 and 26; the demo after the
    # close counts nowhere.
    assert (counts(propose, "demo"), counts(propose, "meeting")) == ((3, 0), (1, 2))
    for row in rows:
        assert counts(row, "call") == (0, 0) and counts(row, "reference_call") == (0, 0)
    assert activity_counts(facts, timeline["stages"][2].order)["demo"] == (3, 0)


def test_a_training_row_knows_the_deals_age_when_it_left_its_stage(timeline, now):
    (facts,) = load_deals(Opportunity.objects.filter(pk=timeline["opp"].pk))
    rows, _, _ = training_rows([facts], Catalogue(), now=now)
    # Qualify left on day 10, Discover first left on day 20, Propose at the close on day 30.
    assert [int(round(math.expm1(row["age"]))) for row in rows] == [10, 20, 30]


def test_a_training_row_knows_only_the_team_competitors_and_pushes_of_its_time(timeline, now):
    opp, t0 = timeline["opp"], timeline["t0"]
    for day, roles in ((5, ["champion"]), (15, ["economic_buyer"])):
        contact = ContactFactory(account=opp.account)
        BuyingTeamMember.objects.create(opportunity=opp, contact=contact, roles=roles, added_at=t0 + day * DAY)
    rival = Competitor.objects.create(name="Rival")
    DealCompetitor.objects.create(opportunity=opp, competitor=rival, added_at=t0 + 22 * DAY)
    for day, pushes in ((8, 1), (18, 2)):
        OpportunityEvent.objects.create(
            opportunity=opp, verb=EventVerb.CLOSE_DATE_CHANGED, created_at=t0 + day * DAY, data={"push_count": pushes}
        )
    (facts,) = load_deals(Opportunity.objects.filter(pk=opp.pk))
    rows, _, _ = training_rows([facts], Catalogue(), now=now)
    # Qualify, left on day 10: the champion and one push. Discover, first left on day 20: both
    # members and two pushes. Propose, left at the close on day 30: the rival too.
    assert [(row["team_size"], row["competitors"], row["pushes"]) for row in rows] == [(1, 0, 1), (2, 0, 2), (2, 1, 2)]
    assert [(row["role_champion"], row["role_economic_buyer"]) for row in rows] == [(1, 0), (1, 1), (1, 1)]


def test_a_training_row_counts_only_the_milestones_ticked_before_the_deal_left_its_stage(timeline, now):
    opp, t0 = timeline["opp"], timeline["t0"]
    MilestoneCompletion.objects.filter(opportunity=opp).delete()
    qualify, discover, _ = (stage.milestones.get() for stage in timeline["stages"])
    # Qualify's milestone on day 5; Discover's on day 24, after the deal first left Discover.
    MilestoneCompletion.objects.create(
        opportunity=opp, milestone=qualify, completed_by=opp.owner, completed_at=t0 + 5 * DAY
    )
    MilestoneCompletion.objects.create(
        opportunity=opp, milestone=discover, completed_by=opp.owner, completed_at=t0 + 24 * DAY
    )
    (facts,) = load_deals(Opportunity.objects.filter(pk=opp.pk))
    rows, _, _ = training_rows([facts], Catalogue(), now=now)
    assert [round(row["milestone_share"], 2) for row in rows] == [1.0, 0.5, 0.67]


def test_an_open_deal_counts_everything_in_its_current_stage(timeline, manager, now):
    opp = Opportunity.objects.get(pk=timeline["opp"].pk)
    deals.opportunity_reopen(opp, actor=manager, waiting_until=now.date() + DAY, now=now - 10 * DAY)
    ActivityFactory(account=opp.account, opportunity=opp, kind=ActivityKind.DEMO, occurred_at=now - 5 * DAY)
    (facts,) = load_deals(Opportunity.objects.filter(pk=opp.pk))
    assert facts.status == OpportunityStatus.OPEN and facts.stage_order == timeline["stages"][1].order
    row = row_at(facts, timeline["stages"][1], Catalogue(), now=now)
    # In Discover since day 10 as far as the model knows: every later activity counts, the one
    # after the old close and the new one too.
    assert counts(row, "demo") == (1, 4) and counts(row, "meeting") == (1, 2)


def test_the_timing_features_are_in_the_model(timeline):
    for kind in ("demo", "meeting", "reference_call"):
        assert f"act_{kind}_before" in NUMERIC and f"act_{kind}_in_stage" in NUMERIC


def test_loading_the_timelines_does_not_grow_with_the_deals(timeline, owner, lost_reason, now):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            load_deals(Opportunity.objects.all())
        return len(ctx.captured_queries)

    few = queries()
    process, discover = timeline["opp"].process, timeline["stages"][1]
    for i in range(8):
        opp = deals.opportunity_create(
            actor=owner, account=AccountFactory(owner=owner), process=process, name=f"More {i}", amount="10",
            expected_close_date=now.date() + 9 * DAY, now=now - 5 * DAY,
        )  # fmt: skip
        ActivityFactory(account=opp.account, opportunity=opp, kind=ActivityKind.CALL, occurred_at=now - 4 * DAY)
        deals.opportunity_move(opp, actor=owner, to_stage=discover, now=now - 3 * DAY)
    assert queries() == few
