"""What guided selling adds to the demo company (run on the shared company by
tests/test_demo_company.py)."""

from guidance.models import DealSignal, QualificationItem, QualificationTick, WinModel
from opportunities.models import Opportunity
from stages.models import SalesProcess


def expect_a_trained_model_and_scored_deals() -> None:
    assert QualificationItem.objects.filter(is_active=True).values("process").distinct().count() == (
        SalesProcess.objects.count()
    )
    assert QualificationTick.objects.exists()
    model = WinModel.objects.get(is_current=True)
    assert not model.is_fallback and model.n_won and model.n_lost
    assert DealSignal.objects.count() == Opportunity.objects.open().count()
    assert DealSignal.objects.filter(model_version=model.version).count() == DealSignal.objects.count()
    assert len({s.win_probability for s in DealSignal.objects.all()}) > 5
