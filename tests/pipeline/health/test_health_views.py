"""Flags where people work: the Needs attention page, and the badges on My deals and the deal page.

The view quintet, as it applies to pages that only read: it works; a permitted teammate can (a
rep reads a teammate's flagged deals with ?rep=, read-only: no clearing actions offered); an
outsider gets 404 (asking for a rep whose deals they may not see); a read-only viewer gets 403
on writes — these pages have none, so the viewer leg checks that no write is offered, and the
writes the actions lead to are the deal page's own, tested with it; a wrong method gets 405.
"""

import datetime as dt
import itertools
import re
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities import services as opp_services
from opportunities.models import Opportunity
from pipeline.health import services
from pipeline.models import Flag, FlagKind
from tests.factories import AccountFactory, UserFactory

URL = reverse("pipeline:needs_attention")
HTMX = {"HTTP_HX_REQUEST": "true"}
_seq = itertools.count()


def deal(owner, process, now, *, amount="1000", close_in=30, step=False, name=None):
    n = next(_seq)
    return opp_services.opportunity_create(
        actor=owner,
        account=AccountFactory(owner=owner),
        process=process,
        name=name or f"Deal {n:03d}",
        amount=amount,
        expected_close_date=now.date() + dt.timedelta(days=close_in),
        next_step_description="Call" if step else "",
        next_step_due_date=now.date() + dt.timedelta(days=3) if step else None,
        now=now,
    )


def deal_names(response) -> list[str]:
    """Names of the deals the Needs attention page lists, in its order."""
    pks = [int(pk) for pk in re.findall(r'<tr data-deal="(\d+)">', response.content.decode())]
    found = Opportunity.objects.in_bulk(pks)
    return [found[pk].name for pk in pks]


# --- Needs attention: the quintet -----------------------------------------------------------------------------


def test_needs_attention_lists_the_reps_flagged_deals_with_reason_and_action(client_for, owner, opportunity, now):
    services.pipeline_sweep(now=now)

    response = client_for(owner).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme rollout" in html
    assert "No next step" in html and "no next step" in html
    assert f'<a href="/deals/{opportunity.pk}/#next-step">Set a next step</a>' in html


def test_a_teammate_sees_only_their_own_by_default_and_may_read_the_owners(
    client_for, teammate, owner, opportunity, now
):
    services.pipeline_sweep(now=now)
    client = client_for(teammate)

    assert "Acme rollout" not in client.get(URL).content.decode()

    response = client.get(URL, {"rep": owner.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme rollout" in html and "no next step" in html
    # read-only: the reason is shown, the action that clears it is not offered
    assert "Set a next step" not in html


def test_an_outsider_asking_for_the_owners_deals_gets_404(client_for, outsider, owner, opportunity, now):
    services.pipeline_sweep(now=now)
    assert client_for(outsider).get(URL, {"rep": owner.pk}).status_code == 404


def test_the_viewer_is_offered_no_writes(client_for, viewer, owner, opportunity, now):
    services.pipeline_sweep(now=now + dt.timedelta(days=40))
    html = client_for(viewer).get(URL, {"rep": owner.pk}).content.decode()
    assert html.count('<li class="flag flag-') == 4
    for action in ("Set a next step", "Log an activity", "Move the deal on", "Update the close date"):
        assert action not in html
    assert '<form method="post"' not in html.split('id="attention-rows"')[1]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_needs_attention_refuses_other_methods(client_for, owner, method):
    assert getattr(client_for(owner), method)(URL).status_code == 405


# --- Needs attention: scope, order, filters ---------------------------------------------------------------------


def test_a_rep_sees_their_flagged_open_deals_by_amount_then_close_date(
    client_for, owner, teammate, process, now, lost_reason
):
    deal(owner, process, now, amount="500", name="Small")
    deal(owner, process, now, amount="9000", close_in=20, name="Big later")
    deal(owner, process, now, amount="9000", close_in=10, name="Big sooner")
    deal(owner, process, now, amount="7000", step=True, name="Healthy")
    closed = deal(owner, process, now, amount="99999", name="Closed")
    deal(teammate, process, now, amount="50000", name="Teammate's")
    services.pipeline_sweep(now=now)
    opp_services.opportunity_close_lost(closed, actor=owner, reason=lost_reason, now=now)

    response = client_for(owner).get(URL)

    assert deal_names(response) == ["Big sooner", "Big later", "Small"]


def test_a_manager_sees_their_teams_deals_and_filters_by_rep_and_flag(
    client_for, manager, owner, teammate, outsider, process, now
):
    deal(owner, process, now, amount="3000", name="Owner's")
    deal(teammate, process, now, amount="2000", step=True, close_in=-0, name="Teammate's")
    deal(outsider, process, now, amount="9000", name="Outsider's")
    services.pipeline_sweep(now=now)
    # The teammate's deal gets overdue: a second kind to filter by.
    services.pipeline_sweep(now=now + dt.timedelta(days=4))
    client = client_for(manager)

    everything = client.get(URL)
    assert deal_names(everything) == ["Owner's", "Teammate's"]
    html = everything.content.decode()
    assert "Olivia Owner" in html and "Tom Teammate" in html  # the owner column
    assert f'<option value="{owner.pk}"' in html  # the rep filter

    assert deal_names(client.get(URL, {"rep": teammate.pk})) == ["Teammate's"]
    assert deal_names(client.get(URL, {"kind": FlagKind.NEXT_STEP_OVERDUE})) == ["Teammate's"]
    assert deal_names(client.get(URL, {"kind": FlagKind.NO_NEXT_STEP, "rep": teammate.pk})) == []
    assert client.get(URL, {"rep": outsider.pk}).status_code == 404
    # a manager may act on their team's deals
    assert "Set a next step" in html


def test_an_admin_sees_every_team(client_for, admin, owner, outsider, process, now):
    deal(owner, process, now, name="Owner's")
    deal(outsider, process, now, name="Outsider's")
    services.pipeline_sweep(now=now)

    assert sorted(deal_names(client_for(admin).get(URL))) == ["Outsider's", "Owner's"]


def test_a_bad_filter_is_refused_with_400(client_for, owner, opportunity, now):
    services.pipeline_sweep(now=now)
    response = client_for(owner).get(URL, {"kind": "sleepy"})
    assert response.status_code == 400
    assert "Acme rollout" not in response.content.decode()
    assert client_for(owner).get(URL, {"rep": "x"}).status_code == 400


def test_htmx_gets_only_the_rows(client_for, owner, opportunity, now):
    services.pipeline_sweep(now=now)
    response = client_for(owner).get(URL, **HTMX)
    html = response.content.decode()
    assert "Acme rollout" in html
    assert "<html" not in html and "<form" not in html


def test_needs_attention_queries_do_not_grow_with_rows(client_for, team, manager, process, now):
    reps = [UserFactory(team=team) for _ in range(3)]

    def add(count):
        for i in range(count):
            deal(reps[i % 3], process, now - dt.timedelta(days=40), close_in=i % 50 + 1)
        services.pipeline_sweep(now=now)

    client = client_for(manager)
    add(3)
    client.get(URL)

    def measure():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(URL)
        assert response.status_code == 200
        return len(ctx), response

    small, _ = measure()
    add(22)
    large, response = measure()

    assert response.content.decode().count('class="flags"') == 25
    assert small == large
    assert large <= 10


# --- badges on My deals and on the deal page ---------------------------------------------------------------------


def test_my_deals_rows_show_each_flag_with_its_reason_and_action(client_for, owner, opportunity, now):
    later = now + dt.timedelta(days=40)
    services.pipeline_sweep(now=later)

    with time_machine.travel(later, tick=False):  # the days are counted when the page is shown
        html = client_for(owner).get(reverse("opportunities:my_deals")).content.decode()

    assert "idle 40 days" in html and "40 days in Qualify (limit 30)" in html
    assert f'href="/deals/{opportunity.pk}/#activities">Log an activity or move the deal' in html
    assert f'href="/deals/{opportunity.pk}/edit/">Update the close date' in html


def test_my_deals_query_count_is_flat_with_flags(client_for, owner, process, now):
    url = reverse("opportunities:my_deals")

    def add(count):
        for _ in range(count):
            deal(owner, process, now - dt.timedelta(days=40))
        services.pipeline_sweep(now=now)

    client = client_for(owner)
    add(3)
    client.get(url, {"per_page": 50})
    with CaptureQueriesContext(connection) as small:
        client.get(url, {"per_page": 50})
    add(27)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url, {"per_page": 50})

    assert response.content.decode().count('class="flags"') == 30
    assert len(small) == len(large)


def test_the_deal_page_shows_its_flags_and_clears_one_when_the_action_is_done(client_for, owner, opportunity, now):
    services.pipeline_sweep(now=now)
    client = client_for(owner)
    page = reverse("opportunities:detail", args=[opportunity.pk])

    html = client.get(page).content.decode()
    assert "no next step" in html and f'href="/deals/{opportunity.pk}/#next-step">Set a next step' in html

    response = client.post(
        reverse("opportunities:next_step_set", args=[opportunity.pk]),
        {"description": "Demo", "due_date": now.date().isoformat(), "anchor": "next-step"},
    )
    assert response.status_code == 302

    assert 'class="flag flag-' not in client.get(page).content.decode()
    assert Flag.objects.get(opportunity=opportunity).resolved_at == now


def test_the_deal_page_shows_a_viewer_the_reason_but_not_the_action(client_for, viewer, opportunity, now):
    services.pipeline_sweep(now=now)
    html = client_for(viewer).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "no next step" in html
    assert "Set a next step" not in html


# --- the broker is never in the request path ----------------------------------------------------------------------


def test_pages_and_actions_work_with_the_broker_down(client_for, owner, opportunity, lost_reason, now, settings):
    """Nothing a user does enqueues work: with every way of publishing a task failing, pages serve
    and actions commit (flags are resolved in the action's own transaction)."""
    services.pipeline_sweep(now=now)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    down = ConnectionError("Error 111 connecting to redis:6379. Connection refused.")
    client = client_for(owner)
    with (
        mock.patch("celery.app.task.Task.apply_async", side_effect=down),
        mock.patch("celery.Celery.send_task", side_effect=down),
    ):
        for url in (
            URL,
            reverse("pipeline:notifications"),
            reverse("opportunities:my_deals"),
            reverse("opportunities:detail", args=[opportunity.pk]),
        ):
            assert client.get(url).status_code == 200, url
        response = client.post(
            reverse("opportunities:next_step_set", args=[opportunity.pk]),
            {"description": "Demo", "due_date": now.date().isoformat()},
        )
        assert response.status_code == 302
        response = client.post(reverse("opportunities:close_lost", args=[opportunity.pk]), {"reason": lost_reason.pk})
        assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.status == "lost"
    assert not Flag.objects.open().exists()
