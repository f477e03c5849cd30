"""The demo seed: a believable company built through the services, its rows agreeing with its
event history (tests/demo_checks.py), idempotent, deterministic for a seed, ending at now."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from opportunities.models import (
    AccountContactRole,
    AccountEvent,
    AccountNextStep,
    AccountPlan,
    Activity,
    NextStep,
    Opportunity,
    OpportunityEvent,
)
from people.models import User
from stages.models import SalesProcess
from tests import demo_checks

pytestmark = pytest.mark.django_db

SIZE = 30


def seed(*args: str, size: int = SIZE) -> str:
    out = StringIO()
    # The test settings run with DEBUG off, like production: the demo users must be forced.
    call_command("seed_demo", "--opportunities", str(size), "--quiet", "--force-demo-users", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(now):
    seed()
    assert Opportunity.objects.count() == SIZE
    return now


def test_the_seeded_company_passes_every_check_and_a_second_run_adds_nothing(seeded):
    # One company for all the checks: building it is the slow part (seconds on PostgreSQL).
    for check in demo_checks.CHECKS:
        check(seeded)
    demo_checks.nothing_is_dated_after_now(seeded)
    assert AccountPlan.objects.exclude(objectives="").exists()
    assert AccountContactRole.objects.exists()
    open_steps = AccountNextStep.objects.filter(completed_at__isnull=True)
    assert open_steps.exists() and not open_steps.filter(due_date__lt=seeded.date() - dt.timedelta(days=60)).exists()
    assert not AccountNextStep.objects.filter(created_at__gt=seeded).exists()
    assert not AccountEvent.objects.filter(created_at__gt=seeded).exists()
    # Accounts without an open deal are nurtured.
    assert Activity.objects.filter(opportunity__isnull=True, subject__startswith="Nurture").exists()

    counts = (Opportunity.objects.count(), OpportunityEvent.objects.count(), User.objects.count())
    output = seed()
    assert "demo data already present" in output
    assert "rep " in output and "lockstep-demo" in output
    assert (Opportunity.objects.count(), OpportunityEvent.objects.count(), User.objects.count()) == counts


def test_the_demo_users_are_not_created_with_debug_off_unless_forced(db, now, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force-demo-users"):
        call_command("seed_demo", "--opportunities", "0", "--quiet", stdout=StringIO())
    assert not User.objects.exists() and not SalesProcess.objects.exists()

    settings.DEBUG = True
    call_command("seed_demo", "--opportunities", "0", "--quiet", stdout=StringIO())
    assert User.objects.filter(username="rep").exists()


def test_forcing_creates_the_demo_users_with_debug_off(db, now, settings):
    settings.DEBUG = False
    output = seed(size=0)
    assert User.objects.get(username="rep").check_password("lockstep-demo")
    assert "lockstep-demo" in output


def test_the_same_seed_gives_the_same_data(now):
    seed("--seed", "7")
    first = demo_checks.digest()
    demo_checks.empty_database()
    seed("--seed", "7")
    assert demo_checks.digest() == first
    demo_checks.empty_database()
    seed("--seed", "8")
    assert demo_checks.digest() != first


def test_the_services_carry_on_from_the_seeded_history(seeded):
    demo_checks.the_services_carry_on_from_the_seeded_history(seeded)


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 3, 2, 6, 30, tzinfo=dt.UTC),  # Monday, before the working day starts
        dt.datetime(2026, 3, 7, 12, 0, tzinfo=dt.UTC),  # Saturday
        dt.datetime(2026, 3, 4, 21, 0, tzinfo=dt.UTC),  # Wednesday evening
    ],
)
def test_the_history_ends_at_now_whenever_it_is_seeded(moment):
    with time_machine.travel(moment, tick=False):
        seed(size=12)  # the first deals cover every next-step state, "due today" among them
    latest = max(
        OpportunityEvent.objects.order_by("-created_at").values_list("created_at", flat=True)[0],
        Activity.objects.order_by("-created_at").values_list("created_at", flat=True)[0],
        NextStep.objects.order_by("-created_at").values_list("created_at", flat=True)[0],
    )
    assert latest <= moment
    assert not Opportunity.objects.filter(closed_on__gt=moment.date()).exists()
    assert Opportunity.objects.filter(next_step__due_date=moment.date()).exists()  # "due today" is today
