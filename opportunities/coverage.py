"""Buying-team coverage of an open deal, as warnings for its page: required buying roles that
nobody on the team plays yet, a deal resting on one engaged contact, and buying-team members
nobody has been in touch with for the stage's `buying_team_touch_days`.

The same three conditions are pipeline health flag kinds (pipeline/health/definition.py),
written there in set-based SQL for the sweep; this is the one-deal reading for the page.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max

from stages.models import Stage, StageRoleRequirement

from .models import Activity, BuyingTeamMember, Opportunity


@dataclass(frozen=True)
class CoverageWarning:
    """One thing missing from the buying team's coverage; `enforced` when it blocks moving on."""

    kind: str  # role_missing, single_threaded, member_not_contacted
    text: str
    enforced: bool = False


def deal_coverage(
    opp: Opportunity, *, stages: list[Stage], team: list[BuyingTeamMember], now: dt.datetime
) -> list[CoverageWarning]:
    """Warnings for `opp` (open), given its process's `stages` in order and its loaded buying
    `team` (with contacts): two queries, whatever the size of the team or its history."""
    if not opp.is_open:
        return []
    here = next((i for i, s in enumerate(stages) if s.pk == opp.stage_id), 0)
    # The requirements of the stages up to the deal's (by order, as the health flag reads them).
    reached = {s.pk: s for s in stages if s.order <= stages[here].order} if stages else {}
    covered = {role for member in team for role in member.roles}
    warnings = [
        CoverageWarning(
            "role_missing",
            f"No {r.get_role_display().lower()} on the buying team"
            + (f" (needed to move past {reached[r.stage_id].name})" if r.is_enforced else " (recommended)"),
            enforced=r.is_enforced,
        )
        for r in StageRoleRequirement.objects.filter(stage_id__in=reached).order_by("stage__order", "role")
        if r.role not in covered
    ]
    last_touch = dict(
        Activity.contacts.through.objects.filter(activity__opportunity=opp)
        .values_list("contact_id")
        .annotate(last=Max("activity__occurred_at"))
    )
    engaged = {m.contact_id for m in team} | set(last_touch)
    if len(engaged) == 1:
        warnings.append(CoverageWarning("single_threaded", "Single-threaded: only one engaged contact"))
    days = stages[here].buying_team_touch_days if stages else 0
    if days:
        cutoff = now - dt.timedelta(days=days)
        quiet = [
            m.contact
            for m in team
            if m.added_at < cutoff and (last_touch.get(m.contact_id) is None or last_touch[m.contact_id] < cutoff)
        ]
        if quiet:
            names = ", ".join(str(c) for c in quiet[:3]) + (f" and {len(quiet) - 3} more" if len(quiet) > 3 else "")
            warnings.append(CoverageWarning("member_not_contacted", f"Not contacted in {days} days: {names}"))
    return warnings
