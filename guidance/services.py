"""Guided selling's writes: training the win model, scoring every open deal, ticking the
qualification checklist and asking for a retrain."""

import datetime as dt
import hashlib
import json
import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from opportunities.errors import AccessDenied, DomainError
from opportunities.models import NextStep, Opportunity, OpportunityStatus

from . import learn, scoring
from .features import Catalogue, amount_band, closed_deals, load_deals, row_at, training_rows
from .models import DealSignal, GuidanceEvent, GuidanceVerb, QualificationItem, QualificationTick, WinModel

logger = logging.getLogger(__name__)

DEFAULT_ITEMS = [
    ("Pain confirmed", "The buyer has said, in their words, what problem costs them."),
    ("Budget known", "We know the budget and who holds it."),
    ("Decision process known", "We know the steps, people and dates of their decision."),
    ("Economic buyer identified", "We know who signs, and they know us."),
    ("Compelling event", "Something forces a decision by a date."),
]


def params_of(model: WinModel | None) -> learn.Params:
    if model is None:
        return learn.Params([], [], [], [], 0.0, 0)
    return learn.Params(
        model.feature_names, model.coefficients, model.means, model.scales, model.intercept, model.n_closed
    )


def current_model() -> WinModel | None:
    return WinModel.objects.filter(is_current=True).first()


def qualification_items_seed(*, process) -> list[QualificationItem]:
    """The default checklist for a process that has none (demo data, new processes)."""
    if QualificationItem.objects.filter(process=process).exists():
        return list(QualificationItem.objects.filter(process=process))
    return QualificationItem.objects.bulk_create(
        QualificationItem(process=process, label=label, help_text=help_text, order=i)
        for i, (label, help_text) in enumerate(DEFAULT_ITEMS)
    )


@transaction.atomic
def win_model_train(*, actor=None, now: dt.datetime | None = None) -> WinModel:
    """Fit the win model on every closed deal and make it current. The same training rows as
    the current model's give back the current model (a repeated nightly run changes nothing)."""
    now = now or timezone.now()
    catalogue = Catalogue()
    deals = load_deals(closed_deals().select_related(None))
    rows, labels, _ = training_rows(deals, catalogue, now=now)
    n_won = sum(1 for d in deals if d.won)
    digest = hashlib.sha256(json.dumps([rows, labels], sort_keys=True, default=str).encode()).hexdigest()
    current = WinModel.objects.select_for_update().filter(is_current=True).first()
    if current is not None and current.data_hash == digest:
        return current
    params = learn.fit(rows, labels, len(deals))
    metrics = {"rows": len(rows)}
    if not params.is_fallback:
        metrics.update(learn.scores(labels, learn.model_probabilities(params, rows)))
    WinModel.objects.filter(is_current=True).update(is_current=False)
    version = (WinModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    model = WinModel.objects.create(
        version=version, trained_at=now, trained_by=actor, n_won=n_won, n_lost=len(deals) - n_won,
        feature_names=params.feature_names, coefficients=params.coefficients, means=params.means,
        scales=params.scales, intercept=params.intercept, metrics=metrics, data_hash=digest, is_current=True,
    )  # fmt: skip
    GuidanceEvent.objects.create(
        actor=actor, verb=GuidanceVerb.MODEL_TRAINED, created_at=now,
        detail=f"v{version} on {len(deals)} closed deals ({n_won} won)",
    )  # fmt: skip
    return model


SIGNAL_FIELDS = [
    "viability", "viability_facts", "win_probability", "win_explanation", "model_version",
    "icp_score", "icp", "priority", "reason",
]  # fmt: skip


def compute_signals(
    deals, *, model: WinModel | None, now: dt.datetime, among=None, with_icp: bool = True
) -> dict[int, dict]:
    """{deal id: signal fields} for the open `deals` (DealFacts), read in a fixed number of
    queries. `among` is a queryset holding them (every open deal unless given), which the
    checklist ticks, flags and next steps are read for. Without `with_icp` the ICP fit, which
    compares each deal with every closed deal, is left out of the fields."""
    from pipeline.models import Flag  # the health flags lift priority

    today = now.date()
    catalogue = Catalogue()
    params = params_of(model)
    icp = None
    if with_icp:
        closed = load_deals(closed_deals())
        icp = scoring.IcpIndex(
            [(d.id, scoring.icp_profile(d, amount_band(d.amount)), d.won, d.closed_on or today) for d in closed]
        )
    open_qs = Opportunity.objects.open() if among is None else among
    items_by_process: dict[int, list[tuple[int, str]]] = {}
    for item in QualificationItem.objects.filter(is_active=True).order_by("process_id", "order", "id"):
        items_by_process.setdefault(item.process_id, []).append((item.pk, item.label))
    ticked: dict[int, set[int]] = {}
    for opp, item in QualificationTick.objects.filter(opportunity__in=open_qs).values_list("opportunity_id", "item_id"):
        ticked.setdefault(opp, set()).add(item)
    flags: dict[int, list[str]] = {}
    for opp, kind in (
        Flag.objects.open().filter(opportunity__in=open_qs).order_by("id").values_list("opportunity_id", "kind")
    ):
        flags.setdefault(opp, []).append(kind.replace("_", " "))
    overdue = set(
        NextStep.objects.filter(opportunity__in=open_qs, completed_at__isnull=True, due_date__lt=today).values_list(
            "opportunity_id", flat=True
        )
    )
    rows = [row_at(d, catalogue.stages[d.stage_id], catalogue, now=now) for d in deals]
    defaults = [catalogue.default_probability(d.stage_id) for d in deals]
    out = {}
    for deal, row, default in zip(deals, rows, defaults, strict=True):
        explanation = learn.explain(params, row, default, scoring.describe)
        shown = explanation["probability"] / 100
        via = scoring.viability(
            deal, items_by_process.get(deal.process_id, []), ticked.get(deal.id, set()), row["milestone_share"], now=now
        )
        is_overdue = deal.id in overdue
        out[deal.id] = {
            "viability": via["score"],
            "viability_facts": {"facts": via["facts"], "suggestions": via["suggestions"]},
            "win_probability": explanation["probability"],
            "win_explanation": explanation,
            "model_version": model.version if model else None,
            "priority": scoring.priority(
                deal, shown, flagged=bool(flags.get(deal.id)), overdue=is_overdue, today=today
            ),
            "reason": scoring.reason(deal, shown, flags=flags.get(deal.id, []), overdue=is_overdue, today=today),
        }
        if icp is not None:
            fit = icp.fit_of(scoring.icp_profile(deal, row["amount_band"]))
            out[deal.id]["icp_score"] = fit["score"]
            out[deal.id]["icp"] = {k: fit[k] for k in ("similar_won", "similar_lost", "attributes")}
    return out


def _store(computed: dict[int, dict], existing: dict, *, now, batch_size: int = 2000) -> tuple[int, int]:
    """Write `computed` signals: rows for deals without one (`existing` maps deal ids to their
    stored signals) created, changed rows updated, unchanged rows left alone. Returns (created,
    updated). A row another worker created meanwhile is left as it is: both computed the same."""
    create, update, fields = [], [], set()
    for deal_id, values in computed.items():
        signal = existing.get(deal_id)
        if signal is None:
            create.append(DealSignal(opportunity_id=deal_id, scored_at=now, **values))
        elif any(getattr(signal, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(signal, f, v)
            signal.scored_at = now
            update.append(signal)
            fields.update(values)
    DealSignal.objects.bulk_create(create, batch_size=batch_size, ignore_conflicts=True)
    DealSignal.objects.bulk_update(update, [*sorted(fields), "scored_at"], batch_size=batch_size)
    return len(create), len(update)


@transaction.atomic
def signals_score_all(*, now: dt.datetime | None = None, batch_size: int = 2000) -> dict:
    """Score every open deal with the current model and store the signals: new rows created,
    changed rows updated, unchanged rows left alone (a second run changes nothing), closed
    deals' rows removed. Set-based: a fixed number of queries per batch of deals."""
    now = now or timezone.now()
    computed = compute_signals(load_deals(Opportunity.objects.open()), model=current_model(), now=now)
    existing = {s.opportunity_id: s for s in DealSignal.objects.filter(opportunity__status=OpportunityStatus.OPEN)}
    created, updated = _store(computed, existing, now=now, batch_size=batch_size)
    removed, _ = DealSignal.objects.exclude(opportunity__status=OpportunityStatus.OPEN).delete()
    return {"created": created, "updated": updated, "removed": removed, "scored": len(computed)}


@transaction.atomic
def qualification_tick(
    *, actor, opportunity: Opportunity, item: QualificationItem, ticked: bool, now: dt.datetime | None = None
) -> bool:
    """Tick or untick a qualification item on an open deal; returns whether anything changed.
    The deal's stored signals are refreshed (`signals_rescore`)."""
    now = now or timezone.now()
    if not opportunity.can_edit(actor):
        raise AccessDenied("You can view this deal but not change it.")
    if not opportunity.is_open:
        raise DomainError("The deal is closed; reopen it to change its qualification.")
    if item.process_id != opportunity.process_id or not item.is_active:
        raise DomainError("That qualification item does not belong to this deal's sales process.", field="item")
    existing = QualificationTick.objects.filter(opportunity=opportunity, item=item)
    if ticked == existing.exists():
        return False
    if ticked:
        QualificationTick.objects.create(opportunity=opportunity, item=item, ticked_by=actor, ticked_at=now)
    else:
        existing.delete()
    GuidanceEvent.objects.create(
        opportunity=opportunity, actor=actor, created_at=now,
        verb=GuidanceVerb.TICKED if ticked else GuidanceVerb.UNTICKED, detail=item.label,
    )  # fmt: skip
    if DealSignal.objects.filter(opportunity=opportunity).exists():
        # In this transaction, so that the page that ticked shows the new viability.
        signals_rescore(opportunity_ids=[opportunity.pk], now=now)
    else:
        signals_rescore_later(opportunity_id=opportunity.pk)
    return True


@transaction.atomic
def signals_rescore(*, opportunity_ids, now: dt.datetime | None = None) -> dict:
    """Bring the stored signals of the deals that changed (a stage, an amount, a next step, a
    tick) up to date: win probability with the explanation, viability, priority and reason,
    with the current model. Their ICP fit, which compares each with every closed deal, is left
    to the nightly run. A deal no longer open loses its signals; if some are not scored yet,
    every open deal not scored yet is scored whole, in one pass over the closed deals (an import
    of thousands of deals reads them once). Set-based, and idempotent: run again, it changes
    nothing. Returns the counts of signals created, updated and removed."""
    now = now or timezone.now()
    ids = set(opportunity_ids)
    model = current_model()
    existing = {s.opportunity_id: s for s in DealSignal.objects.select_for_update().filter(opportunity_id__in=ids)}
    still_open = Opportunity.objects.open().filter(pk__in=ids)
    open_ids = set(still_open.values_list("pk", flat=True))
    removed, _ = DealSignal.objects.filter(opportunity_id__in=ids - open_ids).delete()
    created = 0
    if open_ids - existing.keys():
        unscored = Opportunity.objects.open().filter(signal__isnull=True)
        computed = compute_signals(load_deals(unscored), model=model, now=now, among=unscored)
        created, _ = _store(computed, {}, now=now)
    scored = still_open.filter(pk__in=existing.keys())
    computed = compute_signals(load_deals(scored), model=model, now=now, among=scored, with_icp=False)
    _, updated = _store(computed, existing, now=now)
    return {"created": created, "updated": updated, "removed": removed}


def signals_rescore_later(*, opportunity_id: int) -> None:
    """Have `signals_rescore` run for the deal in the background once the current transaction
    commits (a deal scored for the first time is compared with every closed deal: seconds at
    100,000 deals). The deals a transaction changes go in one task: the demo company, built in
    one transaction, is one task of hundreds of deals, not thousands of tasks."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _savepoints, pending, _robust in connection.run_on_commit:
            if isinstance(pending, _RescoreAfterCommit):
                pending.ids.add(opportunity_id)
                return
    pending = _RescoreAfterCommit()
    pending.ids.add(opportunity_id)
    transaction.on_commit(pending)


class _RescoreAfterCommit:
    """The on-commit callback that sends the deals a transaction changed to be rescored."""

    def __init__(self):
        self.ids: set[int] = set()

    def __call__(self) -> None:
        from .tasks import rescore_deals

        try:
            rescore_deals.delay(opportunity_ids=sorted(self.ids))
        except KombuOperationalError:
            # The broker is down: the change itself has committed and the page must answer;
            # the nightly run rescores every open deal anyway.
            logger.warning("Could not ask for %d changed deals to be rescored: the broker is down.", len(self.ids))


def can_retrain(user) -> bool:
    return user.is_authenticated and (user.is_admin or user.is_manager)


@transaction.atomic
def win_model_retrain_request(*, actor, now: dt.datetime | None = None) -> None:
    """Ask for the win model to be retrained and every open deal rescored, in the background."""
    from .tasks import retrain_and_score

    if not can_retrain(actor):
        raise AccessDenied("Only managers and admins can retrain the win model.")
    now = now or timezone.now()
    GuidanceEvent.objects.create(actor=actor, verb=GuidanceVerb.RETRAIN_REQUESTED, created_at=now)
    retrain_and_score.delay_on_commit(actor_id=actor.pk)
