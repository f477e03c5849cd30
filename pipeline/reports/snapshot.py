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

from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from opportunities.history import as_of as events_as_of
from opportunities.models import Opportunity, OpportunityStatus
from people.access import visible_owner_q
from stages.models import Stage


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


def live_deals(scope: Scope) -> QuerySet:
    """The deals in `scope` now, as plain opportunity rows: what `deal_states` annotates live,
    for readers that need no stage column (and so no join to the stage)."""
    qs = Opportunity.objects.filter(scope.visible("owner"))
    if set(scope.statuses) != set(OpportunityStatus.values):  # every status: no condition to check
        qs = qs.filter(status__in=scope.statuses)
    if scope.process_id:
        qs = qs.filter(stage__process_id=scope.process_id)
    if scope.owner_id:
        qs = qs.filter(owner_id=scope.owner_id)
    if scope.team_id:
        qs = qs.filter(owner__team_id=scope.team_id)
    return qs


def live_where(scope: Scope, alias: str) -> tuple[str, list]:
    """`live_deals(scope)` as SQL conditions on the opportunity table under `alias`, and their
    parameters, for the dashboard's hand-written aggregates: there, building and compiling a
    queryset for each statement cost more than some of the statements themselves. The same
    rows as `live_deals` (a test checks every kind of scope); visibility is still decided by
    `visible_owner_q` alone, compiled here when the caller has not resolved it into ids."""
    conditions: list[str] = []
    params: list = []
    if scope.owner_ids is not None:
        if not scope.owner_ids:
            return "1 = 0", []
        conditions.append(f"{alias}.owner_id IN ({', '.join(['%s'] * len(scope.owner_ids))})")
        params += scope.owner_ids
    elif not scope.user.is_admin:
        people = get_user_model().objects.filter(visible_owner_q(scope.user, None)).values("pk").order_by()
        sql, people_params = people.query.sql_with_params()
        conditions.append(f"{alias}.owner_id IN ({sql})")
        params += people_params
    if set(scope.statuses) != set(OpportunityStatus.values):
        conditions.append(f"{alias}.status IN ({', '.join(['%s'] * len(scope.statuses))})")
        params += scope.statuses
    if scope.process_id:
        conditions.append(f"{alias}.stage_id IN (SELECT id FROM {Stage._meta.db_table} WHERE process_id = %s)")
        params.append(scope.process_id)
    if scope.owner_id:
        conditions.append(f"{alias}.owner_id = %s")
        params.append(scope.owner_id)
    if scope.team_id:
        users = get_user_model()._meta.db_table
        conditions.append(f"{alias}.owner_id IN (SELECT id FROM {users} WHERE team_id = %s)")
        params.append(scope.team_id)
    return " AND ".join(conditions) or "1 = 1", params


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
    qs = (
        events_as_of(end_of_day(scope.as_of))
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
