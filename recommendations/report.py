"""The managers' page: what each stage's recommendations rest on, and what people made of
them (accepted and dismissed on the deals the reader may see), so recommendations can be judged."""

from collections import defaultdict

from django.db.models import Count

from opportunities.models import Opportunity
from stages.models import Stage

from . import mining
from .models import Feedback, FeedbackVerdict, StepStat
from .services import describe_steps, evidence_text

REASONS_SHOWN = 3  # the latest dismissal reasons per step


def may_judge(user) -> bool:
    return user.is_authenticated and (user.is_admin or user.is_manager)


def stage_report(user) -> dict:
    """{"processes": [{"process", "stages": [{"stage", "won_total", "lost_total", "thin",
    "steps": [...]}]}], "refreshed_at"}: five queries however many stages and steps."""
    stats = list(StepStat.objects.filter(segment="").order_by())
    visible = Opportunity.objects.for_user(user).values("pk")
    feedback = Feedback.objects.filter(opportunity__in=visible)
    verdicts = defaultdict(lambda: {FeedbackVerdict.ACCEPTED: 0, FeedbackVerdict.DISMISSED: 0})
    for row in feedback.order_by().values("stage_id", "step_key", "verdict").annotate(n=Count("pk")):
        verdicts[row["stage_id"], row["step_key"]][row["verdict"]] = row["n"]
    reasons = defaultdict(list)
    for row in feedback.filter(verdict=FeedbackVerdict.DISMISSED).values("stage_id", "step_key", "reason")[:500]:
        if len(reasons[row["stage_id"], row["step_key"]]) < REASONS_SHOWN:
            reasons[row["stage_id"], row["step_key"]].append(row["reason"])
    by_stage = defaultdict(list)
    for stat in stats:
        by_stage[stat.stage_id].append(stat)
    described = describe_steps(stats)
    stages = Stage.objects.filter(pk__in=by_stage.keys() | {key[0] for key in verdicts}).select_related("process")
    processes: dict = {}
    for stage in sorted(stages, key=lambda s: (s.process.name, s.order, s.pk)):
        rows = by_stage.get(stage.pk, [])
        totals = mining.Counts(won_total=rows[0].won_total if rows else 0, lost_total=rows[0].lost_total if rows else 0)
        steps = []
        for stat in rows:
            counts = mining.Counts(stat.won_with, stat.won_total, stat.lost_with, stat.lost_total)
            score = mining.separation(counts)
            judged = verdicts.get((stage.pk, stat.step_key))
            if (score <= 0 and not judged) or stat.step_key not in described:
                continue
            label, action, _ = described[stat.step_key]
            judged = judged or verdicts[stage.pk, stat.step_key]
            steps.append(
                {
                    "action": action,
                    "evidence": evidence_text(label, stage.name, counts),
                    "recommended": score > 0 and not mining.is_thin(counts),
                    "confidence": mining.confidence(counts),
                    "score": score,
                    "accepted": judged[FeedbackVerdict.ACCEPTED],
                    "dismissed": judged[FeedbackVerdict.DISMISSED],
                    "reasons": reasons.get((stage.pk, stat.step_key), []),
                }
            )
        steps.sort(key=lambda s: -s["score"])
        entry = processes.setdefault(stage.process_id, {"process": stage.process, "stages": []})
        entry["stages"].append(
            {
                "stage": stage,
                "won_total": totals.won_total,
                "lost_total": totals.lost_total,
                "thin": mining.is_thin(totals),
                "steps": steps,
            }
        )
    return {
        "processes": list(processes.values()),
        "refreshed_at": max((s.refreshed_at for s in stats), default=None),
        "min_deals": mining.MIN_DEALS,
    }
