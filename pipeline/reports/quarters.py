"""Calendar quarters, the one place their arithmetic is done: (year, quarter) pairs, their first
and last days, and their names ("2026-Q3")."""

import datetime as dt
import re

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_start(year: int, quarter: int) -> dt.date:
    return dt.date(year, 3 * (quarter - 1) + 1, 1)


def quarter_end(year: int, quarter: int) -> dt.date:
    year2, quarter2 = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return quarter_start(year2, quarter2) - dt.timedelta(days=1)


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def quarter_name(year: int, quarter: int) -> str:
    """A quarter as people write it and as every page shows it: "2026-Q3"."""
    return f"{year}-Q{quarter}"


def quarter_label(day: dt.date) -> str:
    """The quarter `day` falls in, named: "2026-Q3"."""
    return quarter_name(*quarter_of(day))


def quarter_bounds(text: str) -> tuple[dt.date, dt.date]:
    """("2026-Q3") → (2026-07-01, 2026-09-30); ValueError with a readable message otherwise."""
    match = _QUARTER.match(text or "")
    if not match:
        raise ValueError(f"“{text}” is not a quarter; write it like 2026-Q3.")
    year, quarter = int(match[1]), int(match[2])
    if not 2000 <= year <= 2100:
        raise ValueError(f"“{text}” is not a quarter between 2000 and 2100.")
    return quarter_start(year, quarter), quarter_end(year, quarter)
