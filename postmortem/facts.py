"""What a post-mortem knows without anyone typing it: the deal's history, read from its events,
milestone ticks, activities, buying team and competitors.

`deal_facts` returns plain JSON-able data, stored on the review when it opens (`Review.facts`),
so the review reads the same however the deal changes later (a reopen, a rename).
"""

import datetime as dt
from collections import Counter

from django.db.models import Count

from opportunities.models import (
    Activity,
    ActivityKind,
    BuyingRole,
    BuyingTeamMember,
    DealCompetitor,
    EventVerb,
    MilestoneCompletion,
    Opportunity,
    OpportunityEvent,
)
from stages.models import Stage

_ENTRIES = (EventVerb.CREATED, EventVerb.STAGE_MOVED, EventVerb.REOPENED)
_EXITS = (EventVerb.STAGE_MOVED, EventVerb.CLOSED_WON, EventVerb.CLOSED_LOST)


def _days(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)


def deal_facts(opportunity: Opportunity, *, now: dt.datetime) -> dict:
    """The facts of `opportunity`'s history up to `now` (its close)."""
    events = list(OpportunityEvent.objects.filter(opportunity=opportunity).order_by("created_at", "id"))
    stages = list(Stage.objects.filter(process_id=opportunity.process_id).order_by("order", "id"))
    names = {s.pk: s.name for s in stages}

    # Days in each stage: every exit (a move or the close) knows when its stage was entered.
    days_in: dict[int, float] = {}
    for e in events:
        if e.verb in _EXITS and e.from_stage_id and e.stage_entered_at:
            days_in[e.from_stage_id] = days_in.get(e.from_stage_id, 0) + _days(e.created_at - e.stage_entered_at)
    entries = Counter(e.to_stage_id for e in events if e.verb in _ENTRIES and e.to_stage_id)
    # A reopen re-enters the stage the deal closed in: that is not going through it again.
    entries.subtract(e.to_stage_id for e in events if e.verb == EventVerb.REOPENED and e.to_stage_id)
    visited = {pk for pk, n in entries.items() if n > 0}
    last_position = max((i for i, s in enumerate(stages) if s.pk in visited), default=-1)
    skipped = [s.name for s in stages[:last_position] if s.pk not in visited]
    repeated = [names[pk] for pk in names if entries.get(pk, 0) > 1]

    pushes = [
        {"on": e.created_at.date().isoformat(), "old": e.data.get("old"), "new": e.data.get("new")}
        for e in events
        if e.verb == EventVerb.CLOSE_DATE_CHANGED and e.data.get("pushed_later")
    ]
    amount_changes = [
        {"on": e.created_at.date().isoformat(), "old": e.data.get("old"), "new": e.data.get("new")}
        for e in events
        if e.verb == EventVerb.AMOUNT_CHANGED
    ]
    milestones = [
        {"milestone": c.milestone.name, "stage": c.milestone.stage.name, "on": c.completed_at.date().isoformat()}
        for c in MilestoneCompletion.objects.filter(opportunity=opportunity)
        .select_related("milestone__stage")
        .order_by("completed_at", "id")
    ]
    kinds = dict(ActivityKind.choices)
    activities = {
        kinds.get(row["kind"], row["kind"]): row["n"]
        for row in Activity.objects.filter(opportunity=opportunity).values("kind").annotate(n=Count("id")).order_by()
    }
    team = list(BuyingTeamMember.objects.filter(opportunity=opportunity))
    engaged_contacts = set(
        Activity.objects.filter(opportunity=opportunity, contacts__isnull=False).values_list("contacts", flat=True)
    )
    roles = dict(BuyingRole.choices)
    identified = sorted({r for m in team for r in m.roles}, key=list(roles).index)
    engaged = sorted({r for m in team if m.contact_id in engaged_contacts for r in m.roles}, key=list(roles).index)
    competitors = [
        {"name": dc.competitor.name, "status": dc.get_status_display(), "beaten": dc.beaten}
        for dc in DealCompetitor.objects.filter(opportunity=opportunity).select_related("competitor")
    ]
    created = events[0].created_at if events else opportunity.created_at
    return {
        "cycle_days": _days(now - created),
        "stage_days": [{"stage": s.name, "days": days_in[s.pk]} for s in stages if s.pk in days_in],
        "stages_skipped": skipped,
        "stages_repeated": repeated,
        "close_date_pushes": pushes,
        "milestones": milestones,
        "activities": activities,
        "roles_identified": [roles[r] for r in identified],
        "roles_engaged": [roles[r] for r in engaged],
        "roles_missing": [label for r, label in roles.items() if r not in identified and r != BuyingRole.BLOCKER],
        "competitors": competitors,
        "lost_to": opportunity.lost_to.name if opportunity.lost_to_id else "",
        "amount_changes": amount_changes,
        "amount": str(opportunity.amount),
    }
