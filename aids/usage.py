"""Measured use of the library: which aids are shared, at which stage and by whom, and how the
deals that received an aid fare against those that did not (stage progression and win rate,
always with the counts behind each rate). Over the deals the viewer may see; a fixed number of
queries however many aids and deals there are.
"""

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce

from opportunities.models import Opportunity, OpportunityStatus
from stages.models import Stage

from .models import Share

TOP = 30


def _rate(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _outcomes(prefix: str = "") -> dict:
    won = Q(**{f"{prefix}status": OpportunityStatus.WON})
    lost = Q(**{f"{prefix}status": OpportunityStatus.LOST})
    pk = f"{prefix}pk" if prefix else "pk"
    return {
        "deals": Count(pk, distinct=True),
        "won": Count(pk, filter=won, distinct=True),
        "lost": Count(pk, filter=lost, distinct=True),
    }


def _with_rates(row: dict) -> dict:
    closed = row["won"] + row["lost"]
    row["closed"] = closed
    row["win_rate"] = _rate(row["won"], closed)
    if "advanced" in row:
        row["advanced_rate"] = _rate(row["advanced"], row["deals"])
    return row


def measured_use(user) -> dict:
    deals = Opportunity.objects.for_user(user)
    shares = Share.objects.filter(opportunity__in=deals)
    by_aid = [
        _with_rates(row)
        for row in shares.values("aid_id", "aid__title", "aid__kind")
        .annotate(
            shares=Count("pk"),
            **{k: v for k, v in _outcomes("opportunity__").items()},
        )
        .order_by("-shares", "aid__title")[:TOP]
    ]
    by_stage = list(
        shares.values("stage__process__name", "stage__name", "stage__order")
        .annotate(shares=Count("pk"), aids=Count("aid", distinct=True))
        .order_by("stage__process__name", "stage__order")
    )
    by_sharer = list(
        shares.values("shared_by_id", "shared_by__first_name", "shared_by__last_name", "shared_by__username")
        .annotate(shares=Count("pk"), deals=Count("opportunity", distinct=True))
        .order_by("-shares", "shared_by__last_name")[:TOP]
    )
    first_order = Subquery(
        Stage.objects.filter(process=OuterRef("process")).order_by("order").values("order")[:1],
        output_field=IntegerField(),
    )
    reached = Coalesce("furthest_stage__order", "stage__order")
    compared = (
        deals.annotate(received=Exists(Share.objects.filter(opportunity=OuterRef("pk"))), first_order=first_order)
        .values("received")
        .annotate(
            **_outcomes(),
            advanced=Count(Case(When(Q(first_order__lt=reached), then=F("pk")))),
        )
        .order_by("-received")
    )
    groups = {row["received"]: _with_rates(dict(row)) for row in compared}
    empty = {"deals": 0, "won": 0, "lost": 0, "closed": 0, "win_rate": None, "advanced": 0, "advanced_rate": None}
    with_aid, without_aid = groups.get(True, empty), groups.get(False, empty)
    return {
        "comparison": [("Received an aid", with_aid), ("Received none", without_aid)],
        "by_aid": by_aid,
        "by_stage": by_stage,
        "by_sharer": by_sharer,
        "with_aid": with_aid,
        "without_aid": without_aid,
        "total_shares": sum(row["shares"] for row in by_stage),
    }
