"""The recommendations' part of `manage.py backtest` (`opportunities.hooks.BacktestSection`):
learn the top step of each stage from the training deals only, then count how many held-out won
deals took it before leaving the stage against how many held-out lost deals did. A step that
helps is taken by a larger share of the won deals."""

from collections import defaultdict

from stages.models import Milestone, Stage

from . import mining
from .services import ACTIVITY_PHRASES


def top_steps(mined: dict) -> dict[tuple[int, str], tuple[str, mining.Counts]]:
    """{(stage id, segment): (step key, counts)} of the best separating step with evidence."""
    best: dict = {}
    for (stage_id, segment, step), counts in mined.items():
        if mining.is_thin(counts):
            continue
        score = mining.separation(counts)
        if score <= 0:
            continue
        current = best.get((stage_id, segment))
        if current is None or (score, step) > (current[0], current[1]):
            best[stage_id, segment] = (score, step, counts)
    return {key: (step, counts) for key, (_, step, counts) in best.items()}


def _label(step: str, milestones: dict) -> str:
    kind, _, value = step.partition(":")
    if kind == "milestone":
        return f"“{milestones.get(int(value), value)}” done"
    return ACTIVITY_PHRASES.get(value, (value,))[0]


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({round(100 * part / whole)} %)" if whole else "0 of 0"


def run(train_ids, test_ids) -> list[str]:
    """The lines to print: per stage, the top step learned from `train_ids` and the shares of the
    held-out (`test_ids`) won and lost deals that took it before leaving the stage; then all
    stages together."""
    top = top_steps(mining.mine(train_ids))
    if not top:
        return ["Recommendations: no stage had enough training deals for a recommendation."]
    held = mining.deal_steps(test_ids)
    # stage id -> [won took, won left, lost took, lost left], the step each deal was judged on
    tally = defaultdict(lambda: [0, 0, 0, 0])
    steps_used = defaultdict(set)
    for deal in held.values():
        for stage_id in deal.left:
            chosen = top.get((stage_id, deal.industry)) or top.get((stage_id, ""))
            if chosen is None:
                continue
            step, _ = chosen
            steps_used[stage_id].add(step)
            took = step in deal.steps.get(stage_id, set())
            offset = 0 if deal.won else 2
            tally[stage_id][offset] += took
            tally[stage_id][offset + 1] += 1
    stages = {s.pk: s for s in Stage.objects.filter(pk__in=tally.keys()).select_related("process")}
    milestone_ids = {int(s.split(":")[1]) for used in steps_used.values() for s in used if s.startswith("milestone:")}
    milestones = dict(Milestone.objects.filter(pk__in=milestone_ids).values_list("pk", "name"))
    lines = [
        "Recommendations: the top step per stage learned from the training deals, and the share of "
        "held-out deals that took it before leaving the stage"
    ]
    totals = [0, 0, 0, 0]
    for stage_id in sorted(tally, key=lambda pk: (stages[pk].process.name, stages[pk].order, pk)):
        won_took, won_left, lost_took, lost_left = tally[stage_id]
        totals = [a + b for a, b in zip(totals, tally[stage_id], strict=True)]
        stage = stages[stage_id]
        names = ", ".join(sorted(_label(step, milestones) for step in steps_used[stage_id]))
        lines.append(
            f"  {stage.process.name} / {stage.name} — {names}: won {_share(won_took, won_left)}, "
            f"lost {_share(lost_took, lost_left)}"
        )
    lines.append(
        f"  All stages: won deals took the recommended step {_share(totals[0], totals[1])}, "
        f"lost deals {_share(totals[2], totals[3])}"
    )
    return lines
