"""The deal page's Signals section (`opportunities.hooks.DealPanel`): the stored scores and the
qualification checklist. Two queries, whatever the deal; nothing is computed per request. And
My deals' signal columns (`opportunities.hooks.DealColumns`): one query per page of deals."""

from django.db.models import Case, Exists, F, OuterRef, When

from opportunities.hooks import DealColumns, DealSort
from opportunities.models import OpportunityStatus

from .models import DealSignal, QualificationItem, QualificationTick


def split_lines(explanation: dict) -> dict:
    """The explanation's lines as shown: the baseline lines, the factors for, against, the rest."""
    lines = explanation.get("lines", [])
    fixed = {"stage", "record", "other"}
    return {
        "base": [line for line in lines if line["factor"] in ("stage", "record")],
        "for": [line for line in lines if line["factor"] not in fixed and line["points"] > 0],
        "against": [line for line in lines if line["factor"] not in fixed and line["points"] < 0],
        "level": [line for line in lines if line["factor"] not in fixed and line["points"] == 0],
        "other": [line for line in lines if line["factor"] == "other"],
    }


def deal_signals_panel(deal, user) -> dict | None:
    if not deal.is_open:
        return None
    signal = DealSignal.objects.filter(opportunity_id=deal.pk).first()
    items = list(
        QualificationItem.objects.filter(process_id=deal.process_id, is_active=True).annotate(
            ticked=Exists(QualificationTick.objects.filter(opportunity_id=deal.pk, item=OuterRef("pk")))
        )
    )
    return {
        "signal": signal,
        "lines": split_lines(signal.win_explanation) if signal else {},
        "items": items,
        "can_tick": deal.can_edit(user),
    }


def _highest_first(field: str):
    """An open deal's stored `field`, highest first; deals without one last, closed deals too
    (their rows wait for the nightly scoring to remove them, and show none)."""
    return Case(When(status=OpportunityStatus.OPEN, then=F(f"signal__{field}"))).desc(nulls_last=True)


def deal_signal_columns() -> DealColumns:
    """Win %, viability, ICP fit and priority (its reason, as on the deal page) on My deals, and
    its sorts by priority and by win probability; deals without a stored signal sort last."""
    return DealColumns(
        name="signals",
        related_name="signal",
        # The figures only: the explanations are the deal page's.
        queryset=lambda: DealSignal.objects.only(
            "opportunity", "win_probability", "viability", "icp_score", "priority", "reason"
        ),
        header_template="guidance/_deal_columns_head.html",
        cell_template="guidance/_deal_columns.html",
        width=4,
        sorts=(
            DealSort(
                key="priority",
                label="Priority, highest first",
                order_by=(_highest_first("priority"), "expected_close_date", "id"),
            ),
            DealSort(
                key="win",
                label="Win probability, highest first",
                order_by=(_highest_first("win_probability"), _highest_first("priority"), "id"),
            ),
        ),
    )
