"""The deal page's Signals section (`opportunities.hooks.DealPanel`): the stored scores and the
qualification checklist. Two queries, whatever the deal; nothing is computed per request."""

from django.db.models import Exists, OuterRef

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
