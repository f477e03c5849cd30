"""Listeners to the apps below this one (imports flow one way: `opportunities` announces, we listen).

When a user action changes a deal, its flags are re-evaluated at once, inside the action's
transaction, so the badge disappears in the response to the click that fixed it: setting a next
step resolves "no next step", closing a deal resolves all its flags.

Only resolving happens here, never opening. Opening is the sweep's job because:
* most flags appear by the passage of time (idle, stuck, overdue), which no action triggers, so
  the sweep must open flags anyway, and one opener keeps one place that notifies people;
* a deal is often mid-edit (created now, its next step added a minute later): flagging and
  notifying the manager in between would be noise, where the sweep gives the owner a grace
  period of up to one interval;
* the request stays cheap and writes nothing a user did not ask for besides clearing badges.

Each announced deal is also remembered (`services.health_change_record`, one row) for the next
sweep, which then evaluates only the deals changed or crossing a time threshold since the one
before, instead of every open deal.
"""

from opportunities.signals import opportunity_changed

from . import services


def resolve_cleared_flags(sender, *, opportunity_id: int, now=None, **kwargs) -> None:
    services.flags_reevaluate(opportunity_id=opportunity_id, now=now)


def remember_changed_deal(sender, *, opportunity_id: int, now=None, **kwargs) -> None:
    services.health_change_record(opportunity_id=opportunity_id, now=now)


def connect() -> None:
    opportunity_changed.connect(resolve_cleared_flags, dispatch_uid="pipeline.resolve_cleared_flags")
    opportunity_changed.connect(remember_changed_deal, dispatch_uid="pipeline.remember_changed_deal")
