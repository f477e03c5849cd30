"""What apps above this one show on its deal pages and lists, without this app naming them.

Imports flow one way (people, stages ← opportunities ← pipeline, postmortem), yet a deal's page
shows things a higher app owns, such as its open pipeline-health flags. The higher app registers
them here from its `AppConfig.ready()`; the deal page and the deal lists render each registered
template next to the deal's name with that deal's rows as `items` and, as `can_act`, whether the
user may change the deal.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet, prefetch_related_objects


@dataclass(frozen=True)
class DealBadges:
    """Rows of a higher app shown next to a deal's name, e.g. pipeline's open flags."""

    name: str  # unique among the registered badges
    related_name: str  # the reverse relation from Opportunity to the rows
    queryset: Callable[[], QuerySet]  # which of those rows, in display order
    template: str  # rendered with `items` and `can_act`


_registered: dict[str, DealBadges] = {}


def register_deal_badges(badges: DealBadges) -> None:
    """Show `badges` on deal pages and lists (registering the same name again replaces it)."""
    _registered[badges.name] = badges


def badge_prefetches() -> list[Prefetch]:
    """One prefetch per registered badge: a page of deals costs one query each, not one per deal."""
    return [Prefetch(b.related_name, queryset=b.queryset(), to_attr=f"_badges_{b.name}") for b in _registered.values()]


def deal_badges(deal) -> list[dict]:
    """[{"template", "items"}] for `deal`, from the prefetched rows (fetched now if they were not)."""
    if any(not hasattr(deal, f"_badges_{b.name}") for b in _registered.values()):
        prefetch_related_objects([deal], *badge_prefetches())
    return [{"template": b.template, "items": getattr(deal, f"_badges_{b.name}")} for b in _registered.values()]
