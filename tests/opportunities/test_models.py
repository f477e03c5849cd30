"""Facts about one row and the access filters: who sees which deals and activities."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser

from opportunities import services
from opportunities.models import Activity, Opportunity
from people.models import OrgSettings, Role, User, Visibility
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    NextStepFactory,
    OpportunityFactory,
    UserFactory,
)

DAY = dt.timedelta(days=1)


def reload(user) -> User:
    """A fresh instance: users cache their visibility and managed teams per instance."""
    return User.objects.get(pk=user.pk)


def set_visibility(value: str) -> None:
    org = OrgSettings.current()
    org.visibility = value
    org.save()


@pytest.fixture
def other_manager(other_team):
    return UserFactory(username="other_manager", role=Role.MANAGER, manages=[other_team])


@pytest.fixture
def outsiders_deal(outsider, process):
    return OpportunityFactory(owner=outsider, stage=process.first_stage(), name="Globex pilot")


def visible(user) -> set[str]:
    return set(
        Opportunity.objects.for_user(reload(user) if user.is_authenticated else user).values_list("name", flat=True)
    )


# --- Opportunity.objects.for_user -------------------------------------------------------------------------


def test_the_owner_sees_their_deal(opportunity, outsiders_deal, owner):
    assert visible(owner) == {"Acme rollout"}


def test_a_teammate_sees_the_teams_deals_when_visibility_is_team(opportunity, outsiders_deal, teammate):
    assert OrgSettings.current().visibility == Visibility.TEAM  # the default
    assert visible(teammate) == {"Acme rollout"}


def test_a_teammate_sees_only_their_own_when_visibility_is_own(opportunity, outsiders_deal, teammate, owner):
    set_visibility(Visibility.OWN)
    assert visible(teammate) == set()
    assert visible(owner) == {"Acme rollout"}


def test_a_rep_without_a_team_sees_only_their_own(opportunity, process):
    loner = UserFactory(team=None)
    OpportunityFactory(owner=loner, stage=process.first_stage(), name="Solo")
    assert visible(loner) == {"Solo"}


def test_a_manager_sees_the_deals_of_the_teams_they_manage(opportunity, outsiders_deal, manager, other_manager):
    assert visible(manager) == {"Acme rollout"}
    assert visible(other_manager) == {"Globex pilot"}


def test_a_manager_sees_their_teams_deals_whatever_the_visibility(opportunity, manager):
    set_visibility(Visibility.OWN)
    assert visible(manager) == {"Acme rollout"}


def test_an_outsider_sees_nothing_of_another_team(opportunity, outsiders_deal, outsider):
    assert visible(outsider) == {"Globex pilot"}
    assert not Opportunity.objects.for_user(outsider).filter(pk=opportunity.pk).exists()


def test_an_admin_sees_everything(opportunity, outsiders_deal, admin):
    set_visibility(Visibility.OWN)
    assert visible(admin) == {"Acme rollout", "Globex pilot"}


def test_a_superuser_without_the_admin_role_sees_everything(opportunity, outsiders_deal):
    root = UserFactory(role=Role.REP, is_superuser=True)
    assert visible(root) == {"Acme rollout", "Globex pilot"}


def test_anonymous_sees_nothing(opportunity):
    assert visible(AnonymousUser()) == set()


def test_for_user_does_not_duplicate_rows(opportunity, owner, team):
    # The owner is also a manager of their own team: several branches of the filter match.
    promoted = reload(owner)
    promoted.role = Role.MANAGER
    promoted.save()
    team.managers.add(promoted)
    assert Opportunity.objects.for_user(reload(promoted)).count() == 1


# --- can_edit ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("owner", True),
        ("teammate", False),
        ("manager", True),
        ("other_manager", False),
        ("outsider", False),
        ("admin", True),
    ],
)
def test_can_edit(request, opportunity, persona, allowed):
    user = reload(request.getfixturevalue(persona))
    assert opportunity.can_edit(user) is allowed


def test_the_read_only_viewer_may_read_but_not_edit(opportunity, viewer):
    viewer = reload(viewer)
    assert Opportunity.objects.for_user(viewer).filter(pk=opportunity.pk).exists()
    assert not opportunity.can_edit(viewer)


# --- next_step_state ------------------------------------------------------------------------------------------


def test_next_step_state_without_a_step(opportunity, today):
    assert opportunity.next_step_state(today) == "none"


@pytest.mark.parametrize(("offset", "state"), [(-1, "overdue"), (0, "today"), (1, "later"), (30, "later")])
def test_next_step_state(opportunity, today, offset, state):
    step = NextStepFactory(opportunity=opportunity, due_date=today + offset * DAY)
    opportunity.next_step = step
    assert opportunity.next_step_state(today) == state


def test_next_step_state_defaults_to_the_local_date(opportunity, owner, now):
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    opp = Opportunity.objects.get(pk=opportunity.pk)
    assert opp.next_step_state() == "today"
    with time_machine.travel(now + DAY, tick=False):
        assert opp.next_step_state() == "overdue"
    with time_machine.travel(now - DAY, tick=False):
        assert opp.next_step_state() == "later"


# --- days_in_stage ----------------------------------------------------------------------------------------


def test_days_in_stage_counts_whole_days(opportunity, now):
    assert opportunity.stage_entered_at == now
    assert opportunity.days_in_stage(now) == 0
    assert opportunity.days_in_stage(now + DAY - dt.timedelta(seconds=1)) == 0
    assert opportunity.days_in_stage(now + DAY) == 1
    assert opportunity.days_in_stage(now + 45 * DAY) == 45


def test_days_in_stage_defaults_to_now(opportunity, now):
    with time_machine.travel(now + 10 * DAY + dt.timedelta(hours=3), tick=False):
        assert opportunity.days_in_stage() == 10


def test_days_in_stage_restarts_when_the_deal_moves(opportunity, owner, process, now):
    for m in process.first_stage().milestones.filter(is_required=True):
        services.milestone_tick(opportunity, actor=owner, milestone=m, now=now)
    moved_at = now + 12 * DAY
    services.opportunity_move(opportunity, actor=owner, to_stage=process.stages.get(name="Discover"), now=moved_at)
    opp = Opportunity.objects.get(pk=opportunity.pk)
    assert opp.days_in_stage(moved_at + 2 * DAY) == 2


# --- Activity.objects.for_user ----------------------------------------------------------------------------


@pytest.fixture
def activities(opportunity, owner, account, outsiders_deal):
    return {
        "account only": ActivityFactory(account=account, created_by=owner, subject="account only"),
        "on the deal": ActivityFactory(
            account=account, opportunity=opportunity, created_by=owner, subject="on the deal"
        ),
        "other account only": ActivityFactory(
            account=outsiders_deal.account, created_by=outsiders_deal.owner, subject="other account only"
        ),
        "on the other deal": ActivityFactory(
            account=outsiders_deal.account,
            opportunity=outsiders_deal,
            created_by=outsiders_deal.owner,
            subject="on the other deal",
        ),
    }


def visible_activities(user) -> set[str]:
    user = reload(user) if user.is_authenticated else user
    return set(Activity.objects.for_user(user).values_list("subject", flat=True))


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("owner", {"account only", "on the deal", "other account only"}),
        ("teammate", {"account only", "on the deal", "other account only"}),
        ("manager", {"account only", "on the deal", "other account only"}),
        ("outsider", {"account only", "other account only", "on the other deal"}),
        ("admin", {"account only", "on the deal", "other account only", "on the other deal"}),
    ],
)
def test_activities_follow_the_deal_and_account_only_ones_are_public(request, activities, persona, expected):
    assert visible_activities(request.getfixturevalue(persona)) == expected


def test_deal_activities_follow_the_visibility_setting(activities, teammate):
    set_visibility(Visibility.OWN)
    assert visible_activities(teammate) == {"account only", "other account only"}


def test_anonymous_sees_no_activities(activities):
    assert visible_activities(AnonymousUser()) == set()


# --- accounts -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("owner", True), ("teammate", False), ("manager", True), ("outsider", False), ("admin", True)],
)
def test_account_can_edit(request, account, persona, allowed):
    assert account.can_edit(request.getfixturevalue(persona)) is allowed


def test_accounts_are_visible_to_every_signed_in_user(account, outsider):
    AccountFactory(name="Globex")
    assert set(account.__class__.objects.for_user(outsider).values_list("name", flat=True)) == {"Acme Corp", "Globex"}
    assert not account.__class__.objects.for_user(AnonymousUser()).exists()
