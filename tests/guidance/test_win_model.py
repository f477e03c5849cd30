"""The win model: it finds a planted pattern, ignores noise, falls back with thin history and
explains each probability in pieces that add up to it."""

import numpy as np
import pytest

from guidance import learn, scoring, services
from guidance.features import Catalogue, load_deals, row_at
from guidance.models import GuidanceEvent, WinModel
from opportunities.models import Opportunity
from tests.guidance.world import open_deal, planted_history


@pytest.fixture
def history(owner, now):
    return planted_history(owner, now=now)


def weights(model: WinModel) -> dict[str, float]:
    """The largest absolute coefficient of each factor."""
    out: dict[str, float] = {}
    for name, coef in zip(model.feature_names, model.coefficients, strict=True):
        factor = f"industry={name.split('=')[1]}" if name.startswith("industry=") else learn.factor_of(name)
        out[factor] = max(out.get(factor, 0.0), abs(coef))
    return out


def test_the_planted_factor_ranks_first_and_noise_gets_near_zero_weight(history, now):
    model = services.win_model_train(now=now)
    w = weights(model)
    top = max(w, key=w.get)
    assert top.startswith("industry=")
    assert w["region"] < 0.25 * w[top]
    assert model.n_won == history["won"] and model.n_lost == history["lost"]
    assert model.is_current and model.metrics["auc"] > 0.75


def test_planted_deals_score_higher(history, owner, now):
    services.win_model_train(now=now)
    stage = history["stages"][1]
    good = open_deal(owner, history["process"], stage, industry="Robotics", now=now)
    bad = open_deal(owner, history["process"], stage, industry="Retail", now=now)
    services.signals_score_all(now=now)
    good.signal.refresh_from_db()
    assert good.signal.win_probability > Opportunity.objects.get(pk=bad.pk).signal.win_probability + 15


def test_same_history_retrains_to_the_same_model(history, now):
    first = services.win_model_train(now=now)
    again = services.win_model_train(now=now)
    assert again.pk == first.pk and WinModel.objects.count() == 1
    assert GuidanceEvent.objects.filter(verb="model_trained").count() == 1


def test_thin_history_falls_back_to_the_stage_default_and_says_so(owner, now):
    history = planted_history(owner, n=8, now=now)
    model = services.win_model_train(now=now)
    assert model.is_fallback
    stage = history["stages"][1]
    deal = open_deal(owner, history["process"], stage, now=now)
    services.signals_score_all(now=now)
    signal = Opportunity.objects.get(pk=deal.pk).signal
    assert signal.win_probability == stage.win_probability
    assert "fewer than 10" in signal.win_explanation["note"]


def test_the_model_shrinks_toward_the_stage_default_with_few_deals(owner, now):
    history = planted_history(owner, n=20, now=now)
    model = services.win_model_train(now=now)
    params = services.params_of(model)
    assert params.weight == pytest.approx(20 / 40)
    stage = history["stages"][0]
    deal = open_deal(owner, history["process"], stage, now=now)
    catalogue = Catalogue()
    (facts,) = load_deals(Opportunity.objects.filter(pk=deal.pk))
    row = row_at(facts, stage, catalogue, now=now)
    raw = learn.model_probabilities(params, [row])[0]
    shown = learn.probabilities(params, [row], [stage.win_probability / 100])[0]
    assert shown == pytest.approx(0.5 * raw + 0.5 * stage.win_probability / 100)


@pytest.mark.parametrize("industry", ["Robotics", "Retail"])
def test_explanations_add_up_to_the_shown_probability(history, owner, now, industry):
    services.win_model_train(now=now)
    deal = open_deal(owner, history["process"], history["stages"][2], industry=industry, now=now)
    services.signals_score_all(now=now)
    signal = Opportunity.objects.get(pk=deal.pk).signal
    lines = signal.win_explanation["lines"]
    assert sum(line["points"] for line in lines) == signal.win_probability == signal.win_explanation["probability"]
    words = " ".join(line["words"] for line in lines)
    assert f"Industry: {industry}" in words
    assert signal.model_version == WinModel.objects.get().version


def test_round_to_total_keeps_the_sum():
    values = np.random.default_rng(1).normal(0, 7, 9)
    values = list(values - values.mean() + 42 / 9)  # as explain's pieces: they sum to the total
    rounded = learn._round_to_total(values, 42)
    assert sum(rounded) == 42
    assert all(abs(r - v) < 1.5 for r, v in zip(rounded, values, strict=True))


def test_describe_words():
    row = {"pushes": 2.0, "role_champion": 0.0, "industry": "Robotics"}
    assert scoring.describe("pushes", row) == "Close date pushed 2 times"
    assert scoring.describe("role_champion", row) == "No champion on the buying team"
