"""Deals as CSV: the selection exported from My deals (page and API)."""

import csv

from django.http import HttpResponse

# A cell starting with one of these is run as a formula by spreadsheets ("CSV injection"). Every
# export (deals, accounts, reports, win/loss) writes its text cells through `neutralise`, and the
# import (`transfer.reading`) strips the same characters.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = (
    "id",
    "name",
    "account",
    "process",
    "stage",
    "owner",
    "amount",
    "expected_close_date",
    "status",
    "closed_on",
    "next_step",
    "next_step_due",
    "source",
)


def neutralise(value):
    """Text a spreadsheet would run as a formula gets a leading quote. Only text needs it:
    numbers and dates are written by us, and a negative amount must stay a number."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def deal_row(deal) -> list:
    step = deal.next_step
    return [
        deal.pk,
        deal.name,
        deal.account.name,
        deal.process.name,
        deal.stage.name,
        str(deal.owner),
        deal.amount,
        deal.expected_close_date.isoformat(),
        deal.status,
        deal.closed_on.isoformat() if deal.closed_on else "",
        str(step) if step else "",
        step.due_date.isoformat() if step else "",
        deal.source,
    ]


def deals_csv_response(deals, *, filename: str = "deals.csv") -> HttpResponse:
    """`deals` (with their account, process, stage, owner and next step loaded) as a download."""
    return csv_response(filename, COLUMNS, (deal_row(deal) for deal in deals))


def csv_response(filename: str, columns, rows) -> HttpResponse:
    """A CSV download of `rows` (lists of values) under `columns`, every text cell neutralised:
    what every list's export writes (the lists of higher apps call it too)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
    return response


ACCOUNT_COLUMNS = ("id", "name", "website", "industry", "region", "employee_band", "revenue_band", "status", "owner")
CONTACT_COLUMNS = ("id", "first_name", "last_name", "title", "email", "phone", "account")


def accounts_csv_response(accounts) -> HttpResponse:
    return csv_response(
        "accounts.csv",
        ACCOUNT_COLUMNS,
        (
            [a.pk, a.name, a.website, a.industry, a.region, a.employee_band, a.revenue_band, a.status, str(a.owner)]
            for a in accounts
        ),
    )


def contacts_csv_response(contacts) -> HttpResponse:
    return csv_response(
        "contacts.csv",
        CONTACT_COLUMNS,
        ([c.pk, c.first_name, c.last_name, c.title, c.email, c.phone, c.account.name] for c in contacts),
    )


ACTIVITY_COLUMNS = ("id", "occurred_at", "kind", "subject", "notes", "account", "deal", "contacts", "logged_by")


def activities_csv_response(activities, *, filename: str) -> HttpResponse:
    """`activities` (with their account, deal, contacts and author loaded), newest first."""
    return csv_response(
        filename,
        ACTIVITY_COLUMNS,
        (
            [
                a.pk,
                a.occurred_at.isoformat(),
                a.get_kind_display(),
                a.subject,
                a.notes,
                a.account.name,
                a.opportunity.name if a.opportunity_id else "",
                "; ".join(str(c) for c in a.contacts.all()),
                str(a.created_by),
            ]
            for a in activities
        ),
    )
