"""Importing accounts, contacts and deals: formats, encodings, duplicates, bad input, undo."""

import datetime as dt
import io
import json

import openpyxl
import pytest

from opportunities import services as deal_services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import Account, AccountEvent, Contact, Opportunity, OpportunityEvent
from tests.transfer.helpers import csv_bytes, run_import
from transfer import services
from transfer.fields import Kind, suggest_mapping
from transfer.models import ImportStatus
from transfer.reading import FileRefused, read_table

ACCOUNTS = [
    ["Account Name", "Website", "Industry", "Billing Country", "Employees"],
    ["Globex", "www.globex.example", "Energy", "Germany", "120"],
    ["Initech", "https://initech.example", "Software", "France", "8"],
]


# --- reading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ("Name,Town\nZoë,Köln\n".encode(), "utf8.csv"),
        (b"\xef\xbb\xbf" + "Name,Town\nZoë,Köln\n".encode(), "bom.csv"),
        ("Name;Town\nZoë;Köln\n".encode("latin-1"), "latin1-semicolon.csv"),
        ("Name\tTown\nZoë\tKöln\n".encode(), "tabs.txt"),
        (json.dumps({"Name": "Zoë", "Town": "Köln"}).encode() + b"\n", "rows.jsonl"),
    ],
)
def test_files_are_read_in_any_common_encoding_and_separator(data, name):
    assert read_table(data, name) == (["Name", "Town"], [["Zoë", "Köln"]])


def test_xlsx_is_read_with_dates_as_iso():
    book = openpyxl.Workbook()
    book.active.append(["Name", "Created"])
    book.active.append(["Zoë", dt.datetime(2024, 5, 1)])
    out = io.BytesIO()
    book.save(out)
    assert read_table(out.getvalue(), "x.xlsx") == (["Name", "Created"], [["Zoë", "2024-05-01"]])


def test_formula_cells_are_neutralised_but_signed_numbers_kept():
    header, rows = read_table(b'Name,Amount\n"=HYPERLINK(""http://x"")",-5\n@SUM(A1),+44 20\n', "f.csv")
    assert rows == [['HYPERLINK("http://x")', "-5"], ["SUM(A1)", "+44 20"]]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "x.csv", "empty"),
        (b"Name,Town\n", "x.csv", "no rows"),
        (b"Name,Name\na,b\n", "x.csv", "unique"),
        (b"PK\x03\x04broken", "x.xlsx", "XLSX"),
        (b'{"a": 1}\nnot json\n', "x.jsonl", "Line 2"),
        (b"Name\n" + b"x" * 10_001 + b"\n", "x.csv", "longer than"),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(data, name, message):
    with pytest.raises(FileRefused, match=message):
        read_table(data, name)


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr("transfer.reading.MAX_ROWS", 3)
    with pytest.raises(FileRefused, match="more than 3 rows"):
        read_table(b"Name\n" + b"a\n" * 5, "x.csv")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["Opportunity Name", "Account Name", "Amount", "Stage", "Close Date", "Opportunity Owner"], "salesforce"),
        (["Deal Name", "Associated Company", "Amount", "Deal Stage", "Close Date", "Deal owner"], "hubspot"),
        (["Deal - Title", "Deal - Organization", "Deal - Value", "Deal - Stage", "Deal - Owner"], "pipedrive"),
    ],
)
def test_the_mapping_is_suggested_from_other_crms_column_names(header, expected):
    mapping = suggest_mapping(Kind.DEALS, header)
    assert [mapping.get(f) for f in ("name", "account", "amount", "stage")] == header[:4]
    assert mapping["owner"] == header[-1]


# --- accounts and contacts ------------------------------------------------------------------------


def test_accounts_are_imported_with_an_audit_row(admin, now):
    job = run_import(admin, Kind.ACCOUNTS, csv_bytes(ACCOUNTS), now=now)
    assert job.counts == {"created": 2, "updated": 0, "skipped": 0}
    globex = Account.objects.get(name="Globex")
    assert (globex.website, globex.region, globex.employee_band, globex.owner) == (
        "https://www.globex.example",
        "Germany",
        "51-200",
        admin,
    )
    assert AccountEvent.objects.get(account=globex).verb == "account_created"


@pytest.mark.parametrize(
    ("action", "expected"),
    [("skip", ("Energy", 1)), ("update", ("Utilities", 1)), ("create", ("Energy", 2))],
)
def test_duplicate_accounts_by_domain_follow_the_chosen_action(admin, now, action, expected):
    run_import(admin, Kind.ACCOUNTS, csv_bytes(ACCOUNTS), now=now)
    again = [ACCOUNTS[0], ["Globex GmbH", "globex.example", "Utilities", "", ""]]
    job = run_import(admin, Kind.ACCOUNTS, csv_bytes(again), now=now, duplicates=action)
    first = Account.objects.filter(website__contains="globex").order_by("pk").first()
    assert (first.industry, Account.objects.filter(website__contains="globex").count()) == expected
    assert job.counts[{"skip": "skipped", "update": "updated", "create": "created"}[action]] == 1


def test_a_row_can_override_the_default_duplicate_action(admin, now):
    run_import(admin, Kind.ACCOUNTS, csv_bytes(ACCOUNTS), now=now)
    job = run_import(admin, Kind.ACCOUNTS, csv_bytes(ACCOUNTS), now=now, duplicates="skip", row_actions={"3": "update"})
    assert job.counts == {"created": 0, "updated": 0, "skipped": 2}  # row 3 had nothing new


def test_contacts_are_matched_by_email_and_create_missing_accounts(admin, contact, now):
    rows = [
        ["First Name", "Last Name", "Email", "Title", "Account Name"],
        ["Carla", "Contact", "CARLA@acme.example", "CFO", "Acme Corp"],
        ["Ned", "New", "ned@newco.example", "CTO", "Newco"],
    ]
    job = run_import(admin, Kind.CONTACTS, csv_bytes(rows), now=now, duplicates="update")
    assert job.counts == {"created": 1, "updated": 1, "skipped": 0}
    contact.refresh_from_db()
    assert contact.title == "CFO"
    assert Contact.objects.get(email="ned@newco.example").account.name == "Newco"


# --- bad input: a message per row, nothing written -----------------------------------------------------


DEALS = ["Deal Name", "Account", "Amount", "Stage", "Owner", "Close Date"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["D", "Acme", "lots", "Qualify", "", "2030-01-01"], "Row 2: Amount: “lots” is not a number."),
        (["D", "Acme", "10", "Qualify", "", "31/31/2030"], "Row 2: Expected close date: “31/31/2030” is not a date."),
        (["D", "Acme", "10", "Nowhere", "", "2030-01-01"], "Row 2: Stage: “Nowhere” is not mapped to a stage"),
        (["D", "Acme", "10", "Qualify", "nobody", "2030-01-01"], "Row 2: Owner: “nobody” is not mapped"),
        (["D", "Acme", "10", "Qualify", "", ""], "Row 2: Expected close date: an open deal needs"),
        (["", "Acme", "10", "Qualify", "", "2030-01-01"], "Row 2: Deal name: Deal name is required."),
        (["D", "Acme", "10", "Closed Lost", "", "2024-01-01"], "Row 2: Lost reason: a lost deal needs"),
        (["D", "Acme", "10", "Qualify", "", "2030-01-01", "Pigeon"], "Row 2: Lead source: “Pigeon” is not a valid"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_written(admin, process, now, row, message):
    good = ["Fine", "Acme", "10", "Qualify", "", "2030-01-01"]
    if len(row) > len(DEALS):  # a row with a lead source: the file has the column
        return _bad_rows_with_a_source(admin, now, row, message, good)
    counts = (Account.objects.count(), Opportunity.objects.count(), OpportunityEvent.objects.count())
    with pytest.raises(DomainError, match="nothing was imported"):
        run_import(admin, Kind.DEALS, csv_bytes([DEALS, row, good]), now=now)
    job = services.ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert job.errors[0].startswith(message), job.errors
    assert (Account.objects.count(), Opportunity.objects.count(), OpportunityEvent.objects.count()) == counts


def _bad_rows_with_a_source(admin, now, row, message, good):
    counts = (Account.objects.count(), Opportunity.objects.count(), OpportunityEvent.objects.count())
    with pytest.raises(DomainError, match="nothing was imported"):
        run_import(admin, Kind.DEALS, csv_bytes([[*DEALS, "Lead Source"], row, [*good, "Referral"]]), now=now)
    job = services.ImportJob.objects.get()
    assert job.errors[0].startswith(message), job.errors
    assert (Account.objects.count(), Opportunity.objects.count(), OpportunityEvent.objects.count()) == counts


def test_deals_keep_their_lead_source(admin, process, now):
    rows = [
        [*DEALS, "Lead Source"],
        ["Referred", "Acme", "10", "Qualify", "", "2030-01-01", "Referral"],
        ["Customer", "Acme", "10", "Qualify", "", "2030-01-01", "existing_customer"],
        ["Unknown", "Acme", "10", "Qualify", "", "2030-01-01", ""],
    ]
    job = run_import(admin, Kind.DEALS, csv_bytes(rows), now=now)
    deals = Opportunity.objects.filter(pk__in=job.created_ids["opportunity"])
    assert dict(deals.values_list("name", "source")) == {
        "Referred": "referral",
        "Customer": "existing_customer",
        "Unknown": "",
    }
    created = OpportunityEvent.objects.get(opportunity__name="Referred", verb="created")
    assert created.data["source"] == "referral"


def test_a_missing_required_column_is_refused(admin, now):
    job = services.import_upload(actor=admin, kind=Kind.DEALS, filename="d.csv", data=csv_bytes([["Name"], ["x"]]))
    with pytest.raises(DomainError, match="Choose a column for: Account, Amount"):
        services.import_map(job, actor=admin, mapping=job.mapping)


def test_only_admins_import(owner, manager):
    for user in (owner, manager):
        with pytest.raises(AccessDenied):
            services.import_upload(actor=user, kind=Kind.ACCOUNTS, filename="a.csv", data=csv_bytes(ACCOUNTS))


def test_open_deals_get_their_next_step_and_the_dashboard_state(admin, process, owner, now):
    rows = [
        DEALS + ["Next step", "Next step due"],
        ["Big", "Acme", "1.500,50", "Discover", "", "2030-01-01", "Call", "2030-01-01"],
    ]
    job = run_import(admin, Kind.DEALS, csv_bytes(rows), now=now)
    deal = Opportunity.objects.get(pk__in=job.created_ids["opportunity"])
    assert (deal.stage.name, str(deal.amount), deal.status, str(deal.next_step)) == (
        "Discover",
        "1500.50",
        "open",
        "Call",
    )
    assert deal.account.status == "prospect"
    current = OpportunityEvent.objects.alive_at(now).get(opportunity=deal)
    assert (current.state_stage, current.state_status) == (deal.stage, "open")


def test_imported_open_deals_are_evaluated_by_the_next_incremental_sweep(admin, process, now):
    """An import writes its deals around the services, which announce each deal they change: it
    hands its open deals to the next pipeline-health sweep itself."""
    from pipeline.health.services import pipeline_sweep
    from pipeline.models import Flag, HealthChange

    pipeline_sweep(now=now)  # the sweeps that follow are incremental
    rows = [DEALS, ["Open", "Acme", "10", "Qualify", "", "2030-01-01"]]
    job = run_import(admin, Kind.DEALS, csv_bytes(rows), now=now)
    (deal,) = job.created_ids["opportunity"]
    assert list(HealthChange.objects.values_list("opportunity_id", flat=True)) == [deal]

    result = pipeline_sweep(now=now + dt.timedelta(minutes=15))

    assert (result.full, result.evaluated) == (False, 1)
    assert set(Flag.objects.open().filter(opportunity_id=deal).values_list("kind", flat=True)) == {"no_next_step"}


# --- undo ---------------------------------------------------------------------------------------------


def test_undo_removes_everything_the_import_created(admin, process, now):
    before = (Account.objects.count(), Opportunity.objects.count(), AccountEvent.objects.count())
    job = run_import(
        admin, Kind.DEALS, csv_bytes([DEALS, ["Big", "Newco", "10", "Qualify", "", "2030-01-01"]]), now=now
    )
    services.import_undo(job, actor=admin, now=now)
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    assert (Account.objects.count(), Opportunity.objects.count(), AccountEvent.objects.count()) == before


def test_undo_restores_what_the_import_updated(admin, now):
    run_import(admin, Kind.ACCOUNTS, csv_bytes(ACCOUNTS), now=now)
    job = run_import(
        admin,
        Kind.ACCOUNTS,
        csv_bytes([ACCOUNTS[0], ["Globex", "", "Utilities", "", ""]]),
        now=now,
        duplicates="update",
    )
    services.import_undo(job, actor=admin, now=now)
    assert Account.objects.get(name="Globex").industry == "Energy"


def test_undo_is_refused_once_someone_else_touched_the_rows(admin, process, now):
    job = run_import(
        admin, Kind.DEALS, csv_bytes([DEALS, ["Big", "Newco", "10", "Qualify", "", "2030-01-01"]]), now=now
    )
    deal = Opportunity.objects.get(pk__in=job.created_ids["opportunity"])
    deal_services.opportunity_update(deal, actor=admin, amount="20", expected_version=deal.version, now=now)
    with pytest.raises(DomainError, match="deals have been changed"):
        services.import_undo(job, actor=admin, now=now)
    assert Opportunity.objects.filter(pk=deal.pk).exists()


def test_a_large_file_is_committed_by_the_celery_task_after_the_request(
    admin, process, now, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "SYNC_ROWS", 1)
    rows = [DEALS] + [[f"D{i}", f"Co {i % 3}", "10", "Qualify", "", "2030-01-01"] for i in range(5)]
    job = services.import_upload(actor=admin, kind=Kind.DEALS, filename="d.csv", data=csv_bytes(rows), now=now)
    services.import_map(job, actor=admin, mapping=job.mapping, value_map=services.suggest_value_map(job))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.import_start(job, actor=admin, now=now)
    assert (job.status, Opportunity.objects.count(), len(callbacks)) == (ImportStatus.QUEUED, 0, 1)
    callbacks[0]()
    job.refresh_from_db()
    assert (job.status, job.counts["created"], Opportunity.objects.count()) == (ImportStatus.DONE, 5, 5)
    # Run twice (a redelivered message): nothing more happens.
    from transfer.tasks import run_import

    run_import(job.pk, admin.pk)
    assert Opportunity.objects.count() == 5
