"""A process's ROI calculator for the tests: saving = seats * hours * rate - licence."""

from decimal import Decimal

from roi.models import Calculator, CalculatorInput


def calculator_for(process, *, formula: str = "seats * hours * rate - licence") -> Calculator:
    calculator = Calculator.objects.create(
        process=process, name="Yearly saving", formula=formula, result_label="Net saving", result_unit="€"
    )
    for order, (name, label, unit, default) in enumerate(
        [
            ("seats", "Seats", "people", "10"),
            ("hours", "Hours saved", "h", "2"),
            ("rate", "Rate", "€", "50"),
            ("licence", "Licence", "€", "400"),
        ]
    ):
        CalculatorInput.objects.create(
            calculator=calculator, name=name, label=label, unit=unit, default=Decimal(default), order=order
        )
    return calculator
