"""The demo company's ROI calculators: one per sales process, and results saved on some of its
open deals through the service, like a rep would. Deterministic for a seed; runs from the demo
seed (`opportunities.hooks.run_demo_seeders`) after the deals exist."""

import random
from decimal import Decimal

from opportunities.models import Opportunity
from stages.models import SalesProcess

from . import services
from .models import Calculator, CalculatorInput

# (calculator fields, inputs): the first fits new business (what the buyer saves a year), the
# second an expansion (how many months the extra seats take to pay back).
TEMPLATES = [
    (
        {
            "name": "Yearly saving",
            "description": "Time the team saves on pipeline admin, in money, net of the licence.",
            "formula": "seats * hours_saved * 46 * hourly_cost - seats * price * 12",
            "result_label": "Net saving per year",
            "result_unit": "€",
        },
        [
            ("seats", "Sales reps", "people", "25"),
            ("hours_saved", "Hours saved per rep per week", "hours", "2"),
            ("hourly_cost", "Loaded cost of a rep's hour", "€", "55"),
            ("price", "Price per seat per month", "€", "39"),
        ],
    ),
    (
        {
            "name": "Payback",
            "description": "Months until the added seats pay for themselves through extra wins.",
            "formula": "round(added_seats * price * 12 / max(extra_wins * deal_value * margin / 100, 1) * 12, 1)",
            "result_label": "Payback",
            "result_unit": "months",
        },
        [
            ("added_seats", "Added seats", "seats", "10"),
            ("price", "Price per seat per month", "€", "39"),
            ("extra_wins", "Extra deals won per year", "deals", "4"),
            ("deal_value", "Average deal value", "€", "18000"),
            ("margin", "Gross margin", "%", "60"),
        ],
    ),
]
DEALS_WITH_RESULTS = 24


def seed_roi_demo(*, seed: int, now) -> None:
    rand = random.Random(seed * 31 + 14)
    for index, process in enumerate(SalesProcess.objects.order_by("id")):
        if Calculator.objects.filter(process=process).exists():
            continue
        fields, inputs = TEMPLATES[index % len(TEMPLATES)]
        calculator = Calculator.objects.create(process=process, updated_at=now, **fields)
        CalculatorInput.objects.bulk_create(
            CalculatorInput(calculator=calculator, name=n, label=label, unit=unit, default=Decimal(d), order=i * 10)
            for i, (n, label, unit, d) in enumerate(inputs, start=1)
        )
    deals = list(Opportunity.objects.open().select_related("process", "owner").order_by("id")[: DEALS_WITH_RESULTS * 4])
    for deal in rand.sample(deals, min(DEALS_WITH_RESULTS, len(deals))):
        calculator = services.calculator_for(deal)
        values = {
            i.name: str(i.default * Decimal(rand.choice(["0.5", "0.8", "1", "1.5", "3"])))
            for i in calculator.inputs.all()
        }
        services.result_save(actor=deal.owner, opportunity=deal, values=values, now=now)
