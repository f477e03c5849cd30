"""The dashboard page, its CSV downloads and the quota page, through the HTTP interface."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities import services
from pipeline.models import Quota
from pipeline.reports.dashboard import Column, Table
from pipeline.reports.views import _csv_cell
from tests.factories import AccountFactory

URL = "/dashboard/"


@pytest.fixture
def deals(owner, teammate, outsider, process, now):
    made = []
    for who, amount in ((owner, "1000"), (teammate, "2000"), (outsider, "4000")):
        made.append(
            services.opportunity_create(
                actor=who,
                account=AccountFactory(owner=who),
                process=process,
                name=f"{who.username} deal",
                amount=amount,
                expected_close_date=now.date() + dt.timedelta(days=10),
                now=now,
            )
        )
    return made


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- the quintet -------------------------------------------------------------------------------------------


def test_url_is_namespaced():
    assert reverse("pipeline:dashboard") == URL


def test_a_manager_sees_the_teams_pipeline(client_for, manager, deals):
    response = client_for(manager).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Open pipeline by stage" in body and "<svg" in body
    by_owner = response.context["board"].by_owner.rows
    assert [(r[0], r[2]) for r in by_owner] == [("Tom Teammate", Decimal(2000)), ("Olivia Owner", Decimal(1000))]
    assert 'href="/dashboard/"' in body  # the nav link


def test_the_summary_tiles_show_the_formatted_totals(client_for, manager, owner, deals, now):
    from django.conf import settings

    year, quarter = now.year, (now.month - 1) // 3 + 1
    Quota.objects.create(user=owner, year=year, quarter=quarter, amount=Decimal("8000"))
    body = client_for(manager).get(URL).content.decode()
    currency = settings.LOCKSTEP_CURRENCY
    assert "<dt>Open deals</dt><dd>2</dd>" in body
    assert f"<dt>Open pipeline</dt><dd>3,000 {currency}</dd>" in body
    assert f"<dt>Closed won {year}-Q{quarter}</dt><dd>0 {currency}</dd>" in body
    # Only the owner has a quota: the teammate is counted apart, not divided into it.
    assert f"<dt>Attainment {year}-Q{quarter}</dt><dd>0.0\u00a0% <small" in body
    assert "1 seller without a quota, not counted" in body


def test_the_rep_and_team_filters_offer_the_people_and_teams_in_view(client_for, manager, teammate, team, deals):
    teammate.first_name = "<b>Tom"
    teammate.save()
    body = client_for(manager).get(URL, {"rep": teammate.pk}).content.decode()

    assert f'<option value="{teammate.pk}" selected>&lt;b&gt;Tom Teammate</option>' in body
    assert f'<option value="{team.pk}">{team.name}</option>' in body
    assert "Oscar Outsider" not in body


def test_names_in_the_tables_and_charts_are_escaped(client_for, manager, teammate, deals):
    teammate.first_name = "<b>Tom"
    teammate.save()
    body = client_for(manager).get(URL).content.decode()

    card = body[body.index('id="by_owner"') :]
    card = card[: card.index("</article>")]
    assert '<th scope="row">&lt;b&gt;Tom Teammate</th><td class="num">1</td>' in card
    assert ">&lt;b&gt;Tom Teammate</text>" in card  # the chart's bar label
    assert "<b>Tom" not in body


def test_a_table_prints_its_text_cells_then_its_numbers_right_aligned(client_for, manager, deals):
    body = client_for(manager).get(URL).content.decode()
    card = body[body.index('id="milestones"') :]
    card = card[: card.index("</article>")]
    assert (
        '<th scope="col">Process</th><th scope="col">Stage</th><th scope="col">Milestone</th>'
        '<th scope="col">Required</th><th scope="col" class="num">Closed with it</th>'
    ) in card
    rows = re.findall(r'<tr><th scope="row">[^<]*</th>(.*?)</tr>', card)
    assert rows
    for cells in rows:
        # Stage, milestone and required as text; the five numbers right-aligned.
        assert re.fullmatch(r'(<td>[^<]*</td>){3}(<td class="num">[^<]*</td>){5}', cells), cells


def test_a_table_with_a_number_before_its_text_columns_is_refused():
    with pytest.raises(ValueError, match="text columns must come before the numbers"):
        Table("odd", "Odd", [Column("who", "Who"), Column("n", "Deals", "int"), Column("note", "Note")])


def test_the_flag_tables_link_each_row_to_needs_attention(client_for, manager, deals):
    body = client_for(manager).get(URL).content.decode()
    card = body[body.index('id="flags_by_kind"') :]
    assert '<th scope="row"><a href="/attention/?kind=idle">' in card[: card.index("</article>")]


def test_each_table_is_a_card_with_its_chart_and_a_csv_link_that_keeps_the_filters(client_for, manager, deals):
    body = client_for(manager).get(URL, {"period": "this_year", "process": ""}).content.decode()

    start = body.index('<article class="card dash-table" id="by_owner">')
    card = body[start : body.index("</article>", start)]
    assert "<h3>Open pipeline by owner</h3>" in card
    assert 'href="?period=this_year&amp;process=&amp;format=csv&amp;table=by_owner" download' in card
    assert '<figure class="dash-chart"><svg' in card
    assert '<th scope="row">Tom Teammate</th><td class="num">1</td><td class="num">2,000</td>' in card
    assert '<p class="help">Open deals at the moment, by the owner they had then.</p>' in card
    flags = body[body.index('id="flags_by_owner"') :]
    assert "Nothing here for these filters." in flags[: flags.index("</article>")]


def test_a_rep_sees_only_their_own_deals(client_for, teammate, deals):
    response = client_for(teammate).get(URL)
    assert response.status_code == 200
    assert [r[0] for r in response.context["board"].by_owner.rows] == ["Tom Teammate"]
    assert 'name="rep"' not in response.content.decode()


def test_an_outsider_naming_someone_they_cannot_see_gets_404(client_for, outsider, owner, team, deals):
    client = client_for(outsider)
    assert client.get(URL, {"rep": owner.pk}).status_code == 404
    assert client.get(URL, {"team": team.pk}).status_code == 404


def test_a_manager_cannot_filter_on_another_team(client_for, manager, other_team, outsider):
    client = client_for(manager)
    assert client.get(URL, {"team": other_team.pk}).status_code == 404
    assert client.get(URL, {"rep": outsider.pk}).status_code == 404


def test_wrong_method_is_405(client_for, manager):
    assert client_for(manager).post(URL).status_code == 405


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- filters ---------------------------------------------------------------------------------------------------


def test_a_manager_narrows_to_one_rep_and_team(client_for, manager, owner, team, deals):
    client = client_for(manager)
    response = client.get(URL, {"rep": owner.pk, "team": team.pk, "period": "last_quarter"})
    assert response.status_code == 200
    assert [r[0] for r in response.context["board"].by_owner.rows] == ["Olivia Owner"]
    assert response.context["filters"].period_start == dt.date(2025, 10, 1)


def test_bad_dates_leave_a_message_and_the_defaults(client_for, manager, now, deals):
    response = client_for(manager).get(
        URL, {"period": "custom", "start": "2026-02-30", "end": "2026-01-01", "as_of": "2099-01-01"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Some filters were not valid" in body
    assert "cannot be in the future" in body
    # Each bad field keeps what was typed and points at its message.
    assert (
        '<input type="date" name="as_of" value="2099-01-01" aria-invalid="true" aria-describedby="id_as_of_error"'
        in body
    )
    assert 'id="id_as_of_error">“As of” cannot be in the future' in body
    assert 'aria-describedby="id_start_error"' in body and 'id="id_start_error"' in body
    filters = response.context["filters"]
    assert (filters.period_start, filters.period_end, filters.as_of) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 3, 31),
        None,
    )


def test_custom_dates_out_of_order_are_refused(client_for, manager, now):
    response = client_for(manager).get(URL, {"period": "custom", "start": "2026-02-01", "end": "2026-01-01"})
    assert "“To” must be on or after “From”." in response.content.decode()
    assert response.context["filters"].period_start == dt.date(2026, 1, 1)


def test_custom_dates_are_used(client_for, manager, now):
    response = client_for(manager).get(URL, {"period": "custom", "start": "2025-06-01", "end": "2025-12-31"})
    filters = response.context["filters"]
    assert (filters.period_start, filters.period_end) == (dt.date(2025, 6, 1), dt.date(2025, 12, 31))


def test_as_of_is_shown_and_rebuilt_from_history(client_for, manager, deals, now):
    response = client_for(manager).get(URL, {"as_of": "2026-03-01"})
    assert "as of the end of 2026-03-01" in response.content.decode()
    # The deals were created "now" (2 March): nothing was open at the end of 1 March.
    assert response.context["board"].summary["deals"] == 0


def test_htmx_gets_the_body_partial(client_for, manager, deals):
    response = client_for(manager).get(URL, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "Open pipeline by stage" in body


def test_charts_use_no_inline_style_or_script(client_for, manager, deals):
    body = client_for(manager).get(URL).content.decode()
    svg = body[body.index("<svg") :]
    assert "style=" not in svg and "<script" not in svg


# --- CSV ---------------------------------------------------------------------------------------------------------


def test_each_table_downloads_as_csv(client_for, manager, deals):
    client = client_for(manager)
    response = client.get(URL, {"format": "csv", "table": "by_owner"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="lockstep-by_owner-2026-03-02.csv"'
    assert read_csv(response) == [
        ["Owner", "Deals", "Amount", "Weighted"],
        ["Tom Teammate", "1", "2000.00", "200.00"],
        ["Olivia Owner", "1", "1000.00", "100.00"],
    ]
    from pipeline.reports.dashboard import Dashboard

    for name in Dashboard.TABLES:
        assert client.get(URL, {"format": "csv", "table": name}).status_code == 200, name


def test_an_unknown_table_is_404(client_for, manager):
    assert client_for(manager).get(URL, {"format": "csv", "table": "../../etc"}).status_code == 404


def test_csv_cells_cannot_run_as_formulas(client_for, manager, owner, deals):
    owner.first_name, owner.last_name = '=HYPERLINK("x")', ""
    owner.save()
    rows = read_csv(client_for(manager).get(URL, {"format": "csv", "table": "by_owner"}))
    assert ['\'=HYPERLINK("x")', "1", "1000.00", "100.00"] in rows
    assert [_csv_cell(v) for v in ("+1", "-a", "@b", "ok", -5, None)] == ["'+1", "'-a", "'@b", "ok", "-5", ""]


# --- query counts ---------------------------------------------------------------------------------------------


def _page_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL, params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("as_of", ["", "2026-03-01"])
def test_the_page_runs_a_constant_number_of_queries(client_for, manager, owner, teammate, process, now, as_of):
    client = client_for(manager)
    services.opportunity_create(
        actor=owner,
        account=AccountFactory(owner=owner),
        process=process,
        name="One",
        amount="10",
        expected_close_date=now.date(),
        now=now - dt.timedelta(days=3),
    )
    small = _page_queries(client, as_of=as_of)
    for i in range(8):
        who = owner if i % 2 else teammate
        services.opportunity_create(
            actor=who,
            account=AccountFactory(owner=who),
            process=process,
            name=f"More {i}",
            amount="10",
            expected_close_date=now.date(),
            now=now - dt.timedelta(days=3),
        )
    assert _page_queries(client, as_of=as_of) == small


# --- quotas page -----------------------------------------------------------------------------------------------


QUOTAS = "/quotas/"


def set_url(user) -> str:
    return reverse("pipeline:quota_set", args=[user.pk])


def test_the_quota_page_lists_the_managers_people(client_for, manager, owner, teammate, now):
    Quota.objects.create(user=owner, year=2026, quarter=1, amount=Decimal("7000"))
    response = client_for(manager).get(QUOTAS)
    assert response.status_code == 200
    rows = {r["person"].username: r for r in response.context["rows"]}
    assert rows["owner"]["amount"] == Decimal("7000") and rows["owner"]["may_set"]
    assert rows["teammate"]["amount"] is None
    assert not rows["manager"]["may_set"]


def test_a_manager_sets_a_quota_and_is_redirected(client_for, manager, owner, now):
    response = client_for(manager).post(set_url(owner), {"year": 2026, "quarter": 2, "amount": "12000"})
    assert response.status_code == 302
    assert response["Location"] == "/quotas/?year=2026&quarter=2"
    assert Quota.objects.get(user=owner, year=2026, quarter=2).amount == Decimal("12000")


def test_an_admin_sets_anyones_quota(client_for, admin, outsider, now):
    assert client_for(admin).post(set_url(outsider), {"year": 2026, "quarter": 1, "amount": "1"}).status_code == 302
    assert Quota.objects.filter(user=outsider).exists()


def test_a_rep_may_read_their_quota_but_not_set_it(client_for, owner, now):
    client = client_for(owner)
    assert client.get(QUOTAS).status_code == 200
    assert client.post(set_url(owner), {"year": 2026, "quarter": 1, "amount": "1"}).status_code == 403
    assert not Quota.objects.exists()


def test_outsiders_get_404_for_people_they_cannot_see(client_for, outsider, manager, owner, other_team):
    assert client_for(outsider).post(set_url(owner), {"year": 2026, "quarter": 1, "amount": "1"}).status_code == 404
    other_manager = type(manager).objects.create(username="om", role="manager")
    other_team.managers.add(other_manager)
    response = client_for(other_manager).post(set_url(owner), {"year": 2026, "quarter": 1, "amount": "1"})
    assert response.status_code == 404


def test_quota_set_wrong_method_is_405(client_for, manager, owner):
    assert client_for(manager).get(set_url(owner)).status_code == 405
    assert client_for(manager).post(QUOTAS).status_code == 405


def test_a_bad_amount_is_refused_with_a_message(client_for, manager, owner, now):
    response = client_for(manager).post(set_url(owner), {"year": 2026, "quarter": 1, "amount": "-5"}, follow=True)
    assert "greater than or equal to 0" in response.content.decode()
    assert not Quota.objects.exists()


def test_the_quota_page_picks_a_quarter(client_for, manager, now):
    response = client_for(manager).get(QUOTAS, {"year": 2025, "quarter": 4})
    assert (response.context["year"], response.context["quarter"]) == (2025, 4)
    assert response.context["next"] == "year=2026&quarter=1"


def test_htmx_shows_bad_filters_inline_without_a_lingering_message(client_for, manager, now):
    client = client_for(manager)
    response = client.get(URL, {"as_of": "2099-01-01"}, headers={"HX-Request": "true"})
    assert "cannot be in the future" in response.content.decode()
    assert "Some filters were not valid" not in client.get(URL).content.decode()
