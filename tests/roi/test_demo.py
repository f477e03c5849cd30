"""The demo company has an ROI calculator per process, and results on some deals."""

from roi.formula import parse
from roi.models import Calculator, Result
from stages.models import SalesProcess


def expect_a_working_calculator_per_process():
    """Run on the demo company seeded once for every app (tests/test_demo_company.py)."""
    assert Calculator.objects.count() == SalesProcess.objects.count() >= 2
    for calculator in Calculator.objects.prefetch_related("inputs"):
        parse(calculator.formula, [i.name for i in calculator.inputs.all()])
    assert Result.objects.count() >= 10
    assert all(
        r.opportunity.process_id == r.calculator.process_id for r in Result.objects.select_related("opportunity")
    )
