"""The deal page's ROI section (`opportunities.hooks.DealPanel`)."""

from django.db.models import Prefetch

from .models import Calculator, Result
from .services import plain

HISTORY_SHOWN = 5


def deal_roi_panel(deal, user) -> dict | None:
    """The process's calculator with the form filled from the deal's latest result (or the
    inputs' defaults), and the deal's latest results. One query on a process without a
    calculator (the deal page's usual case), three with one, however many results there are.
    A retired calculator still shows the results saved with it, without the form."""
    calculator = (
        Calculator.objects.filter(process_id=deal.process_id)
        .prefetch_related(
            "inputs",
            Prefetch(
                "results",
                queryset=Result.objects.filter(opportunity=deal).select_related("created_by")[:HISTORY_SHOWN],
                to_attr="deal_results",
            ),
        )
        .first()
    )
    if calculator is None or not (calculator.is_active or calculator.deal_results):
        return None
    results = calculator.deal_results
    latest = results[0] if results else None
    previous = {v["name"]: v["value"] for v in latest.values} if latest else {}
    return {
        "calculator": calculator,
        "inputs": [{"input": i, "value": previous.get(i.name, plain(i.default))} for i in calculator.inputs.all()],
        "results": results,
        "latest": latest,
        "can_calculate": calculator.is_active and deal.is_open and deal.can_edit(user),
    }
