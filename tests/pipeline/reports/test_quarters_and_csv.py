"""The one quarter arithmetic and the one CSV cell rule that the board and the reports share."""

import datetime as dt

import pytest

from opportunities.csv_export import neutralise
from pipeline.reports.quarters import (
    next_quarter,
    previous_quarter,
    quarter_bounds,
    quarter_end,
    quarter_label,
    quarter_of,
    quarter_start,
)


@pytest.mark.parametrize(
    ("day", "label", "first", "last"),
    [
        (dt.date(2026, 1, 1), "2026-Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        (dt.date(2026, 5, 31), "2026-Q2", dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
        (dt.date(2026, 9, 30), "2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
        (dt.date(2024, 12, 31), "2024-Q4", dt.date(2024, 10, 1), dt.date(2024, 12, 31)),
    ],
)
def test_a_day_its_quarter_and_the_quarters_bounds_agree(day, label, first, last):
    assert quarter_label(day) == label
    assert (quarter_start(*quarter_of(day)), quarter_end(*quarter_of(day))) == (first, last)
    assert quarter_bounds(label) == quarter_bounds(f" {label.lower().replace('-', '')} ") == (first, last)


def test_quarters_step_over_the_year():
    assert next_quarter(2026, 4) == (2027, 1) and previous_quarter(2027, 1) == (2026, 4)
    assert next_quarter(*previous_quarter(2026, 2)) == (2026, 2)


@pytest.mark.parametrize("text", ["2026-Q5", "Q3", "", "1999-Q1"])
def test_what_is_not_a_quarter_is_refused_in_words(text):
    with pytest.raises(ValueError, match="quarter"):
        quarter_bounds(text)


@pytest.mark.parametrize(
    ("value", "written"),
    [("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-2", "'-2"), ("@x", "'@x"), ("\tx", "'\tx"), ("Acme", "Acme")],
)
def test_text_a_spreadsheet_would_run_gets_a_quote(value, written):
    assert neutralise(value) == written


def test_numbers_stay_numbers():
    assert neutralise(-5) == -5 and neutralise(None) is None
