"""A past deal imported from a file gets the history the services write for the same timeline."""

import datetime as dt

import pytest

from opportunities import services as deal_services
from opportunities.models import Competitor, Opportunity, OpportunityEvent
from tests.transfer.helpers import csv_bytes, run_import
from transfer.fields import Kind
from transfer.services import at

D = dt.date
HEADER = [
    "Opportunity Name",
    "Account Name",
    "Amount",
    "Stage",
    "Opportunity Owner",
    "Close Date",
    "Created Date",
    "Lost Reason",
    "Competitor",
    "Stage history",
    "Milestones",
    "Activities",
    "Buying team",
]

EVENT_FIELDS = (
    "verb",
    "actor_id",
    "from_stage_id",
    "to_stage_id",
    "version",
    "created_at",
    "state_stage_id",
    "state_amount",
    "state_close_date",
    "state_owner_id",
    "state_status",
    "valid_to",
    "stage_entered_at",
)
DEAL_FIELDS = (
    "name",
    "account_id",
    "process_id",
    "stage_id",
    "owner_id",
    "amount",
    "expected_close_date",
    "status",
    "closed_on",
    "closed_stage_id",
    "lost_reason_id",
    "lost_to_id",
    "stage_entered_at",
    "furthest_stage_id",
    "last_activity_at",
    "version",
    "created_at",
    "updated_at",
    "closed_industry",
    "closed_employee_band",
    "closed_region",
)


def history(deal: Opportunity) -> list[tuple]:
    rows = []
    for event in OpportunityEvent.objects.filter(opportunity=deal).order_by("created_at", "id"):
        data = {k: v for k, v in event.data.items() if k not in ("import_id", "activity_id")}
        rows.append((*(getattr(event, f) for f in EVENT_FIELDS), data))
    return rows


def facts(deal: Opportunity) -> tuple:
    deal.refresh_from_db()
    return (
        tuple(getattr(deal, f) for f in DEAL_FIELDS),
        sorted((m.milestone_id, m.completed_at) for m in deal.milestone_completions.all()),
        sorted((a.kind, a.subject, a.occurred_at) for a in deal.activities.all()),
        sorted((b.contact_id, tuple(b.roles), b.added_at) for b in deal.buying_team.all()),
        sorted((c.competitor_id, c.status, c.beaten) for c in deal.competitors.all()),
    )


def by_services(admin, owner, account, process, contact, reason, competitor, *, won: bool) -> Opportunity:
    qualify, discover, propose = process.stages.order_by("order")
    deal = deal_services.opportunity_create(
        actor=admin,
        account=account,
        process=process,
        name="Acme rollout",
        amount="12000",
        expected_close_date=D(2024, 3, 1),
        owner=owner,
        now=at(D(2024, 1, 5)),
    )
    deal_services.buying_team_add(
        deal, actor=admin, contact=contact, roles=["champion", "economic_buyer"], now=at(D(2024, 1, 5))
    )
    for milestone in qualify.milestones.filter(is_required=True):
        deal_services.milestone_tick(deal, actor=admin, milestone=milestone, now=at(D(2024, 1, 10)))
    deal_services.activity_log(
        actor=admin,
        opportunity=deal,
        kind="meeting",
        subject="Kick-off",
        occurred_at=at(D(2024, 1, 12)),
        now=at(D(2024, 1, 12)),
    )
    deal_services.opportunity_move(deal, actor=admin, to_stage=discover, now=at(D(2024, 1, 20)))
    if won:
        for stage in (discover, propose):
            for milestone in stage.milestones.filter(is_required=True):
                deal_services.milestone_tick(deal, actor=admin, milestone=milestone, now=at(D(2024, 2, 1)))
        deal_services.opportunity_close_won(deal, actor=admin, beaten=[competitor], now=at(D(2024, 3, 1)))
    else:
        deal_services.opportunity_close_lost(
            deal, actor=admin, reason=reason, lost_to=competitor, now=at(D(2024, 3, 1))
        )
    return deal


def file_row(account, process, contact, *, won: bool) -> list[str]:
    milestones = ["Qualify: Check 1;2024-01-10", "Qualify: Check 2;2024-01-10"]
    if won:
        milestones += [f"{s}: Check {n};2024-02-01" for s in ("Discover", "Propose") for n in (1, 2)]
    return [
        "Acme rollout",
        account.name,
        "12,000.00",
        "Closed Won" if won else "Closed Lost",
        "owner",
        "2024-03-01",
        "2024-01-05",
        "" if won else "Price",
        "Rival",
        "Qualify;2024-01-05|Discover;2024-01-20",
        "|".join(milestones),
        "2024-01-12;meeting;Kick-off",
        f"{contact.email};champion,economic_buyer",
    ]


@pytest.mark.parametrize("won", [False, True], ids=["lost", "won"])
def test_an_imported_past_deal_has_the_history_the_services_write(
    admin, owner, account, process, contact, lost_reason, now, won
):
    competitor = Competitor.objects.create(name="Rival")
    type(account).objects.filter(pk=account.pk).update(industry="Retail", region="EU")
    account.refresh_from_db()
    worked = by_services(admin, owner, account, process, contact, lost_reason, competitor, won=won)
    expected_history, expected_facts = history(worked), facts(worked)
    worked.delete()

    job = run_import(
        admin,
        Kind.DEALS,
        csv_bytes([HEADER, file_row(account, process, contact, won=won)]),
        now=now,
        value_map={"owner": {"owner": str(owner.pk)}},
    )

    assert job.status == "done", job.errors
    imported = Opportunity.objects.get(pk__in=job.created_ids["opportunity"])
    assert history(imported) == expected_history
    assert facts(imported) == expected_facts
    assert (imported.closed_industry, imported.closed_region) == ("Retail", "EU")
    # Its competitor carries its filing, as the services keep it (win/loss counts it so).
    assert list(imported.competitors.values(*imported.filing())) == [imported.filing()]
    created = imported.events.get(verb="created")
    assert created.data["import_id"] == job.pk
    assert created.describe() == "Created in Qualify (imported)"
    # Time travel sees it: open in Discover in February, closed in March.
    alive = OpportunityEvent.objects.alive_at(at(D(2024, 2, 15))).get(opportunity=imported)
    assert (alive.state_status, alive.state_stage.name) == ("open", "Discover")
    closed = OpportunityEvent.objects.alive_at(at(D(2024, 3, 2))).get(opportunity=imported)
    assert closed.state_status == ("won" if won else "lost")
