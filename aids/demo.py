"""The demo company's sales-aid library: a few dozen aids of every kind tagged to its stages,
milestones, competitors and buyer roles, playbooks for several milestones, a suggestion
waiting for a curator, a retired aid, and shares on some open deals so that the measured-use
page has something to show. Written through the services like real use; deterministic for a
seed. The aids are links and Markdown text: the demo writes no files to storage.
"""

import datetime as dt
import random

from django.db.models import Q

from opportunities.models import BuyingRole, BuyingTeamMember, Competitor, Opportunity
from people.models import User
from stages.models import Milestone, SalesProcess

from . import services
from .models import Aid, AidKind, AidSource, ShareChannel, SizeBand

GENERIC = [
    (AidKind.CASE_STUDY, "How {industry} cut order errors by 40%", ["economic_buyer", "decision_maker"]),
    (AidKind.CASE_STUDY, "From spreadsheet to pipeline in 30 days", ["champion", "user"]),
    (AidKind.CASE_STUDY, "Scaling a sales team from 5 to 50", ["economic_buyer"]),
    (AidKind.ROI_CALCULATOR, "Payback period worksheet", ["economic_buyer", "decision_maker"]),
    (AidKind.ROI_CALCULATOR, "Cost of a missed forecast", ["economic_buyer"]),
    (AidKind.CHECKLIST, "Discovery call checklist", []),
    (AidKind.CHECKLIST, "Security review checklist", ["technical_evaluator"]),
    (AidKind.CHECKLIST, "Mutual close plan template", ["champion", "decision_maker"]),
    (AidKind.EDUCATIONAL, "Why pipeline discipline beats heroics", ["influencer", "user"]),
    (AidKind.EDUCATIONAL, "Integration architecture overview", ["technical_evaluator"]),
    (AidKind.EDUCATIONAL, "Buyer's guide to sales tools", ["influencer", "champion"]),
    (AidKind.EMAIL_TEMPLATE, "Follow-up after the first meeting", []),
    (AidKind.EMAIL_TEMPLATE, "Re-engaging a silent champion", ["champion"]),
    (AidKind.EMAIL_TEMPLATE, "Introducing the economic buyer to our CEO", ["economic_buyer"]),
    (AidKind.PRESENTATION, "Company overview deck", []),
    (AidKind.PRESENTATION, "Product demo storyline", ["user", "technical_evaluator"]),
    (AidKind.PRESENTATION, "Executive business review", ["economic_buyer", "decision_maker"]),
    (AidKind.ONE_PAGER, "Pricing and packaging at a glance", ["economic_buyer"]),
    (AidKind.ONE_PAGER, "Implementation timeline", ["user", "champion"]),
    (AidKind.ONE_PAGER, "Handling the blocker: common objections", ["blocker"]),
    (AidKind.ONE_PAGER, "Data protection and compliance summary", ["technical_evaluator", "blocker"]),
]
INDUSTRIES = ["Manufacturing", "Software", "Logistics", "Healthcare", "Financial services"]
PLAYBOOK = {
    "how_to_run": (
        "Open with the buyer's goal for **{milestone}**, agree the agenda in the first two minutes, "
        "and end with a dated next step that they say out loud."
    ),
    "questions": "- What happens if you do nothing this quarter?\n- Who else needs to agree?\n- How will you decide?",
    "avoid": "- Demoing before you understand the problem.\n- Leaving without a next step in their calendar.",
}
SHARES = 40


def _body(title: str, rnd) -> str:
    points = rnd.sample(
        [
            "Lead with the buyer's numbers, not ours.",
            "Name the risk of waiting.",
            "Quote a customer in the same industry.",
            "Keep it to one page when printed.",
            "Close with one clear next step.",
            "Show the before and after.",
        ],
        3,
    )
    return f"## {title}\n\n" + "\n".join(f"- {p}" for p in points) + "\n\n_Updated by the enablement team._"


def seed_aids_demo(*, seed: int = 1, now: dt.datetime) -> dict:
    rnd = random.Random(seed * 104729 + 14)
    admin = User.objects.filter(Q(role="admin") | Q(is_superuser=True)).order_by("pk").first()
    if admin is None or Aid.objects.exists():
        return {}
    rep = User.objects.filter(role="rep", is_active=True).order_by("pk").first()
    processes = list(SalesProcess.objects.order_by("pk").prefetch_related("stages__milestones"))
    competitors = list(Competitor.objects.filter(is_active=True).order_by("name"))
    made = []
    for i, (kind, title, roles) in enumerate(GENERIC):
        process = processes[i % len(processes)] if processes else None
        stages = list(process.stages.all()) if process else []
        stage = stages[i % len(stages)] if stages else None
        milestones = list(stage.milestones.all()) if stage else []
        industry = INDUSTRIES[i % len(INDUSTRIES)]
        tags = {
            "stages": [stage] if stage else [],
            "milestones": milestones[:1] if milestones and i % 3 == 0 else [],
            "buyer_roles": roles,
            "industries": [industry] if "{industry}" in title else [],
            "size_bands": [SizeBand.LARGE, SizeBand.ENTERPRISE] if kind == AidKind.PRESENTATION and i % 2 else [],
        }
        source = AidSource.LINK if i % 4 == 0 else AidSource.TEXT
        aid = services.aid_create(
            actor=admin,
            title=title.format(industry=industry),
            kind=kind,
            summary=f"{kind.label} for {', '.join(dict(BuyingRole.choices)[r] for r in roles) or 'every buyer'}.",
            source=source,
            url=f"https://enablement.example/{i}",
            body=_body(title.format(industry=industry), rnd),
            publish=True,
            now=now - dt.timedelta(days=90 - i),
            **tags,
        )
        if i % 5 == 0:
            services.aid_add_version(
                aid,
                actor=admin,
                source=AidSource.TEXT,
                body=_body(aid.title, rnd) + "\n\nNew figures for this year.",
                note="Refreshed the figures",
                now=now - dt.timedelta(days=30 - i),
            )
        made.append(aid)
    for competitor in competitors:
        made.append(
            services.aid_create(
                actor=admin,
                title=f"Battle card: {competitor.name}",
                kind=AidKind.BATTLE_CARD,
                summary=f"Where we win and lose against {competitor.name}, and the traps they set.",
                source=AidSource.TEXT,
                body=(
                    f"## Against {competitor.name}\n\n**We win on** forecast discipline and time to value.\n\n"
                    "**They will say** we are new. **Answer** with two reference customers.\n\n"
                    "| Topic | Us | Them |\n|---|---|---|\n| Setup | Days | Months |\n| Price | Per seat | Per module |"
                ),
                publish=True,
                now=now - dt.timedelta(days=60),
                competitors=[competitor],
                buyer_roles=[BuyingRole.ECONOMIC_BUYER, BuyingRole.TECHNICAL_EVALUATOR],
            )
        )
    if rep is not None:
        services.aid_create(
            actor=rep,
            title="My discovery questions that work",
            kind=AidKind.CHECKLIST,
            summary="Suggested by a rep: the questions that got buyers talking.",
            source=AidSource.TEXT,
            body="- What made you look at this now?\n- What did you try before?",
            now=now - dt.timedelta(days=3),
        )
    retired = services.aid_create(
        actor=admin,
        title="2023 pricing sheet",
        kind=AidKind.ONE_PAGER,
        source=AidSource.TEXT,
        body="Old prices.",
        publish=True,
        now=now - dt.timedelta(days=400),
    )
    services.aid_retire(retired, actor=admin, now=now - dt.timedelta(days=100))
    playbooks = 0
    for milestone in Milestone.objects.filter(stage__process__in=processes).order_by(
        "stage__process", "stage__order", "order"
    )[:12]:
        services.playbook_save(
            actor=admin,
            milestone=milestone,
            **{k: v.format(milestone=milestone.name) for k, v in PLAYBOOK.items()},
            now=now - dt.timedelta(days=50),
        )
        playbooks += 1
    shares = 0
    members = list(
        BuyingTeamMember.objects.filter(opportunity__in=Opportunity.objects.open().order_by("pk")[:200])
        .select_related("opportunity", "contact")
        .order_by("pk")[: SHARES * 3]
    )
    rnd.shuffle(members)
    for member in members[:SHARES]:
        deal = member.opportunity
        if not deal.owner.is_active:
            continue
        aid = rnd.choice(made)
        services.aid_share(
            aid,
            actor=deal.owner,
            opportunity=deal,
            contacts=[member.contact],
            channel=ShareChannel.RECORDED,
            # At the seed's end: a deal's events must stay in time order with its versions.
            now=now,
        )
        shares += 1
    return {"aids": len(made) + 2, "playbooks": playbooks, "shares": shares}
