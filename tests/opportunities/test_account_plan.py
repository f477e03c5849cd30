"""Account management: the plan's objectives, the account-level buying team, the account's one
committed next step (the deal's rules), health numbers, whitespace and a deal created from it."""

import datetime as dt

import pytest

from opportunities import services
from opportunities.accounts import COLD, COOLING, HEALTHY, health_of, whitespace, with_health
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import (
    Account,
    AccountContactRole,
    AccountEvent,
    AccountEventVerb,
    AccountNextStep,
    BuyingTeamMember,
    EventVerb,
    NextStepKind,
    OpportunityStatus,
)
from tests.factories import ContactFactory, OpportunityFactory, make_process
from tests.opportunities.account_world import build_health_world

DAY = dt.timedelta(days=1)


def verbs(account) -> list[str]:
    return list(AccountEvent.objects.filter(account=account).order_by("id").values_list("verb", flat=True))


# --- the plan and the account-level buying team -------------------------------------------------------


def test_objectives_are_written_once_and_audited(owner, account, now):
    services.account_plan_update(account, actor=owner, objectives="  Land the EU division  ", now=now)
    services.account_plan_update(account, actor=owner, objectives="Land the EU division", now=now)
    assert account.plan.objectives == "Land the EU division"
    assert verbs(account).count(AccountEventVerb.PLAN_EDITED) == 1


def test_only_who_may_change_the_account_writes_its_plan(teammate, manager, account, now):
    with pytest.raises(AccessDenied):
        services.account_plan_update(account, actor=teammate, objectives="Mine", now=now)
    services.account_plan_update(account, actor=manager, objectives="Ours", now=now)


def test_too_long_objectives_are_refused(owner, account, now):
    with pytest.raises(DomainError, match="at most"):
        services.account_plan_update(account, actor=owner, objectives="x" * 5001, now=now)
    assert not AccountEvent.objects.filter(account=account, verb=AccountEventVerb.PLAN_EDITED).exists()


def test_account_team_adds_changes_and_removes_with_events(owner, account, contact, now):
    services.account_team_add(account, actor=owner, contact=contact, roles=["champion"], now=now)
    services.account_team_add(account, actor=owner, contact=contact, roles=["champion"], now=now)  # no change
    services.account_team_add(account, actor=owner, contact=contact, roles=["economic_buyer", "champion"], now=now)
    assert AccountContactRole.objects.get(account=account, contact=contact).roles == ["economic_buyer", "champion"]
    services.account_team_remove(account, actor=owner, contact=contact, now=now)
    assert not AccountContactRole.objects.exists()
    assert verbs(account).count(AccountEventVerb.TEAM_CHANGED) == 3
    last = AccountEvent.objects.filter(account=account).first()
    assert "removed Carla Contact" in last.describe()


def test_account_team_refuses_strangers_bad_roles_and_no_roles(owner, account, contact, now):
    stranger = ContactFactory()
    with pytest.raises(DomainError, match="does not work at"):
        services.account_team_add(account, actor=owner, contact=stranger, roles=["champion"], now=now)
    with pytest.raises(DomainError, match="Unknown buying role"):
        services.account_team_add(account, actor=owner, contact=contact, roles=["king"], now=now)
    with pytest.raises(DomainError, match="at least one role"):
        services.account_team_add(account, actor=owner, contact=contact, roles=[], now=now)
    with pytest.raises(DomainError, match="not on the account"):
        services.account_team_remove(account, actor=owner, contact=contact, now=now)
    assert not AccountContactRole.objects.exists()


# --- the account's next step: the deal's rules ----------------------------------------------------------


def test_setting_a_step_replaces_the_open_one(owner, account, today, now):
    first = services.account_next_step_set(account, actor=owner, description="Intro call", due_date=today, now=now)
    second = services.account_next_step_set(
        account, actor=owner, description="Send case study", due_date=today + DAY, now=now
    )
    first.refresh_from_db()
    assert first.completed_at == now and second.is_open
    assert AccountNextStep.objects.filter(account=account, completed_at__isnull=True).count() == 1
    assert second.owner == account.owner
    assert verbs(account).count(AccountEventVerb.NEXT_STEP_SET) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"description": "", "due_date": "today"}, "Next step is required"),
        ({"description": "Call", "due_date": None}, "Due date is required"),
        ({"description": "Call", "due_date": "yesterday"}, "cannot be before"),
        ({"description": "Call", "due_date": "far"}, "years away"),
        ({"waiting_until": "today"}, "Waiting until cannot be before"),
        ({"description": "x" * 301, "due_date": "today"}, "at most 300"),
    ],
)
def test_the_deal_step_rules_refuse_the_same_bad_input(owner, account, today, now, kwargs, message):
    dates = {"today": today, "yesterday": today - DAY, "far": today.replace(year=today.year + 11), None: None}
    kwargs = {k: dates[v] if k in ("due_date", "waiting_until") else v for k, v in kwargs.items()}
    with pytest.raises(DomainError, match=message):
        services.account_next_step_set(account, actor=owner, now=now, **kwargs)
    assert not AccountNextStep.objects.exists()
    assert verbs(account) == []


def test_waiting_on_the_buyer_and_an_inactive_owner(owner, teammate, account, today, now):
    step = services.account_next_step_set(account, actor=owner, waiting_until=today + DAY, now=now)
    assert step.kind == NextStepKind.WAITING and str(step).startswith("Waiting on buyer")
    teammate.is_active = False
    teammate.save()
    with pytest.raises(DomainError, match="not an active user"):
        services.account_next_step_set(account, actor=owner, description="x", due_date=today, owner=teammate, now=now)


def test_completing_commits_the_following_step(owner, account, today, now):
    with pytest.raises(DomainError, match="no open next step"):
        services.account_next_step_complete(account, actor=owner, next_description="x", next_due_date=today, now=now)
    services.account_next_step_set(account, actor=owner, description="Intro call", due_date=today, now=now)
    with pytest.raises(DomainError, match="Say what happens next"):
        services.account_next_step_complete(account, actor=owner, now=now)
    following = services.account_next_step_complete(
        account, actor=owner, next_description="Workshop", next_due_date=today + 7 * DAY, now=now
    )
    assert following.description == "Workshop" and following.is_open
    assert verbs(account)[-2:] == [AccountEventVerb.NEXT_STEP_COMPLETED, AccountEventVerb.NEXT_STEP_SET]


def test_readers_may_not_commit_the_accounts_step(teammate, account, today, now):
    with pytest.raises(AccessDenied):
        services.account_next_step_set(account, actor=teammate, description="x", due_date=today, now=now)


# --- create a deal from the account ----------------------------------------------------------------------


def test_a_deal_from_the_account_starts_with_its_buying_team(owner, account, contact, process, today, now):
    other = ContactFactory(account=account, first_name="Eve", last_name="Econ")
    services.account_team_add(account, actor=owner, contact=contact, roles=["champion"], now=now)
    services.account_team_add(account, actor=owner, contact=other, roles=["economic_buyer"], now=now)
    opp = services.opportunity_create_from_account(
        actor=owner, account=account, process=process, name="Expansion", amount="1000",
        expected_close_date=today + 30 * DAY, now=now,
    )  # fmt: skip
    team = {m.contact_id: m.roles for m in BuyingTeamMember.objects.filter(opportunity=opp)}
    assert team == {contact.pk: ["champion"], other.pk: ["economic_buyer"]}
    assert opp.events.filter(verb=EventVerb.BUYING_TEAM_CHANGED).count() == 2


# --- health, hand-built --------------------------------------------------------------------------------


@pytest.fixture
def health_world(owner, process, now, today):
    return build_health_world(owner, process, now, today)


def test_health_numbers_match_the_hand_built_accounts(owner, health_world, now, today):
    rows = {
        a.name: (a.engaged_contacts, a.open_deals, a.won_deals, a.lost_deals, a.health, a.next_step_due)
        for a in with_health(Account.objects.filter(owner=owner), user=owner, now=now)
    }
    assert rows == {
        "busy": (2, 1, 1, 1, HEALTHY, None),
        "planned": (1, 0, 0, 0, HEALTHY, today + DAY),
        "overdue": (0, 0, 0, 0, COOLING, today - DAY),
        "stale": (0, 0, 0, 0, COLD, None),
    }
    assert health_of(health_world["busy"], user=owner, now=now).last_touch == now - 5 * DAY
    # The future activity is no touch yet.
    assert health_of(health_world["stale"], user=owner, now=now).last_touch == now - 200 * DAY


def test_health_counts_only_the_deals_the_user_may_read(outsider, health_world, now):
    busy = health_of(health_world["busy"], user=outsider, now=now)
    assert (busy.open_deals, busy.won_deals, busy.lost_deals) == (0, 0, 0)


def test_whitespace_lists_the_processes_not_bought(owner, account, process, now):
    other = make_process(stages=1, milestones=0, name="Renewal")
    stage = other.stages.get()
    OpportunityFactory(account=account, owner=owner, stage=stage, process=other, status=OpportunityStatus.WON)
    states = {row["process"].name: row["state"] for row in whitespace(account)}
    assert states == {"New business": "", "Renewal": "won"}
