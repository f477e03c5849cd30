"""Data migrations fill what they add from the history already recorded, as the services would."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from opportunities import services
from opportunities.models import EventVerb, Opportunity, OpportunityEvent

from .test_services import stage, tick_required

DAY = dt.timedelta(days=1)
BEFORE = [("opportunities", "0004_default_lost_reasons")]
AFTER = [("opportunities", "0005_dashboard_stage_facts")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_furthest_stage_and_stage_entry_times_are_filled_from_the_history(opportunity, owner, manager, process, now):
    # A history through the services: forward, back, forward again, then closed.
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify", "Discover"])
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Propose"), now=now + DAY)
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Qualify"), now=now + 2 * DAY)
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=now + 4 * DAY)
    services.opportunity_close_won(opportunity, actor=manager, override_reason="Signed", now=now + 7 * DAY)
    recorded = {
        e.pk: e.stage_entered_at for e in OpportunityEvent.objects.filter(opportunity=opportunity).order_by("id")
    }
    exits = [e for e, at in recorded.items() if at is not None]
    assert len(exits) == 5  # three moves, the move to the last stage on closing won, and the close

    try:
        migrate(BEFORE)
        migrate(AFTER)
    finally:  # back to the latest schema whatever happened, for the tests that follow
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert Opportunity.objects.get(pk=opportunity.pk).furthest_stage == stage(process, "Propose")
    refilled = {
        e.pk: e.stage_entered_at for e in OpportunityEvent.objects.filter(opportunity=opportunity).order_by("id")
    }
    assert refilled == recorded
    # Won in Discover (entered at +4 days): moved on to Propose on closing, and closed there.
    on_close = OpportunityEvent.objects.get(opportunity=opportunity, verb=EventVerb.STAGE_MOVED, data__on_close=True)
    assert on_close.stage_entered_at == now + 4 * DAY
    close = OpportunityEvent.objects.get(opportunity=opportunity, verb=EventVerb.CLOSED_WON)
    assert close.stage_entered_at == now + 7 * DAY
