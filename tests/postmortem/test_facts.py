"""The review's pre-filled facts equal the deal's history, on a hand-built timeline."""

import datetime as dt

from opportunities import services as s
from opportunities.models import Opportunity
from postmortem.models import Review
from stages.models import Milestone, Stage
from tests.factories import ContactFactory

DAY = dt.timedelta(days=1)


def test_facts_follow_the_history(owner, account, process, rival, lost_reason, now):
    t0 = now - 12 * DAY
    opp = s.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name="Timeline",
        amount="1000",
        expected_close_date=t0.date() + 30 * DAY,
        now=t0,
    )
    qualify, _discover, propose = Stage.objects.filter(process=process).order_by("order")
    ticks = list(
        Milestone.objects.filter(
            stage__process=process, is_required=True, stage__name__in=["Qualify", "Discover"]
        ).order_by("stage__order", "order")
    )
    for i, m in enumerate(ticks):
        s.milestone_tick(opp, actor=owner, milestone=m, now=t0 + dt.timedelta(hours=1 + i))
    reload = lambda: Opportunity.objects.get(pk=opp.pk)  # noqa: E731
    s.opportunity_update(
        reload(),
        actor=owner,
        expected_version=reload().version,
        expected_close_date=t0.date() + 40 * DAY,
        now=t0 + 3 * DAY,
    )
    s.opportunity_update(reload(), actor=owner, expected_version=reload().version, amount="1500", now=t0 + 4 * DAY)
    s.opportunity_move(reload(), actor=owner, to_stage=propose, now=t0 + 5 * DAY)  # skips Discover
    s.opportunity_move(reload(), actor=owner, to_stage=qualify, now=t0 + 8 * DAY)
    s.opportunity_move(reload(), actor=owner, to_stage=propose, now=t0 + 10 * DAY)
    champion = ContactFactory(account=account)
    buyer = ContactFactory(account=account)
    s.buying_team_add(reload(), actor=owner, contact=champion, roles=["champion"], now=t0 + DAY)
    s.buying_team_add(reload(), actor=owner, contact=buyer, roles=["economic_buyer"], now=t0 + DAY)
    for kind, who in (("call", []), ("call", []), ("demo", [champion])):
        s.activity_log(actor=owner, opportunity=reload(), kind=kind, subject=kind, contacts=who, now=t0 + 6 * DAY)
    s.deal_competitor_set(reload(), actor=owner, competitor=rival, now=t0 + 7 * DAY)
    s.opportunity_close_lost(reload(), actor=owner, reason=lost_reason, lost_to=rival, now=now)

    facts = Review.objects.get(opportunity=opp).facts
    assert facts["cycle_days"] == 12.0
    assert facts["stage_days"] == [{"stage": "Qualify", "days": 7.0}, {"stage": "Propose", "days": 5.0}]
    assert facts["stages_skipped"] == ["Discover"]
    assert facts["stages_repeated"] == ["Qualify", "Propose"]
    assert facts["close_date_pushes"] == [
        {"on": (t0 + 3 * DAY).date().isoformat(), "old": "2026-03-20", "new": "2026-03-30"}
    ]
    assert facts["amount_changes"] == [{"on": (t0 + 4 * DAY).date().isoformat(), "old": "1000.00", "new": "1500.00"}]
    assert [(m["stage"], m["milestone"]) for m in facts["milestones"]] == [
        ("Qualify", "Check 1"),
        ("Qualify", "Check 2"),
        ("Discover", "Check 1"),
        ("Discover", "Check 2"),
    ]
    assert facts["activities"] == {"Call": 2, "Demo": 1}
    assert facts["roles_identified"] == ["Economic buyer", "Champion"]
    assert facts["roles_engaged"] == ["Champion"]
    assert facts["competitors"] == [{"name": "Rival Inc", "status": "Preferred by buyer", "beaten": False}]
    assert facts["lost_to"] == "Rival Inc"
