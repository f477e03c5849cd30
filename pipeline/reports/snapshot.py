"""The pipeline as it stands now, or as it stood at the end of any past day.

Both come back as the same shape of rows, so the board, the dashboard and every aggregate
are written once and work for "live" and "as of" alike:

    s_opp      opportunity id
    s_stage    stage id              s_prob     that stage's win probability (percent)
    s_amount   amount                s_close    expected close date
    s_owner    owner id              s_status   open / won / lost
    s_category the stage's forecast category

Live rows come from the opportunity table. Past rows come from the event history replayed into
state intervals (`opportunities.history`): the one event per deal whose interval covers the
moment. Visibility follows the owner *at that moment*: a manager looking back sees the deals
their teams owned then.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from opportunities.models import Opportunity, OpportunityEvent, OpportunityStatus
from people.access import visible_owner_q


def end_of_day(day: dt.date) -> dt.datetime:
    """The last instant of `day` in the installation's time zone."""
    start_next = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min)
    return timezone.make_aware(start_next, timezone.get_current_timezone()) - dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Scope:
    """Which deals a view is about: the viewer, and optional filters."""

    user: object
    as_of: dt.date | None = None
    process_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    statuses: tuple[str, ...] = ("open",)
    # The ids of the people whose deals `user` may read, when the caller has already resolved
    # `visible_owner_q` into them (None: resolve it in each query). The same deals either way;
    # by ids, a query reads the owner column alone instead of joining every deal to its
    # owner's team.
    owner_ids: tuple[int, ...] | None = None

    def visible(self, prefix: str) -> Q:
        """The rows (owned through `prefix`) of the deals `user` may read."""
        if self.owner_ids is None:
            return visible_owner_q(self.user, prefix)
        return Q(**{f"{prefix}_id__in": self.owner_ids})


def live_q(scope: Scope, prefix: str = "") -> Q:
    """The conditions of `live_deals(scope)`, on the deal reached through `prefix` (a relation
    path such as "opportunity", or "" for the deal itself): a reader of a related table (flags,
    milestone completions) joins the deals through its foreign key rather than asking for its
    rows IN the deals in scope."""
    deal = f"{prefix}__" if prefix else ""
    q = scope.visible(f"{deal}owner")
    if set(scope.statuses) != set(OpportunityStatus.values):  # every status: no condition to check
        q &= Q(**{f"{deal}status__in": scope.statuses})
    if scope.process_id:
        q &= Q(**{f"{deal}stage__process_id": scope.process_id})
    if scope.owner_id:
        q &= Q(**{f"{deal}owner_id": scope.owner_id})
    if scope.team_id:
        q &= Q(**{f"{deal}owner__team_id": scope.team_id})
    return q


def live_deals(scope: Scope) -> QuerySet:
    """The deals in `scope` now, as plain opportunity rows: what `deal_states` annotates live,
    for readers that need no stage column (and so no join to the stage)."""
    return Opportunity.objects.filter(live_q(scope))


def deal_states(scope: Scope) -> QuerySet:
    """One row per deal in `scope`, with the `s_*` columns described above."""
    if scope.as_of is None:
        return live_deals(scope).annotate(
            s_opp=F("id"),
            s_stage=F("stage_id"),
            s_prob=F("stage__win_probability"),
            s_category=F("stage__forecast_category"),
            s_amount=F("amount"),
            s_close=F("expected_close_date"),
            s_owner=F("owner_id"),
            s_status=F("status"),
        )
    only_open = tuple(scope.statuses) == (OpportunityStatus.OPEN,)
    qs = (
        OpportunityEvent.objects.alive_at(end_of_day(scope.as_of), only_open=only_open)
        .filter(scope.visible("state_owner"))
        .annotate(
            s_opp=F("opportunity_id"),
            s_stage=F("state_stage_id"),
            s_prob=F("state_stage__win_probability"),
            s_category=F("state_stage__forecast_category"),
            s_amount=F("state_amount"),
            s_close=F("state_close_date"),
            s_owner=F("state_owner_id"),
            s_status=F("state_status"),
        )
    )
    qs = qs.filter(state_status__in=scope.statuses)
    if scope.process_id:
        qs = qs.filter(state_stage__process_id=scope.process_id)
    if scope.owner_id:
        qs = qs.filter(state_owner_id=scope.owner_id)
    if scope.team_id:
        qs = qs.filter(state_owner__team_id=scope.team_id)
    return qs
