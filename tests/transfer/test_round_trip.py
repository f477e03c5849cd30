"""Export → import into an empty database → the same data and the same dashboard numbers."""

import datetime as dt
import io
import zipfile

from django.urls import reverse

from opportunities import services as deal_services
from opportunities.models import Account, Competitor, Contact, Opportunity
from people.models import User
from pipeline.reports.dashboard import Dashboard, Filters
from tests.transfer.helpers import run_import
from tests.transfer.test_history import by_services, facts, history
from transfer.fields import Kind
from transfer.models import ExportJob
from transfer.services import at

D = dt.date


def dashboard_numbers(admin) -> dict:
    now = at(D(2024, 6, 30))
    numbers = {}
    for as_of in (None, D(2024, 2, 15)):
        filters = Filters(user=admin, now=now, period_start=D(2024, 1, 1), period_end=D(2024, 6, 30), as_of=as_of)
        board = Dashboard(filters, people=list(User.objects.all()))
        numbers[as_of] = {name: board.table(name).rows for name in Dashboard.TABLES}
    return numbers


def portable(deal: Opportunity) -> tuple:
    """A deal's history and facts with the ids that differ between databases replaced by names."""
    contacts = dict(Contact.objects.values_list("pk", "email"))
    events = [(*row[:-1], {k: v for k, v in row[-1].items() if k != "contact_id"}) for row in history(deal)]
    deal_facts, ticks, activities, team, competitors = facts(deal)
    deal_facts = (*deal_facts[:1], deal.account.name, *deal_facts[2:])
    team = [(contacts[c], roles, added) for c, roles, added in team]
    return events, (deal_facts, ticks, activities, team, competitors)


def test_export_then_import_into_an_empty_database_gives_the_same_data(
    admin, owner, account, process, contact, lost_reason, client_for, now, django_capture_on_commit_callbacks
):
    competitor = Competitor.objects.create(name="Rival")
    by_services(admin, owner, account, process, contact, lost_reason, competitor, won=False)
    won = by_services(admin, owner, account, process, contact, lost_reason, competitor, won=True)
    Opportunity.objects.filter(pk=won.pk).update(name="Acme expansion")
    deal_services.opportunity_create(
        actor=admin,
        account=account,
        process=process,
        name="Acme renewal",
        amount="500",
        expected_close_date=D(2030, 1, 1),
        owner=owner,
        next_step_description="Call Carla",
        next_step_due_date=D(2030, 1, 1),
        now=now,
    )
    before = {d.name: portable(d) for d in Opportunity.objects.all()}
    numbers = dashboard_numbers(admin)

    client = client_for(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("transfer:exports"))
    job = ExportJob.objects.get()
    download = client.get(reverse("transfer:export_file", args=[job.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "tables/opportunity_events.jsonl" in archive.namelist()

    Opportunity.objects.all().delete()
    Account.objects.all().delete()
    for kind in (Kind.ACCOUNTS, Kind.CONTACTS, Kind.DEALS):
        job = run_import(admin, kind, archive.read(f"import/{kind}.jsonl"), filename=f"{kind}.jsonl", now=now)
        assert job.status == "done", job.errors

    after = {d.name: portable(d) for d in Opportunity.objects.all()}
    assert after.keys() == before.keys()
    for name in ("Acme rollout", "Acme expansion"):
        assert after[name] == before[name], name

    # The open deal was created today; a file says which day, not which hour.
    def same_day(values):
        return [v.date() if isinstance(v, dt.datetime) else v for v in values]

    assert same_day(after["Acme renewal"][1][0]) == same_day(before["Acme renewal"][1][0])
    assert dashboard_numbers(admin) == numbers
