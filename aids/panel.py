"""The deal page's "For this step" panel: the aids and coaching that help on a deal right now.

What shows: the published aids tagged to the deal's stage or to a milestone of that stage not
yet ticked, the battle card of every competitor in play, the aids that fit each buying-team
member's roles, and the playbook of each unticked milestone its owner has completed fewer than
`RARELY` times before. Aids tagged with industries or deal size bands show only on deals that
match one of them; aids tagged with processes only on those processes' deals.

Five queries however many aids match: the buying team, the aids (with flags for what they match
and whether they were shared on this deal), their role tags, their competitors in play, and the
playbooks with the owner's completion counts.
"""

from django.db.models import Case, Exists, OuterRef, Prefetch, Q, Value, When

from opportunities.hooks import page_loaded
from opportunities.models import (
    BuyingRole,
    BuyingTeamMember,
    Competitor,
    DealCompetitor,
    DealCompetitorStatus,
    MilestoneCompletion,
)

from .models import Aid, AidKind, AidTag, Playbook, Share, TagKind, size_band_for

RARELY = 3  # a milestone its owner has completed fewer times than this gets its playbook
SHOWN = 8  # aids per group


def _step_milestones(deal) -> list:
    """The current stage's milestones not ticked yet (from the deal page's checklist, no query)."""
    checklist = getattr(deal.stage, "checklist", None)
    if checklist is None:
        ticked = set(MilestoneCompletion.objects.filter(opportunity=deal).values_list("milestone_id", flat=True))
        checklist = [(m, m.pk in ticked) for m in deal.stage.milestones.live().order_by("order", "id")]
    return [m for m, done in checklist if not done]


def competitors_in_play(deal) -> list[int]:
    """The ids of the deal's competitors not eliminated (from the deal page's rows when it has them)."""
    rows = page_loaded(deal, "competitors", lambda: list(DealCompetitor.objects.filter(opportunity=deal)))
    return [row.competitor_id for row in rows if row.status != DealCompetitorStatus.ELIMINATED]


def fitting_aids(deal, *, milestone_ids, roles):
    """The published aids that help on `deal` now, with `on_stage`, `on_milestone`,
    `on_competitor` and `shared_here` annotated, `role_tags` and `in_play` prefetched."""
    through = Aid.stages.through
    on_stage = Exists(through.objects.filter(aid=OuterRef("pk"), stage_id=deal.stage_id))
    on_milestone = Exists(
        Aid.milestones.through.objects.filter(aid=OuterRef("pk"), milestone_id__in=list(milestone_ids))
    )
    in_play = competitors_in_play(deal)
    on_competitor = Exists(Aid.competitors.through.objects.filter(aid=OuterRef("pk"), competitor_id__in=in_play))
    on_role = Exists(AidTag.objects.filter(aid=OuterRef("pk"), kind=TagKind.BUYER_ROLE, value__in=list(roles)))

    def narrowed_by(kind: str, value: str) -> Q:
        tagged = AidTag.objects.filter(aid=OuterRef("pk"), kind=kind)
        return ~Exists(tagged) | Exists(tagged.filter(value__iexact=value))

    in_process = ~Exists(Aid.processes.through.objects.filter(aid=OuterRef("pk"))) | Exists(
        Aid.processes.through.objects.filter(aid=OuterRef("pk"), salesprocess_id=deal.process_id)
    )
    return (
        Aid.objects.published()
        .annotate(
            on_stage=on_stage,
            on_milestone=on_milestone,
            on_competitor=on_competitor,
            on_role=on_role,
            shared_here=Exists(Share.objects.filter(opportunity=deal, aid=OuterRef("pk"))),
        )
        .filter(
            Q(on_stage=True) | Q(on_milestone=True) | Q(on_competitor=True, kind=AidKind.BATTLE_CARD) | Q(on_role=True)
        )
        .filter(in_process)
        .filter(narrowed_by(TagKind.INDUSTRY, deal.account.industry or ""))
        .filter(narrowed_by(TagKind.SIZE_BAND, size_band_for(deal.amount)))
        .select_related("current_version")
        .prefetch_related(
            Prefetch("tags", queryset=AidTag.objects.filter(kind=TagKind.BUYER_ROLE), to_attr="role_tags"),
            Prefetch("competitors", queryset=Competitor.objects.filter(pk__in=in_play), to_attr="in_play"),
        )
        .order_by("kind", "title", "id")
    )


def rare_playbooks(deal, milestones) -> list[Playbook]:
    """The playbooks of `milestones` (the stage's unticked ones) that the deal's owner has
    completed fewer than RARELY times, with `times` annotated. One query, also when every
    milestone is ticked."""
    completions = MilestoneCompletion.objects.filter(
        milestone=OuterRef("milestone"), completed_by_id=deal.owner_id
    ).order_by()

    def done(n: int) -> Exists:
        # "Completed at least n times" reads at most n of the owner's completions: counting them
        # all took tens of milliseconds for an owner with thousands of deals.
        return Exists(completions[n - 1 : n])

    times = sum((Case(When(done(n), then=Value(1)), default=Value(0)) for n in range(1, RARELY + 1)), Value(0))
    names = {m.pk: m for m in milestones}
    playbooks = (
        Playbook.objects.filter(milestone__stage_id=deal.stage_id).annotate(times=times).filter(times__lt=RARELY)
    )
    order = {m.pk: i for i, m in enumerate(milestones)}
    found = sorted((p for p in playbooks if p.milestone_id in names), key=lambda p: order[p.milestone_id])
    for playbook in found:
        playbook.milestone = names[playbook.milestone_id]
    return found


def deal_aids_panel(deal, user) -> dict | None:
    """The panel's context (`opportunities.hooks.DealPanel`): open deals only."""
    if not deal.is_open:
        return None
    milestones = _step_milestones(deal)
    team = page_loaded(
        deal, "buying_team", lambda: list(BuyingTeamMember.objects.filter(opportunity=deal).select_related("contact"))
    )
    roles = {r for member in team for r in member.roles}
    aids = list(fitting_aids(deal, milestone_ids=[m.pk for m in milestones], roles=roles))
    for aid in aids:
        aid.role_values = {t.value for t in aid.role_tags}
    step = [a for a in aids if a.on_stage or a.on_milestone][:SHOWN]
    battle_cards = [a for a in aids if a.kind == AidKind.BATTLE_CARD and a.in_play]
    labels = dict(BuyingRole.choices)
    members = []
    for member in team:
        fits = [a for a in aids if a.role_values & set(member.roles)][:SHOWN]
        members.append({"member": member, "roles": [labels.get(r, r) for r in member.roles], "aids": fits})
    return {
        "step": step,
        "battle_cards": battle_cards,
        "members": members,
        "playbooks": rare_playbooks(deal, milestones),
        "milestones": milestones,
        "can_share": deal.can_edit(user),
        "rarely": RARELY,
    }
