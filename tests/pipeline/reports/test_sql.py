"""Each hand-written statement of `pipeline.reports.sql` against a Python computation over the same
rows.

The sweep's statements (`pipeline.health.sql`) are checked the same way in
tests/pipeline/health/test_health.py: after a sweep the flag table holds exactly what
`definition.expected_open_flags` computes, and a second sweep changes nothing.
"""

import datetime as dt
import statistics
from collections import Counter, defaultdict

import pytest
from django.db import connection

from opportunities.models import EventVerb, OpportunityEvent
from pipeline.reports import sql
from pipeline.reports.dashboard import _fetch, _in_view_sql, end_of_day
from tests.pipeline.reports.test_dashboard import at, board_for, history  # noqa: F401 — the fixture

LO, HI = at(1, 1) - dt.timedelta(hours=9), end_of_day(dt.date(2026, 3, 31))
ENTER = (EventVerb.CREATED, EventVerb.STAGE_MOVED, EventVerb.REOPENED)
LEAVE = (EventVerb.STAGE_MOVED, EventVerb.CLOSED_WON, EventVerb.CLOSED_LOST)


def _db(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _params(**extra) -> dict:
    return {**sql.VERB_PARAMS, **{k: _db(v) if isinstance(v, dt.datetime) else v for k, v in extra.items()}}


def cohort_in_python(lo, hi, moment, deals=None) -> Counter:
    """(process, furthest stage order, won) → deals, from the events read through the ORM."""
    events = defaultdict(list)
    qs = OpportunityEvent.objects.filter(created_at__lte=moment).select_related("to_stage").order_by("created_at", "id")
    for event in qs:
        events[event.opportunity_id].append(event)
    cohort = Counter()
    for opp_id, trail in events.items():
        created = trail[0]
        if not (lo <= created.created_at <= hi) or (deals is not None and opp_id not in deals):
            continue
        reached = [e.to_stage for e in trail if e.verb in (EventVerb.CREATED, EventVerb.STAGE_MOVED)]
        won = False
        for e in trail:
            if e.verb == EventVerb.CLOSED_WON:
                won = True
            elif e.verb == EventVerb.REOPENED:
                won = False
        cohort[(created.to_stage.process_id, max(s.order for s in reached), int(won))] += 1
    return cohort


@pytest.mark.parametrize("moment", [at(2, 10), at(3, 2)])
def test_the_cohort_as_of_a_moment_is_what_replaying_the_events_gives(history, moment):  # noqa: F811
    found = _fetch(sql.cohort_as_of_sql(), _params(lo=LO, hi=min(HI, moment), moment=moment))
    assert Counter({(p, f, w): n for p, f, w, n in found}) == cohort_in_python(LO, min(HI, moment), moment)
    assert sum(n for *_, n in found) > 3


def test_the_cohort_keeps_to_the_deals_in_view(history, manager, now):  # noqa: F811
    filters = board_for(manager, now, as_of=dt.date(2026, 3, 1)).f
    in_view, params = sql.named(*_in_view_sql(filters, "e.opportunity_id"), "in_view")
    moment = filters.moment
    found = _fetch(sql.cohort_as_of_sql(in_view), {**params, **_params(lo=LO, hi=moment, moment=moment)})
    visible = {d.pk for name, d in history.deals.items() if name != "E"}  # E is the outsider's
    assert Counter({(p, f, w): n for p, f, w, n in found}) == cohort_in_python(LO, moment, moment, visible)


def stays_in_python(lo, hi) -> dict[int, list[float]]:
    """stage → the days of each stay that ended in [lo, hi], from the events read through the ORM."""
    stays = defaultdict(list)
    for exit_ in OpportunityEvent.objects.filter(verb__in=LEAVE, created_at__gte=lo, created_at__lte=hi):
        entry = (
            OpportunityEvent.objects.filter(
                opportunity_id=exit_.opportunity_id, verb__in=ENTER, created_at__lte=exit_.created_at
            )
            .exclude(pk=exit_.pk)
            .latest("created_at", "id")
        )
        entered = exit_.stage_entered_at or entry.created_at
        stays[exit_.from_stage_id].append((exit_.created_at - entered).total_seconds() / 86400)
    return stays


def test_the_stays_are_what_the_events_give(history):  # noqa: F811
    # One exit recorded without its entry time (a data import): the statement probes for it.
    imported = OpportunityEvent.objects.filter(verb=EventVerb.STAGE_MOVED).order_by("id").first()
    OpportunityEvent.objects.filter(pk=imported.pk).update(stage_entered_at=None)
    expected = stays_in_python(LO, HI)
    assert sum(len(v) for v in expected.values()) >= 8
    vendor = connection.vendor
    stage_ids = [s.pk for s in history.stages]
    params = _params(lo=LO, hi=HI, **({"stage_ids": stage_ids} if vendor == "postgresql" else {}))
    rows = _fetch(sql.stage_stays_sql(vendor), params)
    if vendor == "postgresql":
        found = {stage: (n, pytest.approx(avg), pytest.approx(median)) for stage, n, avg, median in rows if n}
    else:
        grouped = defaultdict(list)
        for stage, days in rows:
            grouped[stage].append(days)
        found = {
            stage: (len(v), pytest.approx(statistics.fmean(v)), pytest.approx(statistics.median(v)))
            for stage, v in grouped.items()
        }
    assert found == {stage: (len(v), statistics.fmean(v), statistics.median(v)) for stage, v in expected.items()}


def test_named_renames_positional_parameters_and_keeps_literal_percents():
    renamed, params = sql.named("a = %s AND b LIKE '%%x' AND c IN (%s, %s)", [1, "two", 3], "p")
    assert renamed == "a = %(p_0)s AND b LIKE '%%x' AND c IN (%(p_1)s, %(p_2)s)"
    assert params == {"p_0": 1, "p_1": "two", "p_2": 3}


def test_the_milestones_completed_on_the_deals_closed_as_of_a_moment(history, admin, now):  # noqa: F811
    from opportunities.models import MilestoneCompletion
    from pipeline.reports.dashboard import _closed_between

    filters = board_for(admin, now, as_of=dt.date(2026, 2, 20)).f
    closed = _closed_between(filters, ("won", "lost"), dt.date(2026, 1, 1), dt.date(2026, 2, 20))
    statuses = dict(closed.values_list("s_opp", "s_status"))
    assert set(statuses.values()) == {"won", "lost"}  # A won, B lost (G was reopened by then)
    closed_sql, params = sql.named(*closed.values("s_opp", "s_status").query.sql_with_params(), "closed")
    found = _fetch(sql.milestone_completions_as_of_sql(closed_sql), {**params, "moment": _db(filters.moment)})
    expected = Counter(
        (milestone, statuses[opp])
        for milestone, opp in MilestoneCompletion.objects.filter(
            opportunity_id__in=statuses, completed_at__lte=filters.moment
        ).values_list("milestone_id", "opportunity_id")
    )
    assert Counter({(m, s): n for m, s, n in found}) == expected
    assert sum(expected.values()) >= 4
