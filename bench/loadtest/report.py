"""Summarise a locust run from its CSV statistics (`--csv PREFIX`): requests per second, p50/p95/
p99 per page and the errors, against the targets (no errors, p95 under 500 ms on every page).

    python bench/loadtest/report.py PREFIX      exit status 1 if a target is missed
"""

import csv
import sys
from pathlib import Path

P95_TARGET_MS = 500


def main(prefix: str) -> int:
    with Path(f"{prefix}_stats.csv").open(newline="") as stats:
        rows = list(csv.DictReader(stats))
    pages = [row for row in rows if row["Name"] != "Aggregated"]
    total = next(row for row in rows if row["Name"] == "Aggregated")
    say = print  # noqa: T201 — a command-line report

    say(f"{'page':<22} {'requests':>8} {'errors':>6} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for row in sorted(pages, key=lambda r: -int(r["Request Count"])) + [total]:
        name = "all pages" if row is total else f"{row['Type']} {row['Name']}"
        say(
            f"{name:<22} {row['Request Count']:>8} {row['Failure Count']:>6} {float(row['Requests/s']):>6.1f} "
            f"{row['50%']:>7} {row['95%']:>7} {row['99%']:>7}"
        )
    errors = int(total["Failure Count"])
    # Signing in (a deliberately slow password hash, once per person) is shown but not a page of the target.
    slow = [
        row["Name"]
        for row in pages
        if not row["Name"].startswith("sign in")
        and row["95%"] not in ("N/A", "")
        and float(row["95%"]) >= P95_TARGET_MS
    ]
    say(f"\nrequests/s: {float(total['Requests/s']):.1f}   errors: {errors}")
    failures = Path(f"{prefix}_failures.csv")
    if errors and failures.exists():
        with failures.open(newline="") as lines:
            for row in csv.DictReader(lines):
                say(f"  error: {row['Method']} {row['Name']}: {row['Error']} ({row['Occurrences']}×)")
    say(f"target 0 errors: {'met' if errors == 0 else 'MISSED'}")
    say(f"target p95 < {P95_TARGET_MS} ms on every page: {'met' if not slow else 'MISSED on ' + ', '.join(slow)}")
    return 1 if errors or slow else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
