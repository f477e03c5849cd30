"""What changed in the pipeline between the end of one day and the end of another.

Every number is computed from the event history: the state of each deal at the end of day
`start` and at the end of day `end` comes from `pipeline.snapshot.deal_states(as_of=…)`, which
reads the history replayed into state intervals, and the two states are compared deal by deal.
"The end of a day" is its last instant in the installation's time zone, so the period is the
days after `start` up to and including `end`. What happened in between and was undone again
(an amount raised and lowered back, a stage moved forward and back) is, rightly, no change.

The categories (a deal may be in several: created and won in the period is "new" and "won"):

    new          created after the end of `start`, on or before `end`, even if already closed
    won, lost    won / lost at `end`, and not so at `start`: open then, or created since (or, after
                 a reopening in the period, closed the other way at `start`)
    reopened     open at `end`, closed at `start`
    advanced     open at both ends, in a later stage at `end` (stage order, then id)
    moved back   open at both ends, in an earlier stage at `end`
    slipped      open at `start` with its expected close date on or before `end` (overdue
                 ones included), and at `end` still open with the close date after `end`:
                 pushed out of the period. Pushed but still inside the period is no slip.
    amount up    open at both ends, larger amount at `end` (total: the net increase)
    amount down  open at both ends, smaller amount at `end` (total: the net decrease)

Whose deals: a deal belongs to the view of whoever owns it at `end` (the viewer's visibility
and the process/team/rep filters are applied to its state at `end`), so its changes count once,
for the owner who has it now, and the changes of every team add up to the company's. Its state at
`start` is compared whoever owned it then. Two more categories say when ownership moved a deal
across the edge of the view:

    reassigned in   open at `start` under an owner outside this view, inside it at `end`
    reassigned out  open at `start` inside this view, owned outside it at `end`; its later
                    changes count for its new owner, not here

Stage orders are today's: if an admin reorders a process, "advanced" follows the new order.

Cost: at most four queries, whatever the number of deals, each reading one slice of the
state-interval index: the deals open at `end`; those closed at `end` with an event in the period
(a deal closed earlier and untouched since cannot have changed); the deals open at `start`; and
the `start` state of the few deals of `end` not among those (closed then, or reassigned in),
skipped when there are none. So the rows read are about the open pipeline, not all history.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F

from opportunities.models import OpportunityEvent, OpportunityStatus

from .snapshot import Scope, deal_states, end_of_day

OPEN, WON, LOST = OpportunityStatus.OPEN, OpportunityStatus.WON, OpportunityStatus.LOST


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    legend: str
    shows_delta: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category("new", "New", "created in the period (even if already closed by its end)"),
    Category("won", "Won", "closed won at the end of the period, and not at its start (open, or created since)"),
    Category("lost", "Lost", "closed lost at the end of the period, and not at its start (open, or created since)"),
    Category("advanced", "Advanced", "open at both ends and in a later stage at the end"),
    Category("moved_back", "Moved back", "open at both ends and in an earlier stage at the end"),
    Category(
        "slipped",
        "Slipped",
        "open at the start and expected to close by the end of the period (overdue included), "
        "still open at the end with the close date pushed after it",
    ),
    Category("amount_up", "Amount up", "open at both ends with a larger amount at the end", shows_delta=True),
    Category("amount_down", "Amount down", "open at both ends with a smaller amount at the end", shows_delta=True),
    Category("reopened", "Reopened", "closed at the start, open again at the end"),
    Category("reassigned_in", "Reassigned in", "open at the start under an owner outside this view, inside it now"),
    Category(
        "reassigned_out",
        "Reassigned out",
        "open at the start in this view, owned outside it at the end (its changes count for the new owner)",
    ),
)
CATEGORY_KEYS = tuple(c.key for c in CATEGORIES)


@dataclass(frozen=True)
class DealState:
    """One deal at one moment, as replayed from its history."""

    stage_id: int
    stage_name: str
    stage_key: tuple[int, int]
    amount: Decimal
    close: dt.date
    owner_id: int
    owner_name: str
    status: str

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


@dataclass
class DealChange:
    """A deal with its state at the start and at the end (None: not there, or not ours)."""

    opp_id: int
    name: str
    account: str
    created_at: dt.datetime
    before: DealState | None
    after: DealState | None
    categories: list[str] = field(default_factory=list)

    @property
    def current(self) -> DealState:
        return self.after or self.before

    @property
    def amount(self) -> Decimal:
        return self.current.amount

    @property
    def delta(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after.amount - self.before.amount


@dataclass
class CategoryTotal:
    category: Category
    deals: list[DealChange] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.category.key

    @property
    def count(self) -> int:
        return len(self.deals)

    @property
    def amount(self) -> Decimal:
        """The deals' amounts at the end (reassigned out: at the start, the last we saw)."""
        return sum((d.amount for d in self.deals), Decimal(0))

    @property
    def delta(self) -> Decimal | None:
        if not self.category.shows_delta:
            return None
        return sum((d.delta for d in self.deals), Decimal(0))


@dataclass
class PipelineChanges:
    start: dt.date
    end: dt.date
    totals: list[CategoryTotal]
    open_at_start: tuple[int, Decimal]
    open_at_end: tuple[int, Decimal]

    def __getitem__(self, key: str) -> CategoryTotal:
        for total in self.totals:
            if total.key == key:
                return total
        raise KeyError(key)


_ROW_FIELDS = (
    "s_opp",
    "s_stage",
    "s_amount",
    "s_close",
    "s_owner",
    "s_status",
    "opportunity__name",
    "opportunity__account__name",
    "opportunity__created_at",
    "state_stage__name",
    "state_stage__order",
    "state_owner__username",
    "state_owner__first_name",
    "state_owner__last_name",
)


def _event_states(qs):
    """The `s_*` columns of `deal_states` for an event queryset not filtered by visibility
    (the start rows of deals that are in the view at the end; see the module docstring)."""
    return qs.annotate(
        s_opp=F("opportunity_id"),
        s_stage=F("state_stage_id"),
        s_amount=F("state_amount"),
        s_close=F("state_close_date"),
        s_owner=F("state_owner_id"),
        s_status=F("state_status"),
    )


def _state(row) -> DealState:
    full_name = f"{row.state_owner__first_name} {row.state_owner__last_name}".strip()
    return DealState(
        stage_id=row.s_stage,
        stage_name=row.state_stage__name,
        stage_key=(row.state_stage__order, row.s_stage),
        amount=row.s_amount,
        close=row.s_close,
        owner_id=row.s_owner,
        owner_name=full_name or row.state_owner__username,
        status=row.s_status,
    )


def _categories(a, b, *, start_at: dt.datetime, end: dt.date, in_view_at_start: bool) -> list[str]:
    """The categories of one deal, from its rows at the start (`a`) and at the end (`b`); either
    may be None. Works on the raw rows: most deals have none, and need no objects built."""
    a_open = a is not None and a.s_status == OPEN
    if b is None:
        # In the view at the start, gone at the end: only ownership can do that.
        return ["reassigned_out"] if a_open and in_view_at_start else []
    found = []
    if b.opportunity__created_at > start_at:
        found.append("new")
    b_open = b.s_status == OPEN
    if not b_open and (a is None or a.s_status != b.s_status):
        found.append(b.s_status)  # won / lost
    if b_open and a is not None and not a_open:
        found.append("reopened")
    if a_open and b_open:
        a_stage, b_stage = (a.state_stage__order, a.s_stage), (b.state_stage__order, b.s_stage)
        if b_stage > a_stage:
            found.append("advanced")
        elif b_stage < a_stage:
            found.append("moved_back")
        if a.s_close <= end < b.s_close:
            found.append("slipped")
        if b.s_amount > a.s_amount:
            found.append("amount_up")
        elif b.s_amount < a.s_amount:
            found.append("amount_down")
    if a_open and not in_view_at_start:
        found.append("reassigned_in")
    return found


def pipeline_changes(
    user,
    *,
    start: dt.date,
    end: dt.date,
    process_id: int | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
) -> PipelineChanges:
    """Compare the pipeline `user` may see at the end of `start` with the one at the end of
    `end`, narrowed to a process, a team and/or an owner. At most four queries."""
    if start > end:
        raise ValueError("start must not be after end")
    start_at = end_of_day(start)
    filters = {"process_id": process_id, "team_id": team_id, "owner_id": owner_id}

    def rows(qs) -> dict:
        return {row.s_opp: row for row in qs.order_by().values_list(*_ROW_FIELDS, named=True)}

    # Each query below reads one slice of the state-interval index (status, valid_to, created_at).
    # At the end: the deals open then, and the closed ones something happened to in the period
    # (a deal closed before the period and untouched since cannot have changed).
    after_rows = rows(deal_states(Scope(user, as_of=end, statuses=(OPEN,), **filters)))
    after_rows |= rows(
        deal_states(Scope(user, as_of=end, statuses=(WON, LOST), **filters)).filter(created_at__gt=start_at)
    )
    # At the start: the deals open then, in the view then.
    before_rows = rows(deal_states(Scope(user, as_of=start, statuses=(OPEN,), **filters)))
    in_view_at_start = set(before_rows)
    # And the start state of the other deals of the end that existed then: closed at the start
    # (reopened, or touched after closing), or owned outside the view then (reassigned in).
    others = [
        opp_id
        for opp_id, row in after_rows.items()
        if opp_id not in in_view_at_start and row.opportunity__created_at <= start_at
    ]
    if others:  # usually a handful; nothing to ask for when there are none
        at_start = OpportunityEvent.objects.alive_at(start_at).filter(opportunity_id__in=others)
        before_rows |= rows(_event_states(at_start))

    totals = {c.key: CategoryTotal(c) for c in CATEGORIES}
    for opp_id in after_rows.keys() | before_rows.keys():
        a, b = before_rows.get(opp_id), after_rows.get(opp_id)
        found = _categories(a, b, start_at=start_at, end=end, in_view_at_start=opp_id in in_view_at_start)
        if not found:
            continue
        row = b or a
        change = DealChange(
            opp_id=opp_id,
            name=row.opportunity__name,
            account=row.opportunity__account__name,
            created_at=row.opportunity__created_at,
            before=_state(a) if a else None,
            after=_state(b) if b else None,
            categories=found,
        )
        for key in found:
            totals[key].deals.append(change)
    open_end = [row.s_amount for row in after_rows.values() if row.s_status == OPEN]
    for total in totals.values():
        if total.category.shows_delta:
            total.deals.sort(key=lambda d: (-abs(d.delta), d.name.lower(), d.opp_id))
        else:
            total.deals.sort(key=lambda d: (-d.amount, d.name.lower(), d.opp_id))
    return PipelineChanges(
        start=start,
        end=end,
        totals=list(totals.values()),
        open_at_start=(len(in_view_at_start), sum((before_rows[k].s_amount for k in in_view_at_start), Decimal(0))),
        open_at_end=(len(open_end), sum(open_end, Decimal(0))),
    )
