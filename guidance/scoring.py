"""How each open deal's signals are worked out from its DealFacts: viability (with every fact
and the missing items), ICP fit (nearest past won and lost deals on the account's attributes),
priority and its one reason, and the plain words for a win-model factor."""

import datetime as dt
from collections import Counter

import numpy as np

from opportunities.models import ActivityKind
from stages.models import BuyingRole

from .features import ACCOUNT_ATTRIBUTES, ICP_ATTRIBUTES, SOURCE_UNKNOWN, DealFacts

ACTIVE_DAYS = 14  # buyer activity within this many days counts as an engaged buyer
KEY_ROLES = [BuyingRole.ECONOMIC_BUYER, BuyingRole.CHAMPION, BuyingRole.DECISION_MAKER]
ROLE_LABELS = dict(BuyingRole.choices)
KIND_LABELS = {kind: label.lower() for kind, label in ActivityKind.choices}
SOURCE_WORDS = {
    "inbound": "Came in as an inbound enquiry",
    "outbound": "Came from outbound prospecting",
    "referral": "Came from a referral",
    "partner": "Came from a partner",
    "event": "Came from an event",
    "existing_customer": "Came from an existing customer",
    SOURCE_UNKNOWN: "Lead source not set",
}
TIMING_WORDS = {"before": "before this stage", "in_stage": "while in this stage", "": ""}
SIMILAR_SHOWN = 5
NEIGHBOURS = 10


def describe(factor: str, row: dict) -> str:
    """A win-model factor of this deal in plain words."""
    if factor == "stage":
        return "The stage it has reached"
    if factor == "process":
        return "Its sales process"
    if factor in ACCOUNT_ATTRIBUTES:
        return f"{ACCOUNT_ATTRIBUTES[factor]}: {row[factor]}"
    if factor == "amount_band":
        return f"Deal size {row['amount_band']}"
    if factor == "milestone_share":
        return f"{row['milestone_share']:.0%} of milestones so far done"
    if factor == "team_size":
        return f"{int(row['team_size'])} people on the buying team"
    if factor == "pushes":
        return f"Close date pushed {int(row['pushes'])} times"
    if factor == "competitors":
        return f"{int(row['competitors'])} competitors in the deal"
    if factor == "age":
        return f"{int(round(np.expm1(row['age'])))} days old"
    if factor == "source":
        return SOURCE_WORDS.get(row["source"], f"Lead source: {row['source']}")
    if factor.startswith("act_"):
        kind, when = activity_factor(factor)
        if factor not in row:  # a factor of an older model that rows no longer carry
            return f"{KIND_LABELS.get(kind, kind)} activities".capitalize()
        n = int(round(np.expm1(row[factor])))
        noun = "activity" if n == 1 else "activities"
        return f"{n} {KIND_LABELS.get(kind, kind)} {noun} {TIMING_WORDS[when]}".strip()
    if factor.startswith("role_"):
        label = ROLE_LABELS.get(factor[5:], factor[5:])
        return f"{label} on the buying team" if row[factor] else f"No {label.lower()} on the buying team"
    return factor


def activity_factor(factor: str) -> tuple[str, str]:
    """("demo", "in_stage") of the factor "act_demo_in_stage"; the timing is "" for an older
    model's "act_demo" (all of a deal's activities)."""
    name = factor.removeprefix("act_")
    for when in ("before", "in_stage"):
        if name.endswith(f"_{when}"):
            return name.removesuffix(f"_{when}"), when
    return name, ""


def factor_words(factor: str) -> str:
    """A numeric factor in words, without any deal's value: what the model page lists."""
    if factor.startswith("act_"):
        kind, when = activity_factor(factor)
        return f"{KIND_LABELS.get(kind, kind).capitalize()} activities {TIMING_WORDS[when]}".strip()
    return factor.replace("_", " ")


def viability(deal: DealFacts, items: list[tuple[int, str]], ticked: set[int], milestone_share: float, *, now) -> dict:
    """A 0–100 score: half from the qualification checklist, half from what the deal's own data
    shows; each fact with its points, and what is missing as suggestions."""
    facts, suggestions = [], []

    def add(words: str, points: float, most: float, suggestion: str = ""):
        facts.append({"words": words, "points": round(points, 1), "max": most, "ok": points >= most})
        if points < most and suggestion:
            suggestions.append(suggestion)

    if items:
        each = 50 / len(items)
        for item_id, label in items:
            ok = item_id in ticked
            add(label if ok else f"{label}: not confirmed", each if ok else 0, round(each, 1), f"Confirm: {label}")
    else:
        add("No qualification checklist for this process", 0, 0)
    for role in KEY_ROLES:
        label = ROLE_LABELS[role]
        ok = role in deal.roles
        add(
            f"{label} on the buying team" if ok else f"No {label.lower()} yet",
            5 if ok else 0,
            5,
            f"Identify the {label.lower()}",
        )
    add(
        f"{milestone_share:.0%} of milestones up to this stage done",
        15 * milestone_share,
        15,
        "Complete this stage's milestones",
    )
    recent = deal.last_activity_at is not None and (now - deal.last_activity_at).days <= ACTIVE_DAYS
    add(
        f"Activity in the last {ACTIVE_DAYS} days" if recent else f"No activity in the last {ACTIVE_DAYS} days",
        10 if recent else 0,
        10,
        "Get back in touch with the buyer",
    )
    push_points = {0: 10, 1: 5}.get(deal.pushes, 0)
    add(
        "Close date never pushed" if deal.pushes == 0 else f"Close date pushed {deal.pushes} times",
        push_points,
        10,
        "Confirm the close date with the buyer",
    )
    score = int(round(sum(f["points"] for f in facts)))
    return {"score": max(0, min(100, score)), "facts": facts, "suggestions": suggestions}


def icp_profile(deal: DealFacts, band: str) -> tuple:
    values = {**deal.account, "amount_band": band, "process": str(deal.process_id)}
    return tuple(values[a] for a in ICP_ATTRIBUTES)


class IcpIndex:
    """Closed deals by account profile, to find an open deal's nearest won and lost deals
    (attributes in common; ties to the most recently closed) and the attributes pulling it."""

    def __init__(self, closed: list[tuple[int, tuple, bool, dt.date]]):
        closed = sorted(closed, key=lambda c: (c[3], c[0]), reverse=True)
        self.ids = np.array([c[0] for c in closed], dtype=np.int64)
        self.won = np.array([c[2] for c in closed], dtype=bool)
        self.profiles = np.array([c[1] for c in closed], dtype=object).reshape(len(closed), len(ICP_ATTRIBUTES))
        self.value_counts: Counter = Counter()
        for _, profile, won, _ in closed:
            for attr, value in zip(ICP_ATTRIBUTES, profile, strict=True):
                self.value_counts[(attr, value, won)] += 1
        self.n_won = int(self.won.sum())
        self.n_lost = len(closed) - self.n_won
        self._cache: dict[tuple, dict] = {}

    def fit_of(self, profile: tuple) -> dict:
        if profile not in self._cache:
            self._cache[profile] = self._compute(profile)
        return self._cache[profile]

    def _compute(self, profile: tuple) -> dict:
        if not len(self.ids):
            return {"score": 50, "similar_won": [], "similar_lost": [], "attributes": []}
        same = (self.profiles == np.array(profile, dtype=object)).sum(axis=1)
        order = np.argsort(-same, kind="stable")  # stable: recent first among equals
        nearest = order[:NEIGHBOURS]
        won_near = int(self.won[nearest].sum())
        score = int(round(100 * (won_near + 1) / (len(nearest) + 2)))
        won_ids = [int(i) for i in self.ids[order][self.won[order]][:SIMILAR_SHOWN]]
        lost_ids = [int(i) for i in self.ids[order][~self.won[order]][:SIMILAR_SHOWN]]
        base = (self.n_won + 1) / (self.n_won + self.n_lost + 2)
        attributes = []
        for attr, value in zip(ICP_ATTRIBUTES, profile, strict=True):
            w, lost = self.value_counts[(attr, value, True)], self.value_counts[(attr, value, False)]
            if w + lost == 0 or attr == "process":
                continue
            rate = (w + 1) / (w + lost + 2)
            if abs(rate - base) >= 0.05:
                label = ACCOUNT_ATTRIBUTES.get(attr, "Deal size")
                attributes.append(
                    {"words": f"{label}: {value}", "won": w, "lost": lost, "pull": "for" if rate > base else "against"}
                )
        return {"score": score, "similar_won": won_ids, "similar_lost": lost_ids, "attributes": attributes}


def priority(deal: DealFacts, probability: float, *, flagged: bool, overdue: bool, today: dt.date) -> float:
    """Expected value weighted by how soon the deal should close, lifted for open health flags
    and an overdue next step (they need attention now)."""
    days = max(0, (deal.close_date - today).days)
    value = deal.amount * probability / (1 + days / 30)
    return round(value * (1.25 if flagged else 1) * (1.25 if overdue else 1), 2)


def reason(deal: DealFacts, probability: float, *, flags: list[str], overdue: bool, today: dt.date) -> str:
    """The one reason a deal is on the Focus list, most pressing first."""
    if overdue:
        return "Its next step is overdue"
    if flags:
        return f"Needs attention: {flags[0]}"
    days = (deal.close_date - today).days
    if days < 0:
        return f"Its close date passed {-days} days ago"
    if days <= 30:
        return f"Closes in {days} days"
    return f"Worth {deal.amount * probability:,.0f} expected of {deal.amount:,.0f}"
