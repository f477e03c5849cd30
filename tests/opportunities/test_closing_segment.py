"""A closed deal keeps its account's segment (industry, size, region) as it closed: win/loss groups
the closed deals by it from their own rows, and a later edit of the account does not move a deal
decided in one segment to another."""

import datetime as dt
import importlib

import pytest
from django.apps import apps

from opportunities import services
from opportunities.models import Account, EmployeeBand, Opportunity

DAY = dt.timedelta(days=1)
SEGMENT = ("closed_industry", "closed_employee_band", "closed_region")


def segment(opp) -> tuple:
    return tuple(Opportunity.objects.filter(pk=opp.pk).values_list(*SEGMENT).get())


@pytest.fixture
def retail(account):
    Account.objects.filter(pk=account.pk).update(industry="Retail", employee_band=EmployeeBand.SMALL, region="EU")
    return account


def test_closing_lost_copies_the_segment_and_a_later_account_edit_leaves_it(
    retail, opportunity, owner, lost_reason, now
):
    assert segment(opportunity) == ("", "", "")
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    assert segment(opportunity) == ("Retail", EmployeeBand.SMALL, "EU")

    services.account_update(Account.objects.get(pk=retail.pk), actor=owner, industry="Banking", now=now + DAY)
    assert Account.objects.get(pk=retail.pk).industry == "Banking"
    assert segment(opportunity) == ("Retail", EmployeeBand.SMALL, "EU")


def test_closing_won_copies_it_and_reopening_clears_it(retail, opportunity, owner, manager, now):
    services.opportunity_close_won(opportunity, actor=manager, override_reason="Signed", now=now)
    assert segment(opportunity) == ("Retail", EmployeeBand.SMALL, "EU")

    services.opportunity_reopen(
        Opportunity.objects.get(pk=opportunity.pk),
        actor=manager,
        next_description="Call the new CFO",
        next_due_date=now.date() + 3 * DAY,
        now=now + DAY,
    )
    assert segment(opportunity) == ("", "", "")


def test_the_migration_gives_the_deals_closed_before_it_their_accounts_segment(
    retail, opportunity, owner, lost_reason, now
):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    Opportunity.objects.update(closed_industry="", closed_employee_band="", closed_region="")
    still_open = services.opportunity_create(
        actor=owner,
        account=retail,
        process=opportunity.process,
        name="Still open",
        amount=1000,
        expected_close_date=now.date() + 30 * DAY,
        next_step_description="Call",
        next_step_due_date=now.date() + DAY,
        now=now,
    )

    migration = importlib.import_module("opportunities.migrations.0020_closing_segment")
    migration.copy_segments(apps, None)

    assert segment(opportunity) == ("Retail", EmployeeBand.SMALL, "EU")
    assert segment(still_open) == ("", "", "")
