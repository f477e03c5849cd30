"""The win model's arithmetic: encoding feature rows, fitting an L2-regularised logistic
regression (scikit-learn), shrinking toward the stage default with thin history, and splitting
a probability into the per-factor pieces that add up to it. Pure functions over plain numbers,
shared by the scoring service and `manage.py backtest`."""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from .features import CATEGORICAL, NUMERIC

MIN_CLOSED = 10  # fewer closed deals than this: the stage default only
SHRINK_K = 20  # weight of the model: n / (n + SHRINK_K), n closed deals


@dataclass
class Params:
    feature_names: list[str]
    coefficients: list[float]
    means: list[float]
    scales: list[float]
    intercept: float
    n_closed: int

    @property
    def is_fallback(self) -> bool:
        return not self.feature_names

    @property
    def weight(self) -> float:
        return 0.0 if self.is_fallback else self.n_closed / (self.n_closed + SHRINK_K)


def feature_names_for(rows: list[dict]) -> list[str]:
    seen = sorted({f"{name}={row[name]}" for row in rows for name in CATEGORICAL})
    return seen + list(NUMERIC)


def encode(rows: list[dict], names: list[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    matrix = np.zeros((len(rows), len(names)))
    for r, row in enumerate(rows):
        for name in CATEGORICAL:
            i = index.get(f"{name}={row[name]}")
            if i is not None:
                matrix[r, i] = 1.0
        for name in NUMERIC:
            i = index.get(name)
            if i is not None:
                matrix[r, i] = row[name]
    return matrix


def fit(rows: list[dict], labels: list[int], n_closed: int) -> Params:
    """The logistic regression on standardised features, or the fallback (no features) when
    fewer than MIN_CLOSED deals closed or they all ended the same way."""
    if n_closed < MIN_CLOSED or len(set(labels)) < 2:
        return Params([], [], [], [], 0.0, n_closed)
    from sklearn.linear_model import LogisticRegression

    names = feature_names_for(rows)
    x = encode(rows, names)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0  # a constant column: centred to 0, it must not blow up
    model = LogisticRegression(C=0.5, max_iter=1000)
    model.fit((x - means) / scales, np.array(labels))
    return Params(names, model.coef_[0].tolist(), means.tolist(), scales.tolist(), float(model.intercept_[0]), n_closed)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def model_probabilities(params: Params, rows: list[dict]) -> np.ndarray:
    z = (encode(rows, params.feature_names) - params.means) / params.scales
    return sigmoid(z @ np.array(params.coefficients) + params.intercept)


def probabilities(params: Params, rows: list[dict], defaults: list[float]) -> np.ndarray:
    """The shown probabilities: w·model + (1−w)·stage default."""
    defaults = np.array(defaults, dtype=float)
    if params.is_fallback or not rows:
        return defaults
    return params.weight * model_probabilities(params, rows) + (1 - params.weight) * defaults


def factor_of(name: str) -> str:
    return name.split("=", 1)[0]


def contributions(params: Params, row: dict) -> dict[str, float]:
    """Log-odds contribution of each factor to this row, against the training average."""
    z = (encode([row], params.feature_names)[0] - params.means) / params.scales
    parts: dict[str, float] = defaultdict(float)
    for name, coef, value in zip(params.feature_names, params.coefficients, z, strict=True):
        parts[factor_of(name)] += coef * value
    return dict(parts)


def _round_to_total(values: list[float], total: int) -> list[int]:
    """Integers near `values` that add up to `total` (largest remainder)."""
    floors = [math.floor(v) for v in values]
    short = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: values[i] - floors[i], reverse=True)
    for k in range(abs(short)):
        i = order[k % len(order)] if short > 0 else order[-1 - (k % len(order))]
        floors[i] += 1 if short > 0 else -1
    return floors


def explain(params: Params, row: dict, default: float, describe, top: int = 3) -> dict:
    """{"probability": int %, "lines": [{factor, words, points}], "note"}: the stage default,
    the team's record against it, the top `top` factors for and against, and the rest, in whole
    percentage points that add up exactly to the shown probability.

    The model's move away from its average (log-odds L − b) is spread over the factors in
    proportion to their log-odds contributions times the secant slope of the sigmoid, so the
    pieces sum exactly to p_model − p_average; then everything is scaled by the shrink weight."""
    shown = float(probabilities(params, [row], [default])[0])
    percent = int(round(shown * 100))
    if params.is_fallback:
        return {
            "probability": percent,
            "lines": [{"factor": "stage", "words": "Stage default probability", "points": percent}],
            "note": f"Only {params.n_closed} closed deals so far (fewer than {MIN_CLOSED}): "
            "showing the stage's default probability until there is more history.",
        }
    w = params.weight
    parts = contributions(params, row)
    p_avg = float(sigmoid(params.intercept))
    total_z = sum(parts.values())
    p_model = float(sigmoid(params.intercept + total_z))
    slope = (p_model - p_avg) / total_z if abs(total_z) > 1e-9 else p_avg * (1 - p_avg)
    pieces = {f: w * c * slope * 100 for f, c in parts.items()}
    ranked = sorted(pieces.items(), key=lambda kv: kv[1])
    against = [kv for kv in ranked[:top] if kv[1] < 0]
    for_ = [kv for kv in reversed(ranked[-top:]) if kv[1] > 0]
    chosen = {f for f, _ in against + for_}
    rest = sum(v for f, v in pieces.items() if f not in chosen)
    raw = [
        ("stage", "Stage default probability", default * 100),
        ("record", "The team's record against the stage default", w * (p_avg - default) * 100),
        *[(f, describe(f, row), v) for f, v in for_ + against],
        ("other", "All other factors together", rest),
    ]
    rounded = _round_to_total([v for _, _, v in raw], percent)
    lines = [{"factor": f, "words": words, "points": p} for (f, words, _), p in zip(raw, rounded, strict=True)]
    note = ""
    if w < 0.99:
        note = (
            f"Learned from {params.n_closed} closed deals, so shrunk toward the stage default (model weight {w:.0%})."
        )
    return {"probability": percent, "lines": lines, "note": note}


# --- the back-test's baselines and scores ------------------------------------------------------------


def discretise(value: float) -> str:
    if value <= 0:
        return "0"
    if value < 1:
        return "<1"
    if value < 2:
        return "1"
    return "2+"


class NaiveBayes:
    """A frequency model on the same features (numbers put in bins), Laplace-smoothed."""

    def __init__(self, rows: list[dict], labels: list[int]):
        self.prior = Counter(labels)
        self.counts: dict[tuple[str, str, int], int] = Counter()
        self.values: dict[str, set] = defaultdict(set)
        for row, y in zip(rows, labels, strict=True):
            for name, value in self._items(row):
                self.counts[(name, value, y)] += 1
                self.values[name].add(value)

    @staticmethod
    def _items(row):
        for name in CATEGORICAL:
            yield name, row[name]
        for name in NUMERIC:
            yield name, discretise(row[name])

    def predict(self, rows: list[dict]) -> np.ndarray:
        n = sum(self.prior.values())
        out = []
        for row in rows:
            logs = []
            for y in (0, 1):
                lp = math.log((self.prior[y] + 1) / (n + 2))
                for name, value in self._items(row):
                    lp += math.log((self.counts[(name, value, y)] + 1) / (self.prior[y] + len(self.values[name]) + 1))
                logs.append(lp)
            out.append(1 / (1 + math.exp(logs[0] - logs[1])))
        return np.array(out)


def scores(labels, probs) -> dict:
    """AUC, Brier score and log loss (AUC is None when only one outcome is present)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    y = np.array(labels)
    p = np.clip(np.array(probs, dtype=float), 1e-6, 1 - 1e-6)
    auc = float(roc_auc_score(y, p)) if len(set(labels)) > 1 else None
    return {"auc": auc, "brier": float(brier_score_loss(y, p)), "log_loss": float(log_loss(y, p, labels=[0, 1]))}


def calibration(labels, probs, bins: int = 10) -> list[tuple[str, int, float, float]]:
    """(decile range, rows, mean predicted, observed win rate) for each non-empty decile."""
    out = []
    p = np.array(probs, dtype=float)
    y = np.array(labels, dtype=float)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        mask = (p >= lo) & ((p < hi) if b < bins - 1 else (p <= hi))
        if mask.any():
            out.append((f"{lo:.0%}–{hi:.0%}", int(mask.sum()), float(p[mask].mean()), float(y[mask].mean())))
    return out
