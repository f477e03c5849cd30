"""The demo company has an ROI calculator per process, and results on some deals."""

from io import StringIO

import pytest
from django.core.management import call_command

from roi.formula import parse
from roi.models import Calculator, Result
from stages.models import SalesProcess

pytestmark = pytest.mark.django_db


def test_the_demo_seed_has_a_working_calculator_per_process(now):
    call_command("seed_demo", "--opportunities", "200", "--quiet", "--force-demo-users", stdout=StringIO())
    assert Calculator.objects.count() == SalesProcess.objects.count() >= 2
    for calculator in Calculator.objects.prefetch_related("inputs"):
        parse(calculator.formula, [i.name for i in calculator.inputs.all()])
    assert Result.objects.count() >= 10
    assert all(
        r.opportunity.process_id == r.calculator.process_id for r in Result.objects.select_related("opportunity")
    )
