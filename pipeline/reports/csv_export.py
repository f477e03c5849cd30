"""What every CSV export of the reports does to a cell before writing it."""

# A cell starting with one of these is run as a formula by spreadsheets ("CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text a spreadsheet would run as a formula gets a leading quote. Only text needs it:
    numbers and dates are written by us, and a negative amount must stay a number."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
