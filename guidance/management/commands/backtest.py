"""`manage.py backtest`: how well guided selling would have done on deals it had not seen.

Trains on the deals closed before a cut-off (default: the 80th percentile of close dates) and
scores those closed on or after it, or with `--folds K` runs stratified K-fold cross-validation
over the closed deals. For the win probability it prints AUC, Brier score, log loss and a
calibration table by decile, next to two baselines: a naive-Bayes frequency model on the same
features and the stage's default probability. Held-out deals are scored at each stage they
reached, as an open deal at that stage would be. Then every section other apps registered
(`opportunities.hooks.backtest_sections`, e.g. the recommendations) runs on the same split.
"""

import datetime as dt

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from guidance import learn
from guidance.features import Catalogue, closed_deals, load_deals, training_rows
from opportunities.hooks import backtest_sections


def evaluate(train, test, catalogue, *, now) -> dict:
    """{"labels", "model", "naive_bayes", "stage"}: held-out rows' outcomes and each model's
    probabilities, trained on `train` (DealFacts) only."""
    rows, labels, _ = training_rows(train, catalogue, now=now)
    test_rows, test_labels, _ = training_rows(test, catalogue, now=now)
    stage_default = [catalogue.default_probability(int(r["stage"])) for r in test_rows]
    params = learn.fit(rows, labels, len(train))
    nb = learn.NaiveBayes(rows, labels) if rows else None
    return {
        "labels": test_labels,
        "model": list(learn.probabilities(params, test_rows, stage_default)),
        "naive_bayes": list(nb.predict(test_rows)) if nb else stage_default,
        "stage": stage_default,
        "fallback": params.is_fallback,
    }


class Command(BaseCommand):
    help = "Back-test the win probability (and registered sections) on held-out closed deals."

    def add_arguments(self, parser):
        parser.add_argument("--cutoff", help="Train on deals closed before this day (YYYY-MM-DD).")
        parser.add_argument("--folds", type=int, help="Stratified K-fold cross-validation instead of a cut-off.")

    def handle(self, *args, cutoff=None, folds=None, **options):
        now = timezone.now()
        catalogue = Catalogue()
        deals = load_deals(closed_deals())
        if len(deals) < 4:
            raise CommandError(f"Only {len(deals)} closed deals: nothing to back-test.")
        if cutoff and folds:
            raise CommandError("Give --cutoff or --folds, not both.")
        if folds is not None:
            if folds < 2:
                raise CommandError("--folds must be at least 2.")
            splits = self._folds(deals, folds)
            self.stdout.write(f"Stratified {folds}-fold cross-validation over {len(deals)} closed deals.")
        else:
            day = self._cutoff(deals, cutoff)
            train = [d for d in deals if d.closed_on < day]
            test = [d for d in deals if d.closed_on >= day]
            if not train or not test:
                raise CommandError(f"The cut-off {day} leaves no deals to train on or none to test.")
            splits = [(train, test)]
            self.stdout.write(f"Cut-off {day}: train on {len(train)} deals closed before, test on {len(test)}.")
        results = {"labels": [], "model": [], "naive_bayes": [], "stage": []}
        fallback = False
        for train, test in splits:
            out = evaluate(train, test, catalogue, now=now)
            fallback |= out["fallback"]
            for key in results:
                results[key] += list(out[key])
        if fallback:
            self.stdout.write("Fewer than 10 training deals in a split: the model used the stage default there.")
        self.stdout.write(f"Held-out rows (deal × stage reached): {len(results['labels'])}")
        self._report(results)
        for train, test in splits[:1] if folds is None else splits:
            for section in backtest_sections():
                self.stdout.write(f"\n== {section.name} ==")
                for line in section.run([d.id for d in train], [d.id for d in test]):
                    self.stdout.write(line)
        return None

    def _cutoff(self, deals, given) -> dt.date:
        if given:
            try:
                return dt.date.fromisoformat(given)
            except ValueError as exc:
                raise CommandError(f"--cutoff {given!r} is not a date like 2026-01-31.") from exc
        days = sorted(d.closed_on.toordinal() for d in deals)
        return dt.date.fromordinal(int(np.percentile(days, 80, method="lower")) + 1)

    def _folds(self, deals, k):
        from sklearn.model_selection import StratifiedKFold

        labels = np.array([d.won for d in deals])
        if min(labels.sum(), (~labels).sum()) < k:
            raise CommandError(f"Too few won or lost deals for {k} folds.")
        folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
        return [
            ([deals[i] for i in train], [deals[i] for i in test])
            for train, test in folds.split(np.zeros(len(deals)), labels)
        ]

    def _report(self, results) -> None:
        labels = results["labels"]
        names = {"model": "Win model", "naive_bayes": "Naive Bayes", "stage": "Stage default"}
        self.stdout.write(f"\n{'Win probability':<16}{'AUC':>8}{'Brier':>8}{'LogLoss':>9}")
        for key, name in names.items():
            s = learn.scores(labels, results[key])
            auc = f"{s['auc']:.3f}" if s["auc"] is not None else "n/a"
            self.stdout.write(f"{name:<16}{auc:>8}{s['brier']:>8.3f}{s['log_loss']:>9.3f}")
        for key, name in names.items():
            self.stdout.write(f"\nCalibration, {name} (decile, rows, predicted, observed)")
            for band, n, predicted, observed in learn.calibration(labels, results[key]):
                self.stdout.write(f"  {band:<10}{n:>6}{predicted:>10.1%}{observed:>10.1%}")
