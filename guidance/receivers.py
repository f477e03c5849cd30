"""Listeners to the apps below this one (imports flow one way: `opportunities` announces, we listen).

A deal's stored signals follow its changes the same day: each change (stage, amount, close
date, next step, buying team, activity) has the deal rescored in the background once the change
commits, rather than waiting for the nightly run. In the background, not in the request: a
deal's first scoring compares it with every closed deal.
"""

from opportunities.signals import opportunity_changed

from . import services


def rescore_changed_deal(sender, *, opportunity_id: int, **kwargs) -> None:
    services.signals_rescore_later(opportunity_id=opportunity_id)


def connect() -> None:
    opportunity_changed.connect(rescore_changed_deal, dispatch_uid="guidance.rescore_changed_deal")
