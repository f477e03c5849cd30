"""The buying-team coverage flag kinds: single-threaded, a required role missing, a member not
contacted in the stage's days. The sweep's flags agree with the deal page's warnings
(`opportunities.coverage.deal_coverage`) over the same rows, and a second sweep changes nothing."""

import datetime as dt

import pytest

from opportunities import services as opp_services
from opportunities.coverage import deal_coverage
from opportunities.models import ActivityKind, BuyingRole, BuyingTeamMember, Opportunity
from pipeline.health import definition as health
from pipeline.health import services
from pipeline.models import Flag, FlagKind
from stages.models import RoleEnforcement, StageRoleRequirement
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db
COVERAGE = {FlagKind.SINGLE_THREADED, FlagKind.ROLE_MISSING, FlagKind.MEMBER_NOT_CONTACTED}
DAY = dt.timedelta(days=1)


def make_deal(owner, process, now, name):
    return opp_services.opportunity_create(
        actor=owner,
        account=AccountFactory(owner=owner),
        process=process,
        name=name,
        amount="1000",
        expected_close_date=now.date() + dt.timedelta(days=60),
        now=now,
    )


def member(opp, owner, roles, at):
    contact = ContactFactory(account=opp.account)
    opp_services.buying_team_add(opp, actor=owner, contact=contact, roles=roles, now=at)
    return contact


def flagged(opp) -> dict[str, str]:
    return {f.kind: f.detail for f in Flag.objects.open().filter(opportunity=opp) if f.kind in COVERAGE}


def warned(opp, now) -> set[str]:
    opp = Opportunity.objects.get(pk=opp.pk)
    team = list(BuyingTeamMember.objects.filter(opportunity=opp).select_related("contact"))
    stages = list(opp.process.stages.order_by("order", "id"))
    return {w.kind for w in deal_coverage(opp, stages=stages, team=team, now=now)}


@pytest.fixture
def world(owner, process, now):
    qualify, discover, _ = process.stages.order_by("order")
    StageRoleRequirement.objects.create(stage=qualify, role=BuyingRole.ECONOMIC_BUYER)
    StageRoleRequirement.objects.create(stage=qualify, role=BuyingRole.CHAMPION, enforcement=RoleEnforcement.WARN)
    StageRoleRequirement.objects.create(stage=discover, role=BuyingRole.DECISION_MAKER)
    earlier = now - 30 * DAY
    deals = {}
    # Nobody on the team: both Qualify roles missing, no one engaged.
    deals["empty"] = make_deal(owner, process, earlier, "Empty")
    # One economic buyer, added long ago and never contacted: single-threaded, champion missing, quiet.
    deals["lonely"] = make_deal(owner, process, earlier, "Lonely")
    member(deals["lonely"], owner, [BuyingRole.ECONOMIC_BUYER, BuyingRole.CHAMPION], earlier)
    # Two members, both covered and one contacted recently, the other long ago.
    deals["covered"] = make_deal(owner, process, earlier, "Covered")
    eb = member(deals["covered"], owner, [BuyingRole.ECONOMIC_BUYER], earlier)
    champ = member(deals["covered"], owner, [BuyingRole.CHAMPION], earlier)
    opp_services.activity_log(
        actor=owner, opportunity=deals["covered"], kind=ActivityKind.CALL, subject="x", contacts=[eb], now=now - DAY
    )
    opp_services.activity_log(
        actor=owner,
        opportunity=deals["covered"],
        kind=ActivityKind.CALL,
        subject="y",
        contacts=[champ],
        occurred_at=now - 25 * DAY,
        now=now - DAY,
    )
    # Only an activity's contact engaged, no team: single-threaded and roles missing.
    deals["activity_only"] = make_deal(owner, process, earlier, "Activity only")
    opp_services.activity_log(
        actor=owner,
        opportunity=deals["activity_only"],
        kind=ActivityKind.EMAIL,
        subject="z",
        contacts=[ContactFactory(account=deals["activity_only"].account)],
        now=now - DAY,
    )
    return deals


def test_the_sweep_opens_the_coverage_flags_the_page_warns_of(world, now):
    services.pipeline_sweep(now=now)
    assert health.actual_open_flags() == health.expected_open_flags(now=now)
    assert flagged(world["empty"]) == {FlagKind.ROLE_MISSING: "no champion, economic buyer"}
    assert flagged(world["lonely"]) == {
        FlagKind.SINGLE_THREADED: "one engaged contact",
        FlagKind.MEMBER_NOT_CONTACTED: "1 member not contacted in 21 days",
    }
    assert flagged(world["covered"]) == {FlagKind.MEMBER_NOT_CONTACTED: "1 member not contacted in 21 days"}
    assert set(flagged(world["activity_only"])) == {FlagKind.SINGLE_THREADED, FlagKind.ROLE_MISSING}
    for opp in world.values():
        assert set(flagged(opp)) == warned(opp, now), opp.name


def test_a_second_sweep_changes_nothing(world, now):
    services.pipeline_sweep(now=now)
    again = services.pipeline_sweep(now=now)
    assert not again.changed


def test_flags_follow_the_team_and_the_stage_setting(world, owner, manager, process, now):
    services.pipeline_sweep(now=now)
    lonely = world["lonely"]
    member(lonely, owner, [BuyingRole.USER], now)
    process.stages.update(buying_team_touch_days=0)
    services.pipeline_sweep(now=now)
    assert flagged(lonely) == {}
    assert warned(lonely, now) == set()
    # Moved on to Discover (a manager's override: its milestones are open), its role is required too.
    covered = Opportunity.objects.get(pk=world["covered"].pk)
    discover = process.stages.order_by("order")[1]
    opp_services.opportunity_move(covered, actor=manager, to_stage=discover, override_reason="Go", now=now)
    services.pipeline_sweep(now=now)
    assert flagged(covered) == {FlagKind.ROLE_MISSING: "no decision maker"}
    assert warned(covered, now) == {"role_missing"}
    assert health.actual_open_flags() == health.expected_open_flags(now=now)
