"""Who may read and who may change: the access rules every app uses.

They read only what a user is (role, team, managed teams) and whom a deal belongs to, so this
module names no model of a higher app: `deal` is anything with an `owner` (and `owner_id`).
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone


def visible_owner_q(user, prefix: str | None = "owner") -> Q:
    """The rows owned by people whose deals `user` may read; with `prefix=None`, those people
    themselves (a filter on users).

    The single place where opportunity visibility is decided: admins see everything, everyone
    sees their own, managers see their teams', reps see their team's when the visibility
    setting is "team".
    """
    if user.is_admin:
        return Q()
    q = Q(**{prefix: user}) if prefix else Q(pk=user.pk)
    team = f"{prefix}__team" if prefix else "team"
    team_ids = user.managed_team_ids()
    if team_ids:
        q |= Q(**{f"{team}__in": team_ids})
    if user.sees_team_deals():
        q |= Q(**{team: user.team_id})
    return q


def can_edit(user, deal) -> bool:
    """Whether `user` may change `deal` (reading is decided by `visible_owner_q`): its owner, a
    manager of the owner's team, an admin."""
    if user.is_admin or deal.owner_id == user.pk:
        return True
    return user.is_manager and deal.owner.team_id in user.managed_team_ids()


def can_reopen(user, deal, *, today: dt.date | None = None) -> bool:
    """Whether `user` may reopen the closed `deal`: its manager or an admin at any time
    (`can_override`), its owner within the organisation's `reopen_days` of closing it. The one
    rule the deal page, the API and the service ask."""
    if can_override(user, deal):
        return True
    if deal.owner_id != user.pk or deal.closed_on is None:
        return False
    days = user.reopen_days()  # 0: never
    return days > 0 and ((today or timezone.localdate()) - deal.closed_on).days <= days


def can_override(user, deal) -> bool:
    """Whether `user` may pass a gate of missing milestones, reopen `deal` or change a closed
    deal's worth: an admin, or a manager of the owner's team (never the owner alone)."""
    return user.is_admin or (user.is_manager and user.manages(deal.owner))


def get_readable(queryset, user, pk, *, write: bool = False):
    """The row `pk` of `queryset` as `user` may read it, for views and the API alike.

    `queryset` is a model's queryset with `for_user()` (what `user` may read) and rows with
    `can_edit(user)`. A row the user may not read is as absent as one that does not exist (404);
    with `write`, one they may read but not change is refused (PermissionDenied, 403; the API
    answers it as its own 403).
    """
    row = get_object_or_404(queryset.for_user(user), pk=pk)
    if write and not row.can_edit(user):
        raise PermissionDenied(f"You can view this {row._meta.verbose_name} but not change it.")
    return row
