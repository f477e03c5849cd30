"""What the demo company holds of the recommendations (checked on the shared demo company in
tests/test_demo_company.py)."""

from opportunities.models import Opportunity
from people.models import User
from recommendations import mining, services
from recommendations.models import StepStat


def expect_counted_recommendations(now):
    assert StepStat.objects.exists()
    # The seed counted them as the nightly job would: counting again changes nothing.
    assert services.stats_refresh(now=now) == {"created": 0, "updated": 0, "deleted": 0}
    # Some open deal is at a stage with enough closed deals behind it to be recommended a step.
    admin = User.objects.filter(role="admin").first()
    stages = {s.stage_id for s in StepStat.objects.filter(segment="") if not mining.is_thin(s_counts(s))}
    deals = list(Opportunity.objects.open().filter(stage_id__in=stages).order_by("pk")[:50])
    assert deals
    assert any(services.recommendations_for(user=admin, opportunity=deal).items for deal in deals)


def s_counts(stat):
    return mining.Counts(stat.won_with, stat.won_total, stat.lost_with, stat.lost_total)
