"""`manage.py backtest` on the planted history: the model beats the stage default."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from opportunities.hooks import BacktestSection, _backtest_sections, register_backtest_section
from tests.guidance.world import planted_history


def run(*args) -> str:
    out = io.StringIO()
    call_command("backtest", *args, stdout=out)
    return out.getvalue()


def auc(output: str, name: str) -> float:
    return float(re.search(rf"^{name}\s+([0-9.]+)", output, re.M).group(1))


@pytest.fixture
def history(owner, now):
    return planted_history(owner, n=150, now=now)


def test_cutoff_backtest_beats_the_stage_default(history):
    output = run()
    assert "Cut-off" in output and "Calibration, Win model" in output
    assert auc(output, "Win model") > auc(output, "Stage default") + 0.1
    assert auc(output, "Naive Bayes") > 0.5


def test_folds_and_registered_sections(history, monkeypatch):
    seen = {}

    def section(train_ids, test_ids):
        seen["split"] = (len(train_ids), len(test_ids))
        return ["recommended thing: 3 of 4 won, 1 of 5 lost"]

    monkeypatch.setattr("opportunities.hooks._backtest_sections", dict(_backtest_sections))
    register_backtest_section(BacktestSection(name="recommendations", run=section))
    output = run("--folds", "3")
    assert "Stratified 3-fold" in output
    assert auc(output, "Win model") > auc(output, "Stage default")
    assert "== recommendations ==" in output and "3 of 4 won" in output
    assert sum(seen["split"]) == 150


@pytest.mark.parametrize("args", [["--cutoff", "yesterday"], ["--folds", "1"], ["--cutoff", "1990-01-01"]])
def test_bad_arguments_say_what_is_wrong(history, args):
    with pytest.raises(CommandError):
        run(*args)


def test_no_history(db):
    with pytest.raises(CommandError, match="nothing to back-test"):
        run()
