"""The deal page's "Recommended next steps" panel (lazy: it reads the stage's statistics, the
deal's steps taken, and the lessons and aids, in a request of its own)."""

from .services import REASON_MAX, recommendations_for


def deal_recommendations_panel(deal, user) -> dict | None:
    """The panel's context (`opportunities.hooks.DealPanel`): open deals only."""
    if not deal.is_open:
        return None
    return {
        "result": recommendations_for(user=user, opportunity=deal),
        "can_act": deal.can_edit(user),
        "reason_max": REASON_MAX,
    }
