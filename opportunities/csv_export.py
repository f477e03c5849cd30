"""Deals as CSV: the selection exported from My deals (page and API)."""

import csv

from django.http import HttpResponse

# A cell starting with one of these is run as a formula by spreadsheets ("CSV injection"); the
# same rule as the reports' exports (pipeline.reports.csv_export), which this app may not import.
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
)


def neutralise(value):
    """Text a spreadsheet would run as a formula gets a leading quote (only text: numbers and
    dates are written by us)."""
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
    ]


def deals_csv_response(deals, *, filename: str = "deals.csv") -> HttpResponse:
    """`deals` (with their account, process, stage, owner and next step loaded) as a download."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    for deal in deals:
        writer.writerow([neutralise(value) for value in deal_row(deal)])
    return response
