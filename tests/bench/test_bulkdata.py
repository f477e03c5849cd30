"""The benchmarks' bulk generator (bench/bulkdata.py) writes rows, not service calls: it must
write exactly what the services would have, so its company passes the same checks as the demo
seed built through them (tests/demo_checks.py), and the services carry on from it."""

import pytest

from bench.bulkdata import BulkBuilder
from opportunities.models import LeadSource, Opportunity
from tests import demo_checks

pytestmark = pytest.mark.django_db

SIZE = 60


def build(seed: int = 1) -> None:
    BulkBuilder(seed=seed, opportunities=SIZE).build()


@pytest.fixture
def seeded(now):
    build()
    assert Opportunity.objects.count() == SIZE
    return now


def test_the_bulk_company_passes_every_check(seeded):
    # One company for all the checks: building it is the slow part.
    for check in demo_checks.CHECKS:
        check(seeded)


def test_the_bulk_deals_have_a_mix_of_lead_sources(now):
    BulkBuilder(seed=3, opportunities=200).build()
    sources = set(Opportunity.objects.values_list("source", flat=True))
    assert {"inbound", "outbound", "referral", "partner", "existing_customer"} <= sources
    assert sources <= {*LeadSource.values, ""}
    # The created event says the source too, as the services write it.
    deal = Opportunity.objects.exclude(source="").first()
    assert deal.events.get(verb="created").data["source"] == deal.source


def test_the_same_seed_gives_the_same_data(now):
    build(7)
    first = demo_checks.digest()
    demo_checks.empty_database()
    build(7)
    assert demo_checks.digest() == first
    demo_checks.empty_database()
    build(8)
    assert demo_checks.digest() != first
