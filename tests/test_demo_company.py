"""A demo company of 150 deals, built once: each app's expectations of it (tests/<app>/test_demo.py)
run on the same company, since building it through the services is the slow part (over a minute
on PostgreSQL). Sharing aids logs activities on the deals: the company still passes every check."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests import demo_checks
from tests.aids.test_demo import expect_a_library_playbooks_and_shares
from tests.guidance.test_demo import expect_a_trained_model_and_scored_deals
from tests.postmortem.test_demo import expect_reviews_in_every_state_and_lessons
from tests.recommendations.test_demo import expect_counted_recommendations
from tests.roi.test_demo import expect_a_working_calculator_per_process

pytestmark = pytest.mark.django_db


def test_the_demo_company_has_every_apps_content_and_passes_every_check(now):
    call_command("seed_demo", "--opportunities", "150", "--quiet", "--force-demo-users", stdout=StringIO())
    expect_a_library_playbooks_and_shares()
    expect_reviews_in_every_state_and_lessons()
    expect_a_working_calculator_per_process()
    expect_counted_recommendations(now)
    expect_a_trained_model_and_scored_deals()
    for check in demo_checks.CHECKS:
        check(now)
