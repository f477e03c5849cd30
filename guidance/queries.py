"""Reads for guided selling's pages: the Focus list, a deal's similar deals as the user may see
them, the model's weights by factor."""

from opportunities.models import Opportunity

from .learn import factor_of
from .models import DealSignal, WinModel
from .scoring import describe, factor_words

FOCUS_SIZE = 10


def focus_list(user, *, scope: str) -> list[DealSignal]:
    """The user's ten highest-priority open deals (scope "mine": their own; "team": all they may
    see), with each deal's account, stage and next step: one query."""
    signals = DealSignal.objects.for_user(user).filter(opportunity__status="open")
    if scope == "mine":
        signals = signals.filter(opportunity__owner=user)
    return list(
        signals.select_related(
            "opportunity", "opportunity__account", "opportunity__stage", "opportunity__next_step", "opportunity__owner"
        ).order_by("-priority", "opportunity_id")[:FOCUS_SIZE]
    )


def similar_deals(signal: DealSignal | None, user) -> dict:
    """{"won": [deals], "lost": [deals], "hidden_won": n, "hidden_lost": n}: the similar deals the
    user may see, and how many they may not (never named)."""
    if signal is None:
        return {"won": [], "lost": [], "hidden_won": 0, "hidden_lost": 0}
    won_ids, lost_ids = signal.icp.get("similar_won", []), signal.icp.get("similar_lost", [])
    visible = {
        d.pk: d for d in Opportunity.objects.for_user(user).filter(pk__in=won_ids + lost_ids).select_related("account")
    }
    return {
        "won": [visible[i] for i in won_ids if i in visible],
        "lost": [visible[i] for i in lost_ids if i in visible],
        "hidden_won": sum(1 for i in won_ids if i not in visible),
        "hidden_lost": sum(1 for i in lost_ids if i not in visible),
    }


def model_weights(model: WinModel | None, top: int = 12) -> list[dict]:
    """The model's largest coefficients in words ("Industry: Robotics" +0.9)."""
    if model is None or model.is_fallback:
        return []
    from stages.models import SalesProcess, Stage

    names = {
        "stage": dict(Stage.objects.values_list("pk", "name")),
        "process": dict(SalesProcess.objects.values_list("pk", "name")),
    }
    rows = []
    for name, coef in zip(model.feature_names, model.coefficients, strict=True):
        factor = factor_of(name)
        if "=" in name:
            value = name.split("=", 1)[1]
            if factor in names:
                words = f"{factor.capitalize()}: {names[factor].get(int(value), value)}"
            else:
                words = describe(factor, {factor: value})
        else:
            words = factor_words(factor)
        rows.append({"words": words, "weight": coef})
    rows.sort(key=lambda r: -abs(r["weight"]))
    return rows[:top]
