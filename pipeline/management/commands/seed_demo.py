import time

from django.core.management.base import BaseCommand, CommandError

from pipeline.demo import PASSWORD, DemoBuilder, demo_logins, demo_present


class Command(BaseCommand):
    help = (
        "Load a believable demo company with 18 months of deal history, deterministically for a seed. "
        "Idempotent: does nothing if the demo data is already there. Prints the demo logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="Random seed; the same seed gives the same data.")
        parser.add_argument(
            "--opportunities",
            type=int,
            default=600,
            help="How many opportunities (accounts, contacts and history scale with it). Default 600.",
        )
        parser.add_argument("--quiet", action="store_true", help="Print only the demo logins.")

    def handle(self, *args, seed: int, opportunities: int, quiet: bool, **options):
        if opportunities < 0:
            raise CommandError("--opportunities cannot be negative.")
        if demo_present():
            self.stdout.write("demo data already present")
        else:
            say = (lambda message: None) if quiet else self.stdout.write
            say(f"Seeding the demo company: {opportunities:,} opportunities, seed {seed}…")
            started = time.monotonic()
            counts = DemoBuilder(seed=seed, opportunities=opportunities, log=say).build()
            say(
                f"Done in {time.monotonic() - started:.1f} s: "
                + ", ".join(f"{n:,} {name}" for name, n in counts.items())
                + "."
            )
        self._print_logins()

    def _print_logins(self):
        rows = [("username", "role", "team", "password"), *demo_logins()]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write(f"\nDemo logins (password for all: {PASSWORD}):")
        for row in rows:
            self.stdout.write("  " + "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))
