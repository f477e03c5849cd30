import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pipeline.demo import PASSWORD, demo_logins, demo_present, seed_demo


class Command(BaseCommand):
    help = (
        "Load a believable demo company with 18 months of deal history, deterministically for a seed. "
        "Idempotent: does nothing if the demo data is already there. Prints the demo logins. "
        "Only with DEBUG on, since the demo users' password is published, unless --force-demo-users."
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
        parser.add_argument(
            "--force-demo-users",
            action="store_true",
            help="Create the demo users even with DEBUG off (benchmarks, load tests): their password is "
            "published, so never on an installation others can reach.",
        )

    def handle(self, *args, seed: int, opportunities: int, quiet: bool, force_demo_users: bool, **options):
        if opportunities < 0:
            raise CommandError("--opportunities cannot be negative.")
        present = demo_present()
        if not present and not settings.DEBUG and not force_demo_users:
            # DEBUG off is how a real installation runs: users who sign in with a password printed
            # in the README would be an open door.
            raise CommandError(
                f"DEBUG is off, so the demo users (password {PASSWORD!r}, published) are not created. "
                "Run it with DEBUG=1 on your own machine, or pass --force-demo-users for a private "
                "benchmark or load-test database."
            )
        if present:
            self.stdout.write("demo data already present")
        else:
            say = (lambda message: None) if quiet else self.stdout.write
            say(f"Seeding the demo company: {opportunities:,} opportunities, seed {seed}…")
            started = time.monotonic()
            counts = seed_demo(now=timezone.now(), seed=seed, opportunities=opportunities, log=say)
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
